"""The evaluation command: detector, landmarks and embedder on held-out data, written as JSON + ROC PNG.

    python -m training.evaluate --data-root ../shared/data --out reports/

- Detector: recall and precision at IoU 0.5 on the CelebA test photos against every face of
  faces_all.csv, at the configured confidence threshold, plus the precision-recall curve.
- Landmarks: NME (mean point error / distance between the eye centres) on MTFL's test list (AFLW), with
  the crop taken from OUR detector's box (the whole image when it finds nothing; counted). Also the NME over
  the faces whose labels agree with that box (`nme_labels_agree`): with `--validation` it leaves out the
  mislabelled MTFL training faces, and it is the figure the landmark choices were made on.
- Embedder: verification on the CelebA test identities through the full pipeline on raw photos (the
  celebrity's face = best IoU with list_bbox, else the largest): all same-identity pairs against all
  different-identity pairs, ROC AUC and TPR at FPR 1e-2 and 1e-3. Photos where no face is found are counted.
  With `--validation`, the same on the people embedder training holds out (training/faces.py): its in-the-wild
  CelebA train identities, and (`named`) its named faces_extra people through our landmarks and alignment:
  what runs are compared on (the mean of the two TPRs at FPR 1e-2), and where the verification threshold (FPR
  1e-2, both sets' impostor pairs pooled) is read.
- Dataset: how many faces the detector finds in every in-the-wild CelebA photo (all partitions), beside the
  count in faces_all.csv: photos without a face, with one, with several.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from pipeline.boxes import clip_boxes, same_faces
from pipeline.face_pipeline import FacePipeline
from pipeline.image import read_rgb
from pipeline.landmarks import boxes_from_points
from readers import DataPaths, read_mtfl_list
from readers.celeba import celebrity_face
from readers.mtfl import mtfl_points, mtfl_validation_rows
from training.faces import all_training_faces, pipeline_crop, validation_image_ids, validation_sets
from training.metrics import DetectionTally, pair_scores, roc


def evaluate_detector(pipe: FacePipeline, data: DataPaths, limit: int = 0, validation: bool = False) -> dict:
    celeba = data.celeba
    partition = "train" if validation else "test"
    truth_by_image = {k: g[["x1", "y1", "x2", "y2"]].to_numpy(np.float32)
                      for k, g in celeba.faces_all.groupby("image_id")}
    detector = pipe.detector
    working = detector.config.conf_threshold
    detector.config.conf_threshold = 0.05  # collect low-confidence boxes for the curve
    tally = DetectionTally()
    try:
        for image_id in tqdm(celeba.image_ids(partition)[: limit or None], desc="detector", mininterval=10):
            image = read_rgb(celeba.wild_dir / image_id)
            truth = clip_boxes(truth_by_image.get(image_id, np.zeros((0, 4), np.float32)), image.shape)
            tally.add(*detector.detect(image), truth)
    finally:
        detector.config.conf_threshold = working
    return tally.summary(working)


@dataclass
class LandmarkPredictions:
    """Predicted and true landmarks of MTFL test faces, in pixels of MTFL's 80x80 images."""

    paths: list[str]  # relative to the MTFL folder
    truth: np.ndarray  # (N, 5, 2)
    predicted: np.ndarray  # (N, 5, 2)
    fallback: np.ndarray  # (N,) bool: the detector found nothing, the crop was the whole image
    # (N,) bool: the detector's box and the box fitted to the labelled points frame the same face (IoU >= 0.5).
    # False on MTFL training faces whose labels sit away from the face (see training/landmarks.py).
    labels_agree: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        """NME per face: mean point error over the distance between the eye centres."""
        inter_ocular = np.linalg.norm(self.truth[:, 0] - self.truth[:, 1], axis=1)
        return np.linalg.norm(self.predicted - self.truth, axis=2).mean(axis=1) / inter_ocular

    def summary(self) -> dict:
        """The landmark figures of `python -m training.evaluate`."""
        errors = self.errors
        return {"faces": int(len(errors)), "nme": float(errors.mean()), "nme_median": float(np.median(errors)),
                "failure_rate_nme_above_0.1": float((errors > 0.1).mean()),
                "detector_fallbacks": int(self.fallback.sum()),
                "faces_labels_agree": int(self.labels_agree.sum()),
                "nme_labels_agree": float(errors[self.labels_agree].mean()) if self.labels_agree.any() else 0.0}


def mtfl_table(data: DataPaths, validation: bool) -> pd.DataFrame:
    """MTFL's test list, or (validation) the rows of its training list that landmark training holds out."""
    if not validation:
        return read_mtfl_list(data.mtfl / "list_landmarks_test.txt")
    table = read_mtfl_list(data.mtfl / "list_landmarks_train.txt")
    return table.iloc[np.sort(mtfl_validation_rows(len(table)))].reset_index(drop=True)


def predict_mtfl_landmarks(pipe: FacePipeline, data: DataPaths, limit: int = 0,
                           validation: bool = False) -> LandmarkPredictions:
    """Landmarks of MTFL's test faces (the first `limit` when given), each cut around OUR detector's box."""
    table = mtfl_table(data, validation)
    if limit:
        table = table.iloc[:limit]
    predicted, fallback, boxes = [], [], []
    for path in tqdm(table.path, total=len(table), desc="landmarks", mininterval=10):
        image = read_rgb(data.mtfl / path)
        box = pipe.detector.detect_in_close_crop(image)
        fallback.append(box is None)
        if box is None:
            box = np.array([0, 0, image.shape[1], image.shape[0]], np.float32)
        boxes.append(box)
        predicted.append(pipe.landmarks.predict(image, box[None])[0])
    truth, fallback = mtfl_points(table), np.array(fallback)
    coefficients = pipe.landmarks.config.box_from_points
    labels_agree = ~fallback
    if coefficients is not None:
        labels_agree &= same_faces(np.stack(boxes), boxes_from_points(truth, np.asarray(coefficients, np.float32)))
    return LandmarkPredictions(paths=list(table.path), truth=truth, predicted=np.stack(predicted),
                               fallback=fallback, labels_agree=labels_agree)


def evaluate_landmarks(pipe: FacePipeline, data: DataPaths, limit: int = 0, validation: bool = False) -> dict:
    return predict_mtfl_landmarks(pipe, data, limit, validation).summary()


def celebrity_crops(pipe: FacePipeline, data: DataPaths,
                    image_ids: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """The celebrity's aligned crop in each in-the-wild photo through the full pipeline, with its identity.

    Returns (crops (M, 112, 112, 3), identities (M,), photos without a face); M is the number of photos with
    one. Any embedder (ours or a teacher) can then be measured on the same crops.
    """
    celeba = data.celeba
    crops, identities, missing = [], [], 0
    for image_id in tqdm(image_ids, desc="verification", mininterval=10):
        faces = pipe(read_rgb(celeba.wild_dir / image_id))
        if not faces:
            missing += 1
            continue
        chosen = celebrity_face(np.stack([face.box for face in faces]), celeba.annotated_box(image_id))
        crops.append(faces[chosen or 0].crop)  # a missed celebrity: the largest face, as the bot would answer
        identities.append(int(celeba.identities[image_id]))
    return np.stack(crops), np.array(identities), missing


def verification(genuine: np.ndarray, impostor: np.ndarray, identities: np.ndarray, missing: int) -> dict:
    """ROC figures of the genuine and impostor pair scores (training.metrics.pair_scores) of these identities'
    embeddings, with how many photos and identities they cover."""
    result = roc(genuine, impostor)
    result.update({"photos": len(identities) + missing, "photos_without_face": missing,
                   "identities": int(len(set(identities.tolist())))})
    return result


def named_validation_crops(pipe: FacePipeline, data: DataPaths, limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The named validation people's faces_extra photos as our pipeline cuts them (training.faces.pipeline_crop:
    our landmarks and alignment on the crop), with their identities."""
    faces = all_training_faces(data)
    rows = faces.iloc[validation_sets(faces)["named"][: limit or None]]
    crops = [pipeline_crop(pipe, data.celeba, row) for row in tqdm(list(rows.itertuples()), desc="named",
                                                                   mininterval=10)]
    return np.stack(crops), rows.identity.to_numpy().astype(str)


def evaluate_embedder(pipe: FacePipeline, data: DataPaths, limit: int = 0, validation: bool = False) -> dict:
    """Verification on the test identities; or (`validation`) on the people embedder training holds out: the
    in-the-wild CelebA identities through the full pipeline (the top-level figures), and the named faces_extra
    people (`named`), with the mean of both TPRs at FPR 1e-2 (what runs are chosen on) and the threshold at FPR
    1e-2 over both sets' impostor pairs pooled (the verification threshold)."""
    image_ids = validation_image_ids(data) if validation else data.celeba.image_ids("test")
    crops, identities, missing = celebrity_crops(pipe, data, image_ids[: limit or None])
    genuine, impostor = pair_scores(pipe.embed_crops(crops), identities)
    result = verification(genuine, impostor, identities, missing)
    result["configured_threshold"] = pipe.verification_threshold
    if validation:
        named_crops, named_identities = named_validation_crops(pipe, data, limit)
        named_genuine, named_impostor = pair_scores(pipe.embed_crops(named_crops), named_identities)
        result["named"] = verification(named_genuine, named_impostor, named_identities, 0)
        result["mean_tpr_at_fpr_0.01"] = (result["tpr_at_fpr_0.01"] + result["named"]["tpr_at_fpr_0.01"]) / 2
        pooled = roc(np.concatenate([genuine, named_genuine]), np.concatenate([impostor, named_impostor]))
        result["pooled_threshold_at_fpr_0.01"] = pooled["threshold_at_fpr_0.01"]
    return result


def count_faces(pipe: FacePipeline, data: DataPaths, image_ids: list[str]) -> pd.DataFrame:
    """Faces the detector finds in each of these in-the-wild CelebA photos, beside the number faces_all.csv
    lists. Columns: image_id, partition, detected, labelled."""
    celeba = data.celeba
    labelled = celeba.faces_all.groupby("image_id").size()
    detected = [len(pipe.detector.detect(read_rgb(celeba.wild_dir / image_id))[0])
                for image_id in tqdm(image_ids, desc="faces per photo", mininterval=10)]
    return pd.DataFrame({
        "image_id": image_ids,
        "partition": celeba.partitions.reindex(image_ids).fillna(-1).astype(int).to_numpy(),
        "detected": detected,
        "labelled": labelled.reindex(image_ids).fillna(0).astype(int).to_numpy(),
    })


def face_count_summary(counts: pd.DataFrame) -> dict:
    """Photos without a face, with one and with several, by the detector and by faces_all.csv."""
    summary: dict = {"photos": int(len(counts))}
    for column in ("detected", "labelled"):
        faces = counts[column]
        summary[column] = {"faces": int(faces.sum()), "photos_without_face": int((faces == 0).sum()),
                           "photos_with_one_face": int((faces == 1).sum()),
                           "photos_with_several_faces": int((faces > 1).sum())}
    summary["photos_where_counts_differ"] = int((counts.detected != counts.labelled).sum())
    return summary


def evaluate_dataset(pipe: FacePipeline, data: DataPaths, limit: int = 0) -> dict:
    image_ids = sorted(path.name for path in data.celeba.wild_dir.glob("*.jpg"))[: limit or None]
    return face_count_summary(count_faces(pipe, data, image_ids))


def plot(report: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    if "embedder" in report:
        curve = report["embedder"]["curve"]
        left.plot(curve["fpr"], curve["tpr"])
        left.set_xscale("log")
        left.set_xlim(1e-4, 1)
        left.set_xlabel("false positive rate")
        left.set_ylabel("true positive rate")
        left.set_title(f"Verification ROC, CelebA test (AUC {report['embedder']['auc']:.3f})")
        left.grid(True, which="both", alpha=0.3)
    if "detector" in report:
        curve = report["detector"]["curve"]
        right.plot(curve["recall"], curve["precision"])
        right.set_xlabel("recall")
        right.set_ylabel("precision")
        right.set_title("Detector, CelebA test, IoU 0.5")
        right.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(out / "evaluation.png", dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--weights", default=None, help="weights folder (default: the committed weights)")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--only", choices=["detector", "landmarks", "embedder", "dataset"], action="append")
    parser.add_argument("--limit", type=int, default=0, help="first N items of each set (quick checks)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--validation", action="store_true",
                        help="data for choices instead of the test sets: landmarks on the MTFL faces landmark training "
                             "holds out; the detector on the CelebA train photos (it trained on them: optimistic); the "
                             "embedder on the train identities its training holds out")
    parser.add_argument("--landmark-margin", type=float, default=None,
                        help="cut landmark crops at this margin instead of the configured one (to choose it)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = DataPaths.from_root(args.data_root)
    pipe = FacePipeline.load(args.weights)
    if args.landmark_margin is not None:
        pipe.landmarks.config.box_margin = args.landmark_margin
    steps = {"detector": partial(evaluate_detector, validation=args.validation),
             "landmarks": partial(evaluate_landmarks, validation=args.validation),
             "embedder": partial(evaluate_embedder, validation=args.validation)}
    if not args.validation:
        steps |= {"dataset": evaluate_dataset}
    report = {name: step(pipe, data, args.limit) for name, step in steps.items() if not args.only or name in args.only}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "evaluation.json").write_text(json.dumps(report, indent=2))
    plot(report, args.out)
    for name, figures in report.items():
        summary = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()
                   if k != "curve" and not isinstance(v, dict)}
        print(f"{name}: {json.dumps(summary)}")
        for part, part_figures in figures.items():
            if isinstance(part_figures, dict) and part != "curve":
                print(f"  {part}: {json.dumps({k: round(v, 4) for k, v in part_figures.items() if k != 'curve'})}")


if __name__ == "__main__":
    main()
