"""Train the yolov5 face detector from scratch on the CelebA train partition (boxes of faces_all.csv).

    python -m training.detector --data-root ../shared/data --out runs/detector --epochs 30
    python -m training.detector --config training/configs/detector.json     # a committed run, as a file

Our own short loop around yolov5's model and loss (no hub, no downloads, no plots, no pickled modules).
Resumable: it restarts from `OUT/last.pt` when that exists. It writes only into OUT: `detector.safetensors`
with `detector.json` beside them after every epoch, `log.jsonl` and the options it ran with (`config.json`);
`python -m training.publish OUT` makes them the pipeline's weights.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.boxes import clip_boxes
from pipeline.config import DetectorConfig
from pipeline.detector import PAD_VALUE, FaceDetector
from pipeline.image import read_rgb
from readers import DataPaths
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
from training.metrics import DetectionTally
from training.networks import build_yolo, detector_runner, face_yolo_yaml

HYPERPARAMETERS = {
    "box": 0.05, "cls": 0.5, "cls_pw": 1.0, "obj": 1.0, "obj_pw": 1.0,
    "anchor_t": 4.0, "fl_gamma": 0.0, "label_smoothing": 0.0,
}


def training_transform(size: int) -> A.Compose:
    """Scale, shift, flip and colour changes that move the boxes with the image."""
    return A.Compose(
        [
            A.LongestMaxSize(max_size=size),
            A.Affine(scale=(0.5, 1.3), translate_percent=(-0.15, 0.15), rotate=(-10, 10),
                     fill=PAD_VALUE, p=0.9),
            A.PadIfNeeded(size, size, border_mode=cv2.BORDER_CONSTANT, fill=PAD_VALUE, position="random"),
            A.RandomCrop(size, size),
            A.HorizontalFlip(p=0.5),
            A.ColorJitter(0.3, 0.3, 0.3, 0.05, p=0.8),
            A.ToGray(p=0.05),
            A.OneOf([A.MotionBlur(blur_limit=5), A.GaussianBlur(blur_limit=(3, 5))], p=0.15),
            A.ImageCompression(quality_range=(40, 95), p=0.3),
        ],
        bbox_params=A.BboxParams(format="pascal_voc", min_visibility=0.4, min_area=16, label_fields=["labels"]),
    )


def load_training_set(data: DataPaths, partition: str, limit: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB image, boxes (N, 4) clipped to the image) for every photo of the partition (the first `limit` when
    given: a smoke run reads only those), kept in memory."""
    celeba = data.celeba
    faces = celeba.faces_all.groupby("image_id")
    samples = []
    for image_id in celeba.image_ids(partition)[: limit or None]:
        image = read_rgb(celeba.wild_dir / image_id)
        boxes = np.zeros((0, 4), np.float32)
        if image_id in faces.groups:
            boxes = clip_boxes(faces.get_group(image_id)[["x1", "y1", "x2", "y2"]].to_numpy(np.float32), image.shape)
            boxes = boxes[(boxes[:, 2] - boxes[:, 0] > 2) & (boxes[:, 3] - boxes[:, 1] > 2)]
        samples.append((image, boxes))
    return samples


class AugmentedPhotos(Dataset):
    """Training photos, each freshly augmented to a square of `size`; items are (image, boxes (n, 4))."""

    def __init__(self, samples: list[tuple[np.ndarray, np.ndarray]], size: int) -> None:
        self.samples, self.transform = samples, training_transform(size)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        image, boxes = self.samples[index]
        out = self.transform(image=image, bboxes=boxes, labels=[0] * len(boxes))
        return out["image"], np.asarray(out["bboxes"], np.float32).reshape(-1, 4)


def collate_photos(items: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 3, S, S) in 0..1 and yolov5 targets (n, 6): index, class, cx, cy, w, h (0..1)."""
    size = items[0][0].shape[0]
    targets = [[index, 0, (x1 + x2) / 2 / size, (y1 + y2) / 2 / size, (x2 - x1) / size, (y2 - y1) / size]
               for index, (_, boxes) in enumerate(items) for x1, y1, x2, y2 in boxes]
    images = torch.from_numpy(np.stack([image for image, _ in items]).transpose(0, 3, 1, 2).copy())
    return images.float().div_(255.0), torch.tensor(targets, dtype=torch.float32).reshape(-1, 6)


def split_validation(samples: list, count: int, seed: int) -> tuple[list, list]:
    """(training, validation): `count` photos drawn at random (by `seed`) are held out for validation."""
    held_out = set(np.random.default_rng(seed).permutation(len(samples))[:count].tolist())
    return ([s for i, s in enumerate(samples) if i not in held_out],
            [s for i, s in enumerate(samples) if i in held_out])


def validate(model: torch.nn.Module, config: DetectorConfig, samples: list, sizes: list[int]) -> dict[str, float]:
    """Best recall at precision >= 0.95 on held-out photos, through the inference class at each input size."""
    results = {}
    for size in sizes:
        detector = FaceDetector(detector_runner(model), replace(config, input_size=size, conf_threshold=0.05))
        tally = DetectionTally()
        for image, boxes in samples:
            tally.add(*detector.detect(image), boxes)
        results[f"val_recall_p95_{size}"] = tally.summary(config.conf_threshold)["best_recall_at_precision_0.95"]
    return results


def options_parser() -> argparse.ArgumentParser:
    """The script's options; a run's config file (`--config`) holds values for them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/detector"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos (smoke runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holdout", type=int, default=250, help="train photos held out to validate on")
    parser.add_argument("--val-sizes", default="320,384,448", help="inference sizes validated (comma list)")
    parser.add_argument("--val-every", type=int, default=10, help="validate every N epochs (and after the last)")
    add_init_argument(parser, "detector.safetensors")
    add_runtime_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args, budget = start_run(options_parser(), argv)

    from yolov5.utils.loss import ComputeLoss

    samples = load_training_set(DataPaths.from_root(args.data_root), "train", args.limit)
    samples, validation = split_validation(samples, args.holdout, args.seed)
    val_sizes = [int(size) for size in args.val_sizes.split(",")]
    config = DetectorConfig(model_yaml=face_yolo_yaml(), input_size=args.imgsz)
    model = build_yolo(config.model_yaml)
    model.hyp = HYPERPARAMETERS
    initialise_from(model, args.init)
    model.to(args.device)
    loss_fn = ComputeLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    loop = EpochLoop(args.out, {"model": model, "optimizer": optimizer}, args.epochs, budget)
    loader = make_loader(AugmentedPhotos(samples, args.imgsz), args.batch, args.workers, shuffle=True,
                         collate_fn=collate_photos)
    steps = len(loader)

    def train_epoch(epoch: int, epochs: int) -> dict[str, float]:
        model.train()
        running = np.zeros(3)
        for step, (images, targets) in enumerate(loader):
            set_lr(optimizer, cosine_lr(epoch * steps + step, steps * epochs, args.lr, min(300, steps * 2)))
            loss, parts = loss_fn(model(images.to(args.device)), targets.to(args.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            running += parts.detach().cpu().numpy()
        box, obj, cls = (running / max(1, steps)).tolist()
        return {"box_loss": box, "obj_loss": obj, "cls_loss": cls, "lr": optimizer.param_groups[0]["lr"]}

    def end_epoch(finished: int, epochs: int) -> dict[str, float]:
        checked = validate(model, config, validation, val_sizes) if validation and (
            finished % args.val_every == 0 or finished >= epochs) else {}
        facts = {"epochs": finished, "init": str(args.init) if args.init else None,
                 "batch": args.batch, "imgsz": args.imgsz, "lr": args.lr,
                 "optimizer": "AdamW, cosine, warm-up", "photos": len(samples), "partition": "train",
                 "labels": "faces_all.csv", "validation_photos": len(validation), **checked}
        save_part("detector", model, config, args.out, facts)
        return checked

    loop.run(train_epoch, end_epoch)


if __name__ == "__main__":
    main()
