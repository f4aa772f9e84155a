"""Train the face embedder with ArcFace (optionally distilled from dlib's ResNet) on train identities only.

    python -m pipeline.train.teacher  --data-root ../shared/data --out runs/teacher.npz     # once, ~25 min
    python -m pipeline.train.embedder --data-root ../shared/data --out runs/embedder \
        --teacher runs/teacher.npz --distill-weight 4 --epochs 8

Faces are aligned once (five points -> ArcFace 112x112 template) and kept in memory; each batch is
augmented (albumentations: flips, pose jitter, blur, colour, sunglasses-like and random occlusion).
About 10% of the in-the-wild train identities are held out (not trained on) to pick the verification
threshold: the cosine at which 1% of different-person pairs would be called the same person.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..align import align_face
from ..config import DEFAULT_WEIGHTS_DIR, EmbedderConfig, save_config
from ..data import DataPaths
from ..data.augment import embedder_transform
from ..image import read_rgb
from ..losses import ArcFaceMargin, distillation_loss
from ..networks import EmbeddingNet, normalise
from .common import (
    EpochBudget,
    RunLog,
    add_init_argument,
    add_runtime_arguments,
    cosine_lr,
    initialise_from,
    load_checkpoint,
    make_loader,
    save_checkpoint,
    save_weights,
    set_threads,
)
from .faces import embedder_training_faces

VALIDATION_FPR = 1e-2


def align_all(faces) -> np.ndarray:
    """(N, 112, 112, 3) aligned crops of every training face."""
    crops = []
    for path, points in zip(faces.path, faces.points, strict=True):
        image = read_rgb(path)
        crops.append(align_face(image, points))
    return np.stack(crops)


def split_validation_identities(faces, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of faces whose identity is held out: in-the-wild identities with 4+ photos."""
    wild = faces[faces.source == "wild"]
    counts = wild.identity.value_counts()
    candidates = sorted(counts[counts >= 4].index)
    chosen = set(random.Random(seed).sample(candidates, max(2, int(len(candidates) * fraction))))
    return faces.identity.isin(chosen).to_numpy()


def teacher_targets(faces, teacher_file: Path | None) -> np.ndarray | None:
    """The teacher's embedding of every face, centred on the data set's mean and unit length.

    dlib's embeddings all point roughly the same way (two strangers are often at cosine 0.8), so matching
    them uncentred mostly teaches that common direction; centred, the cosine carries identity.
    """
    if teacher_file is None:
        return None
    cache = np.load(teacher_file)
    lookup = dict(zip(cache["keys"].tolist(), cache["embeddings"], strict=True))
    targets = np.stack([lookup[f"{s}/{i}"] for s, i in zip(faces.source, faces.image_id, strict=True)])
    targets = targets.astype(np.float32) - targets.mean(axis=0, dtype=np.float32)
    return (targets / np.linalg.norm(targets, axis=1, keepdims=True)).astype(np.float32)


def pair_scores(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of all same-identity pairs and all different-identity pairs."""
    similarity = embeddings @ embeddings.T
    upper = np.triu_indices(len(labels), k=1)
    same = labels[upper[0]] == labels[upper[1]]
    scores = similarity[upper]
    return scores[same], scores[~same]


def threshold_at_fpr(genuine: np.ndarray, impostor: np.ndarray, fpr: float) -> tuple[float, float]:
    """The cosine with `fpr` of impostor pairs above it, and the share of genuine pairs above it (TPR)."""
    threshold = float(np.quantile(impostor, 1.0 - fpr))
    return threshold, float((genuine > threshold).mean())


class AugmentedCrops(Dataset):
    """Aligned crops picked by index, each freshly augmented; items are (crop, index into `crops`)."""

    def __init__(self, crops: np.ndarray, indices: np.ndarray) -> None:
        self.crops, self.indices, self.transform = crops, indices, embedder_transform()

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> tuple[np.ndarray, int]:
        index = int(self.indices[item])
        return self.transform(image=self.crops[index])["image"], index


def embed(model: EmbeddingNet, crops: np.ndarray, config: EmbedderConfig, device: str) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        out = [F.normalize(model(normalise(crops[i:i + 256], config.mean, config.std, device)), dim=1).cpu()
               for i in range(0, len(crops), 256)]
    return torch.cat(out).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/embedder"))
    parser.add_argument("--weights-dir", type=Path, default=DEFAULT_WEIGHTS_DIR)
    parser.add_argument("--backbone", default=EmbedderConfig.backbone)
    parser.add_argument("--teacher", type=Path, default=None, help="teacher cache from pipeline.train.teacher")
    parser.add_argument("--distill-weight", type=float, default=4.0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--scale", type=float, default=EmbedderConfig.arcface_scale)
    parser.add_argument("--margin", type=float, default=EmbedderConfig.arcface_margin)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    add_init_argument(parser, "embedder.safetensors")
    add_runtime_arguments(parser)
    parser.add_argument("--limit", type=int, default=0, help="use only N random faces (smoke runs)")
    args = parser.parse_args()

    budget = EpochBudget(args.budget_minutes)
    set_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    config = EmbedderConfig(backbone=args.backbone, arcface_scale=args.scale, arcface_margin=args.margin)

    faces = embedder_training_faces(DataPaths.from_root(args.data_root))
    if args.limit:
        faces = faces.sample(args.limit, random_state=args.seed).reset_index(drop=True)
    crops = align_all(faces)
    teacher = teacher_targets(faces, args.teacher)
    held_out = split_validation_identities(faces, 0.1, args.seed)
    train_index = np.flatnonzero(~held_out)
    classes = {identity: n for n, identity in enumerate(sorted(faces.identity[~held_out].unique()))}
    labels = torch.tensor([classes.get(i, -1) for i in faces.identity], dtype=torch.int64, device=args.device)
    teacher_on_device = torch.from_numpy(teacher).to(args.device) if teacher is not None else None

    model = EmbeddingNet(config)
    initialise_from(model, args.init)
    margin = ArcFaceMargin(config.embedding_size, len(classes), config.arcface_scale, config.arcface_margin)
    projection = torch.nn.Linear(config.embedding_size, teacher.shape[1]) if teacher is not None else None
    for module in (model, margin, projection):
        if module is not None:
            module.to(args.device)
    parameters = [*model.parameters(), *margin.parameters(), *(projection.parameters() if projection else [])]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=5e-4)
    modules = {"model": model, "margin": margin, "optimizer": optimizer}
    if projection is not None:
        modules["projection"] = projection
    checkpoint = args.out / "last.pt"
    epoch = load_checkpoint(checkpoint, modules)
    loader = make_loader(AugmentedCrops(crops, train_index), args.batch, args.workers, shuffle=True)
    steps = len(loader)
    log = RunLog(args.out / "log.jsonl")
    val_crops, val_labels = crops[held_out], faces.identity.to_numpy()[held_out]
    epochs = args.epochs
    budget.begin()
    while epoch < epochs:
        model.train()
        sums = np.zeros(2)
        for step, (images, batch) in enumerate(loader):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(epoch * steps + step, steps * epochs, args.lr, steps)
            batch = batch.to(args.device, non_blocking=True)
            embeddings = model(normalise(images, config.mean, config.std, args.device))
            targets = labels[batch]
            arcface = F.cross_entropy(margin(embeddings, targets), targets)
            loss = arcface
            distill = torch.zeros((), device=args.device)
            if projection is not None:
                distill = distillation_loss(projection(embeddings), teacher_on_device[batch])
                loss = arcface + args.distill_weight * distill
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 5.0)
            optimizer.step()
            sums += [float(arcface.detach()), float(distill.detach())]
        genuine, impostor = pair_scores(embed(model, val_crops, config, args.device), val_labels)
        threshold, val_tpr = threshold_at_fpr(genuine, impostor, VALIDATION_FPR)
        save_checkpoint(checkpoint, epoch, modules)
        log.write(epoch=epoch, arcface_loss=sums[0] / steps, distill_loss=sums[1] / steps,
                  val_tpr_at_fpr_1e_2=val_tpr, val_threshold=threshold)
        budget.epoch_done()
        epoch += 1
        epochs = budget.fit(args.epochs, epoch)
        config.verification_threshold = round(threshold, 4)
        save_weights(model, args.weights_dir / "embedder.safetensors")
        save_config(config, args.weights_dir / "embedder.json",
                    {"epochs": epoch, "init": str(args.init) if args.init else None,
                     "batch": args.batch, "lr": args.lr, "distill_weight":
                     args.distill_weight if teacher is not None else 0.0, "train_faces": int(len(train_index)),
                     "identities": len(classes), "validation_identities": int(len(set(val_labels))),
                     "validation_tpr_at_fpr_1e-2": val_tpr,
                     "threshold_rule": "FPR 1e-2 on held-out train identities"})


if __name__ == "__main__":
    main()
