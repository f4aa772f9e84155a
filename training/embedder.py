"""Train the face embedder: distilled from pretrained teachers on every training face, plus ArcFace on the
labelled identities (CelebA train ids and the named people of faces_extra).

    python -m training.teachers       --out teachers/                               # once: fetch + convert
    python -m training.teacher_cache  --data-root ../shared/data --names sface mobilefacenet --out runs/cache
    python -m training.embedder       --config training/configs/embedder.json --out runs/embedder

The target of each face is the teachers' unit embeddings concatenated and re-normalised, cached for the crop
and its mirror image (training/teacher_cache.py). Each step picks one of the two views, augments it
(colour, blur, JPEG, occlusion, small affine jitter, black borders like faces_extra's: everything a teacher
should not care about) and pulls the student's unit embedding towards the view's target (1 - cosine), makes
the batch's pairwise cosines match the teachers' (relational distillation), and applies ArcFace to faces with
a label, its class centres started at the classes' mean targets. The student's embedding lives in the
teachers' space (same size), so no projection is needed.

Held out, never trained on: 10% of the in-the-wild CelebA train identities with 4+ photos (`wild`) and 10%
of the named faces_extra people with 3+ photos (`named`), which pick the run and the verification threshold;
and the faces_extra photos the index build keeps for its own checks (index/extra.py: the named gallery's
held-out photos and the look-alike scale's people).
An "epoch" here is `--epoch-steps` steps: weights, checkpoint and validation are written after each, into
`--out` only (with `log.jsonl` and the options the run ran with, `config.json`); `python -m training.publish
OUT` makes them the pipeline's weights.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from index.extra import ExtraConfig, extra_folder, split_extra
from pipeline.config import EmbedderConfig
from readers import DataPaths
from training.augment import embedder_transform
from training.common import (
    EpochLoop,
    add_runtime_arguments,
    cosine_lr,
    save_part,
    set_lr,
    start_run,
)
from training.faces import validation_sets
from training.losses import ArcFaceMargin, distillation_loss, relational_distillation_loss
from training.metrics import pair_scores, threshold_at_fpr
from training.networks import EmbeddingNet, normalise

VALIDATION_FPR = 1e-2


def index_evaluation_keys(data: DataPaths) -> set[str]:
    """faces_extra photos (as `path` keys) that the index build uses to check itself: never trained on."""
    folder = extra_folder(data.root)
    if folder is None:
        return set()
    split = split_extra(folder, ExtraConfig())
    return set(split.held_out.path) | set(split.unseen.path)


def teacher_targets(cache: Path, names: list[str]) -> np.ndarray:
    """(N, 2, D): the teachers' unit embeddings of each crop and its mirror, concatenated, unit length."""
    parts = [np.load(cache / f"{name}.npy", mmap_mode="r") for name in names]
    targets = np.concatenate(parts, axis=2).astype(np.float32)
    return targets / np.linalg.norm(targets, axis=2, keepdims=True)


class TeacherViews(Dataset):
    """Items (augmented view, its target, row): a random view (crop or mirror) of a face, freshly augmented."""

    def __init__(self, crops: np.ndarray, targets: np.ndarray, rows: np.ndarray) -> None:
        self.crops, self.targets, self.rows = crops, targets, rows
        self.transform = embedder_transform(flip=False)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item: int) -> tuple[np.ndarray, np.ndarray, int]:
        row = int(self.rows[item])
        view = random.randrange(2)
        crop = self.crops[row] if view == 0 else self.crops[row][:, ::-1]
        image = self.transform(image=np.ascontiguousarray(crop))["image"]
        return image, self.targets[row, view], row


def embed(model: EmbeddingNet, crops: np.ndarray, config: EmbedderConfig, device: str) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        out = [F.normalize(model(normalise(crops[i:i + 256], config.mean, config.std, device)), dim=1).cpu()
               for i in range(0, len(crops), 256)]
    return torch.cat(out).numpy()


def validate(model: EmbeddingNet, crops: np.ndarray, faces: pd.DataFrame, sets: dict[str, np.ndarray],
             config: EmbedderConfig, device: str) -> dict[str, float]:
    """TPR at FPR 1e-2 (and its threshold) on each held-out set."""
    figures = {}
    for name, rows in sets.items():
        genuine, impostor = pair_scores(embed(model, crops[rows], config, device), faces.identity.to_numpy()[rows])
        threshold, tpr = threshold_at_fpr(genuine, impostor, VALIDATION_FPR)
        figures |= {f"val_{name}_tpr": round(tpr, 4), f"val_{name}_threshold": round(threshold, 4)}
    return figures


def class_centres(targets: np.ndarray, labels: np.ndarray, classes: int) -> torch.Tensor:
    """(classes, D): each class's mean target (both views), unit length: where ArcFace's centres start."""
    sums = np.zeros((classes, targets.shape[2]), np.float32)
    labelled = labels >= 0
    np.add.at(sums, labels[labelled], targets[labelled].sum(axis=1))
    return F.normalize(torch.from_numpy(sums), dim=1)


def initialise_matching(model: torch.nn.Module, weights: Path | None) -> None:
    """Start from earlier weights where the shapes agree (a new embedding size re-initialises the last layer)."""
    if weights is None:
        return
    from safetensors.torch import load_file

    own = model.state_dict()
    state = {k: v.float() for k, v in load_file(str(weights)).items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(state, strict=False)
    print(f"initialised {len(state)} of {len(own)} tensors from {weights}")


def endless(loader: torch.utils.data.DataLoader):
    """The loader's batches without end: an "epoch" is a number of steps, and a new pass (a fresh shuffle)
    starts where one runs out."""
    while True:
        yield from loader


def options_parser() -> argparse.ArgumentParser:
    """The script's options; a run's config file (`--config`) holds values for them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None, help="to find faces_extra's evaluation-only photos")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="folder from teacher_cache")
    parser.add_argument("--teachers", nargs="+", default=["mobilefacenet"], help="cached teachers, concatenated")
    parser.add_argument("--out", type=Path, default=Path("runs/embedder"))
    parser.add_argument("--backbone", default=EmbedderConfig.backbone)
    parser.add_argument("--init", type=Path, default=None, help="start from these weights where shapes agree")
    parser.add_argument("--no-extra", action="store_true", help="train on CelebA faces only (ablation)")
    parser.add_argument("--distill-weight", type=float, default=1.0)
    parser.add_argument("--relation-weight", type=float, default=1.0)
    parser.add_argument("--arcface-weight", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--epoch-steps", type=int, default=250)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--scale", type=float, default=EmbedderConfig.arcface_scale)
    parser.add_argument("--margin", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    add_runtime_arguments(parser)
    parser.add_argument("--limit", type=int, default=0, help="use only N random faces (smoke runs)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args, budget = start_run(options_parser(), argv)

    faces = pd.read_csv(args.cache / "faces.csv", keep_default_na=False)
    crops = np.load(args.cache / "crops.npy", mmap_mode="r")  # 2.4 GB for the shared data: the page cache holds it
    targets = teacher_targets(args.cache, args.teachers)
    keep = faces.source.isin(["wild", "align"]) if args.no_extra else pd.Series(True, index=faces.index)
    if args.limit:
        keep &= faces.index.isin(faces[keep].sample(args.limit, random_state=args.seed).index)
    sets = validation_sets(faces)
    held_out = np.array(faces.key.isin(index_evaluation_keys(DataPaths.from_root(args.data_root))))
    held_out[np.concatenate(list(sets.values()))] = True
    train_rows = np.flatnonzero(keep.to_numpy() & ~held_out)
    labelled = sorted(set(faces.identity.to_numpy()[train_rows]) - {""})
    classes = {identity: n for n, identity in enumerate(labelled)}
    labels_np = np.array([classes.get(i, -1) for i in faces.identity], np.int64)
    labels_np[~np.isin(np.arange(len(faces)), train_rows)] = -1

    config = EmbedderConfig(backbone=args.backbone, embedding_size=targets.shape[2], arcface_scale=args.scale,
                            arcface_margin=args.margin)
    model = EmbeddingNet(config).to(memory_format=torch.channels_last)
    initialise_matching(model, args.init)
    margin = ArcFaceMargin(config.embedding_size, len(classes), config.arcface_scale, config.arcface_margin)
    with torch.no_grad():
        margin.weight.copy_(class_centres(targets, labels_np, len(classes)))
    model.to(args.device)
    margin.to(args.device)
    labels = torch.from_numpy(labels_np).to(args.device)
    parameters = [*model.parameters(), *margin.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=5e-4)
    loop = EpochLoop(args.out, {"model": model, "margin": margin, "optimizer": optimizer}, args.epochs, budget)
    generator = torch.Generator().manual_seed(args.seed + loop.epoch)
    loader = torch.utils.data.DataLoader(TeacherViews(crops, targets, train_rows), batch_size=args.batch,
                                         sampler=torch.utils.data.RandomSampler(train_rows, generator=generator),
                                         drop_last=True, num_workers=args.workers)
    batches = endless(loader)
    steps = args.epoch_steps
    print(f"{len(train_rows)} training faces, {len(classes)} labelled identities, "
          f"held out: {({k: len(v) for k, v in sets.items()})}, targets {targets.shape}", flush=True)

    def train_epoch(epoch: int, epochs: int) -> dict[str, float]:
        model.train()
        sums = np.zeros(3)
        for step in range(steps):
            images, target, rows = next(batches)
            set_lr(optimizer, cosine_lr(epoch * steps + step, steps * epochs, args.lr, steps // 2))
            inputs = normalise(images, config.mean, config.std, args.device).contiguous(
                memory_format=torch.channels_last)
            embeddings = F.normalize(model(inputs), dim=1)
            target = target.to(args.device)
            distill = distillation_loss(embeddings, target)
            relation = relational_distillation_loss(embeddings, target)
            batch_labels = labels[rows.to(args.device)]
            known = batch_labels >= 0
            arcface = (F.cross_entropy(margin(embeddings[known], batch_labels[known]), batch_labels[known])
                       if known.any() else embeddings.sum() * 0)
            loss = args.distill_weight * distill + args.relation_weight * relation + args.arcface_weight * arcface
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 5.0)
            optimizer.step()
            sums += [float(distill.detach()), float(relation.detach()), float(arcface.detach())]
        return {"distill_loss": sums[0] / steps, "relation_loss": sums[1] / steps, "arcface_loss": sums[2] / steps,
                "lr": optimizer.param_groups[0]["lr"]}

    def end_epoch(finished: int, epochs: int) -> dict[str, float]:
        figures = validate(model, crops, faces, sets, config, args.device)
        config.verification_threshold = figures["val_wild_threshold"]
        training = {"config": str(args.config or ""), "teachers": args.teachers, "faces_extra": not args.no_extra,
                    "epochs": finished,
                    "epoch_steps": steps, "batch": args.batch, "lr": args.lr, "init": str(args.init or ""),
                    "distill_weight": args.distill_weight, "relation_weight": args.relation_weight,
                    "arcface_weight": args.arcface_weight, "train_faces": int(len(train_rows)),
                    "identities": len(classes), **figures,
                    "threshold_rule": "FPR 1e-2 on held-out in-the-wild train identities"}
        save_part("embedder", model, config, args.out, training)
        return figures

    epoch = loop.run(train_epoch, end_epoch)
    (args.out / "done.json").write_text(json.dumps({"epochs": epoch}))


if __name__ == "__main__":
    main()
