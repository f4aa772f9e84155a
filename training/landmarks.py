"""Train the landmark regressor with Wing loss on MTFL's training list + CelebA train pseudo-landmarks.

    python -m training.landmarks --data-root ../shared/data --out runs/landmarks --epochs 12
    python -m training.landmarks --config training/configs/landmarks.json     # a committed run, as a file

Each face is cut as the pipeline cuts it: a square `box_margin` times the longer side of a face box.
CelebA faces use their MTCNN boxes from faces_all.csv (what the detector learns to output); MTFL has no
boxes, so its faces are cut around our detector's box (`--mtfl-boxes detector`, the default: the crops the
pipeline will see), or, where it finds nothing, around a box fitted to the five points on CelebA's train
faces; box jitter in the augmentation covers the remaining spread. MTFL faces whose labels lie away from the
face the detector finds are left out (see `mtfl_boxes`; `--mismatched-labels fitted-box` cuts them around
the fitted box instead, as the committed weights were trained). 5% of MTFL's list is held out as
validation; MTFL's test list is only read by the evaluation command.

Resumable from `OUT/last.pt`. It writes only into OUT: `landmarks.safetensors` with `landmarks.json` after every
epoch, `log.jsonl` and the options it ran with (`config.json`); `python -m training.publish OUT` makes them the
pipeline's weights. The detector that cuts MTFL's faces is read from `--detector-dir` (the committed one, or
a detector run's folder).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.boxes import same_faces
from pipeline.config import DetectorConfig, LandmarkConfig, load_config
from pipeline.detector import FaceDetector
from pipeline.image import read_rgb
from pipeline.landmarks import (
    boxes_from_points,
    crop_square,
    fit_box_from_points,
    flip_points,
    square_around_box,
)
from pipeline.settings import DEFAULT_WEIGHTS_DIR
from readers import DataPaths, read_mtfl_list
from readers.celeba import LANDMARK_COLUMNS
from readers.mtfl import mtfl_points, mtfl_validation_rows
from training.augment import landmark_transform
from training.common import (
    EpochLoop,
    add_init_argument,
    add_runtime_arguments,
    cosine_lr,
    initialise_from,
    make_loader,
    save_part,
    set_lr,
    start_run,
)
from training.losses import WingLoss
from training.networks import LandmarkNet, detector_runner, load_model, normalise

CONTEXT = 1.4  # stored crops hold 1.4x the nominal crop so rotations and shifts have real pixels


def stored_crop(image: np.ndarray, box: np.ndarray, points: np.ndarray, config: LandmarkConfig):
    """Cut the context crop around a box; return (crop, points in crop pixels)."""
    size = round(config.input_size * CONTEXT)
    x0, y0, side = square_around_box(box, config.box_margin * CONTEXT)
    crop = crop_square(image, (x0, y0, side), size)
    return crop, (points - [x0, y0]) * (size / side)


def load_detector(weights_dir: Path, device: str) -> FaceDetector:
    """The detector of `weights_dir` in PyTorch on `device`, to cut MTFL's faces as inference will."""
    config = load_config(DetectorConfig, weights_dir / "detector.json")
    return FaceDetector(detector_runner(load_model("detector", weights_dir, config).to(device)), config)


def mtfl_boxes(images: list[np.ndarray], from_points: np.ndarray, detector: FaceDetector | None,
               leave_out: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(boxes, keep): the detector's box for each MTFL face (the crop the pipeline will cut), or the box fitted
    to the points where it finds nothing or no detector is given. Where the detector's box is not where the
    labels put the face (IoU < 0.5 with the fitted box), `keep` is False (`leave_out`), or the face is kept and
    cut around its fitted box (how the committed weights were trained, before faces were left out).

    About 40% of net_7876's labels sit far above the face they belong to (eyes near the image's top edge):
    such a face would teach the model to put points on the forehead, so it is left out.
    """
    if detector is None:
        return from_points, np.ones(len(images), bool)
    found = [detector.detect_in_close_crop(image) for image in images]
    boxes = np.stack([box if box is not None else fitted for box, fitted in zip(found, from_points, strict=True)])
    agree = same_faces(boxes, from_points)  # True where the detector found nothing: the box is the fitted one
    away = "left out" if leave_out else "cut at the box fitted to their labels"
    print(f"MTFL: detector box for {sum(box is not None for box in found)} of {len(found)} faces; "
          f"{int((~agree).sum())} with labels away from the face, {away}")
    if leave_out:
        return boxes, agree
    return np.where(agree[:, None], boxes, from_points), np.ones(len(images), bool)


def load_samples(data: DataPaths, config: LandmarkConfig, seed: int, detector: FaceDetector | None = None,
                 leave_out: bool = True):
    """Training and validation (crop, points) lists and the fitted box-from-points coefficients."""
    celeba = data.celeba
    train_ids = set(celeba.image_ids("train"))
    faces = celeba.faces_all[celeba.faces_all.image_id.isin(train_ids)]
    celeba_points = faces[LANDMARK_COLUMNS].to_numpy(np.float32).reshape(-1, 5, 2)
    celeba_boxes = faces[["x1", "y1", "x2", "y2"]].to_numpy(np.float32)
    coefficients = fit_box_from_points(celeba_points, celeba_boxes)

    samples = []
    images: dict[str, np.ndarray] = {}
    for image_id, box, points in zip(faces.image_id, celeba_boxes, celeba_points, strict=True):
        if image_id not in images:
            images = {image_id: read_rgb(celeba.wild_dir / image_id)}
        samples.append(stored_crop(images[image_id], box, points, config))

    table = read_mtfl_list(data.mtfl / "list_landmarks_train.txt")
    mtfl = mtfl_points(table)
    mtfl_images = [read_rgb(data.mtfl / path) for path in table.path]
    boxes, keep = mtfl_boxes(mtfl_images, boxes_from_points(mtfl, coefficients), detector, leave_out)
    held_out = set(mtfl_validation_rows(len(table), seed).tolist())
    validation = []
    for index, (image, box, points) in enumerate(zip(mtfl_images, boxes, mtfl, strict=True)):
        if keep[index]:
            (validation if index in held_out else samples).append(stored_crop(image, box, points, config))
    return samples, validation, coefficients


def start_from_mean_shape(model: torch.nn.Module, samples, config: LandmarkConfig) -> None:
    """Set the head's bias to the mean training shape so regression starts from a face, not from zeros."""
    offset = (round(config.input_size * CONTEXT) - config.input_size) / 2
    mean = np.mean([points for _, points in samples], axis=0).reshape(-1)
    head = model.head
    with torch.no_grad():
        head.bias.copy_(torch.from_numpy((mean - offset) / config.input_size))
        head.weight.mul_(0.1)


class LandmarkCrops(Dataset):
    """Stored (crop, points) pairs as model-sized crops and 0..1 targets.

    Training items get a random flip (with the left/right swap) and the augmentation; others the centre cut.
    """

    def __init__(self, samples, config: LandmarkConfig, train: bool) -> None:
        self.samples, self.size, self.train = samples, config.input_size, train
        self.transform = landmark_transform(config.input_size, CONTEXT) if train else None

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        crop, points = self.samples[index]
        if self.transform is not None:
            if random.random() < 0.5:
                crop, points = crop[:, ::-1].copy(), flip_points(points, crop.shape[1])
            out = self.transform(image=crop, keypoints=points)
            crop, points = out["image"], np.asarray(out["keypoints"], np.float32)[:, :2]
        else:
            offset = (crop.shape[0] - self.size) // 2
            crop, points = crop[offset:offset + self.size, offset:offset + self.size], points - offset
        return np.ascontiguousarray(crop), (points / self.size).reshape(10).astype(np.float32)


def normalised_mean_error(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean point error divided by the inter-ocular (eye-centre) distance, averaged over faces."""
    prediction, target = prediction.view(-1, 5, 2), target.view(-1, 5, 2)
    errors = (prediction - target).norm(dim=2).mean(dim=1)
    return float((errors / (target[:, 0] - target[:, 1]).norm(dim=1)).mean())


def validation_nme(model: torch.nn.Module, loader, config: LandmarkConfig, device: str) -> float:
    model.eval()
    predictions, targets = [], []
    with torch.inference_mode():
        for images, target in loader:
            predictions.append(model(normalise(images, config.mean, config.std, device)).cpu())
            targets.append(target)
    return normalised_mean_error(torch.cat(predictions), torch.cat(targets))


def options_parser() -> argparse.ArgumentParser:
    """The script's options; a run's config file (`--config`) holds values for them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/landmarks"))
    parser.add_argument("--backbone", default=LandmarkConfig.backbone)
    parser.add_argument("--input-size", type=int, default=LandmarkConfig.input_size)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    add_init_argument(parser, "landmarks.safetensors")
    add_runtime_arguments(parser)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training faces (smoke runs)")
    parser.add_argument("--mtfl-boxes", choices=("detector", "points"), default="detector",
                        help="cut MTFL faces around our detector's boxes (as at inference) or boxes fit to the points")
    parser.add_argument("--detector-dir", type=Path, default=DEFAULT_WEIGHTS_DIR,
                        help="folder with detector.safetensors/.json for --mtfl-boxes detector")
    parser.add_argument("--mismatched-labels", choices=("leave-out", "fitted-box"), default="leave-out",
                        help="MTFL faces whose labels lie away from the detector's box: left out, or cut around the "
                             "box fitted to their labels (how the committed weights were trained)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args, budget = start_run(options_parser(), argv)
    config = LandmarkConfig(backbone=args.backbone, input_size=args.input_size)
    detector = load_detector(args.detector_dir, args.device) if args.mtfl_boxes == "detector" else None
    samples, validation, coefficients = load_samples(DataPaths.from_root(args.data_root), config, args.seed, detector,
                                                     leave_out=args.mismatched_labels == "leave-out")
    config.box_from_points = coefficients.tolist()
    if args.limit:
        samples = samples[: args.limit]
    model = LandmarkNet(config)
    start_from_mean_shape(model, samples, config)
    initialise_from(model, args.init)
    model.to(args.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    loss_fn = WingLoss(config.wing_omega, config.wing_epsilon)
    loop = EpochLoop(args.out, {"model": model, "optimizer": optimizer}, args.epochs, budget)
    loader = make_loader(LandmarkCrops(samples, config, True), args.batch, args.workers, shuffle=True)
    val_loader = make_loader(LandmarkCrops(validation, config, False), 256, 0, shuffle=False)
    steps = len(loader)

    def train_epoch(epoch: int, epochs: int) -> dict[str, float]:
        model.train()
        total_loss, total_l1 = 0.0, 0.0
        for step, (images, targets) in enumerate(loader):
            set_lr(optimizer, cosine_lr(epoch * steps + step, steps * epochs, args.lr, steps))
            targets = targets.to(args.device, non_blocking=True)
            prediction = model(normalise(images, config.mean, config.std, args.device))
            loss = loss_fn(prediction, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += float(loss)
            total_l1 += float((prediction - targets).abs().mean())
        return {"wing_loss": total_loss / steps, "l1": total_l1 / steps}

    def end_epoch(finished: int, epochs: int) -> dict[str, float]:
        val_nme = validation_nme(model, val_loader, config, args.device)
        save_part("landmarks", model, config, args.out,
                  {"epochs": finished, "init": str(args.init) if args.init else None,
                   "batch": args.batch, "lr": args.lr, "train_faces": len(samples),
                   "val_faces": len(validation), "val_nme_mtfl_heldout": val_nme,
                   "mtfl_boxes": args.mtfl_boxes, "mismatched_labels": args.mismatched_labels})
        return {"val_nme": val_nme}

    loop.run(train_epoch, end_epoch)


if __name__ == "__main__":
    main()
