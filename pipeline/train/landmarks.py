"""Train the landmark regressor with Wing loss on MTFL's training list + CelebA train pseudo-landmarks.

    python -m pipeline.train.landmarks --data-root ../shared/data --out runs/landmarks --epochs 12

Each face is cut as the pipeline cuts it: a square `box_margin` times the longer side of a face box.
CelebA faces use their MTCNN boxes from faces_all.csv (what the detector learns to output); MTFL has no
boxes, so its boxes come from the five points through a box-from-points fit made on CelebA's train faces,
and box jitter in the augmentation covers the detector's own spread. 5% of MTFL's list is held out as
validation; MTFL's test list is only read by the evaluation command.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np
import torch

from ..config import DEFAULT_WEIGHTS_DIR, LandmarkConfig, save_config
from ..data import DataPaths, read_mtfl_list
from ..data.augment import flip_points, landmark_transform
from ..data.celeba import LANDMARK_COLUMNS
from ..data.mtfl import mtfl_points
from ..landmarks import create_landmark_model, crop_square, normalise, square_around_box
from ..losses import WingLoss
from .common import (
    RunLog,
    add_init_argument,
    cosine_lr,
    initialise_from,
    load_checkpoint,
    save_checkpoint,
    save_weights,
    set_threads,
)

CONTEXT = 1.4  # stored crops hold 1.4x the nominal crop so rotations and shifts have real pixels


def point_scales(points: np.ndarray) -> np.ndarray:
    """(N, 2) features for the box-from-points fit: eye-to-mouth distance and inter-ocular distance."""
    eyes = points[:, :2].mean(axis=1)
    mouth = points[:, 3:].mean(axis=1)
    return np.stack([np.linalg.norm(mouth - eyes, axis=1), np.linalg.norm(points[:, 1] - points[:, 0], axis=1)], 1)


def fit_box_from_points(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Least squares (2, 4) map from point scales to the box's (centre offset from the points' mean, w, h)."""
    centre = points.mean(axis=1)
    target = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2 - centre[:, 0], (boxes[:, 1] + boxes[:, 3]) / 2 - centre[:, 1],
                       boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)
    coefficients, *_ = np.linalg.lstsq(point_scales(points), target, rcond=None)
    return coefficients


def boxes_from_points(points: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    predicted = point_scales(points) @ coefficients
    centre = points.mean(axis=1) + predicted[:, :2]
    half = predicted[:, 2:] / 2
    return np.concatenate([centre - half, centre + half], axis=1)


def stored_crop(image: np.ndarray, box: np.ndarray, points: np.ndarray, config: LandmarkConfig):
    """Cut the context crop around a box; return (crop, points in crop pixels)."""
    size = round(config.input_size * CONTEXT)
    x0, y0, side = square_around_box(box, config.box_margin * CONTEXT)
    crop = crop_square(image, (x0, y0, side), size)
    return crop, (points - [x0, y0]) * (size / side)


def load_samples(data: DataPaths, config: LandmarkConfig, seed: int):
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
            images = {image_id: cv2.cvtColor(cv2.imread(str(celeba.wild_dir / image_id)), cv2.COLOR_BGR2RGB)}
        samples.append(stored_crop(images[image_id], box, points, config))

    table = read_mtfl_list(data.mtfl / "list_landmarks_train.txt")
    mtfl = mtfl_points(table)
    mtfl_boxes = boxes_from_points(mtfl, coefficients)
    order = np.random.default_rng(seed).permutation(len(table))
    held_out = set(order[: len(table) // 20].tolist())
    validation = []
    for index, (path, box, points) in enumerate(zip(table.path, mtfl_boxes, mtfl, strict=True)):
        image = cv2.cvtColor(cv2.imread(str(data.mtfl / path)), cv2.COLOR_BGR2RGB)
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


def augment_batch(batch, transform, config: LandmarkConfig, train: bool):
    """Apply the transform (and a random flip with the left/right swap); return model input and targets."""
    size = config.input_size
    crops, targets = [], []
    for crop, points in batch:
        if train and random.random() < 0.5:
            crop, points = crop[:, ::-1].copy(), flip_points(points, crop.shape[1])
        if train:
            out = transform(image=crop, keypoints=points)
            crop, points = out["image"], np.asarray(out["keypoints"], np.float32)[:, :2]
        else:
            offset = (crop.shape[0] - size) // 2
            crop, points = crop[offset:offset + size, offset:offset + size], points - offset
        crops.append(crop)
        targets.append(points / size)
    images = normalise(np.stack(crops), config.mean, config.std)
    return images, torch.from_numpy(np.stack(targets).reshape(-1, 10).astype(np.float32))


def normalised_mean_error(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean point error divided by the inter-ocular (eye-centre) distance, averaged over faces."""
    prediction, target = prediction.view(-1, 5, 2), target.view(-1, 5, 2)
    errors = (prediction - target).norm(dim=2).mean(dim=1)
    return float((errors / (target[:, 0] - target[:, 1]).norm(dim=1)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/landmarks"))
    parser.add_argument("--weights-dir", type=Path, default=DEFAULT_WEIGHTS_DIR)
    parser.add_argument("--backbone", default=LandmarkConfig.backbone)
    parser.add_argument("--input-size", type=int, default=LandmarkConfig.input_size)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    add_init_argument(parser, "landmarks.safetensors")
    args = parser.parse_args()

    set_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    config = LandmarkConfig(backbone=args.backbone, input_size=args.input_size)
    samples, validation, coefficients = load_samples(DataPaths.from_root(args.data_root), config, args.seed)
    model = create_landmark_model(config)
    start_from_mean_shape(model, samples, config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    loss_fn = WingLoss(config.wing_omega, config.wing_epsilon)
    initialise_from(model, args.init)
    checkpoint = args.out / "last.pt"
    start = load_checkpoint(checkpoint, {"model": model, "optimizer": optimizer})
    transform = landmark_transform(config.input_size, CONTEXT)
    steps = len(samples) // args.batch
    log = RunLog(args.out / "log.jsonl")
    for epoch in range(start, args.epochs):
        model.train()
        random.shuffle(samples)
        total_loss, total_l1 = 0.0, 0.0
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(epoch * steps + step, steps * args.epochs, args.lr, steps)
            images, targets = augment_batch(samples[step * args.batch:(step + 1) * args.batch], transform, config, True)
            prediction = model(images)
            loss = loss_fn(prediction, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += float(loss)
            total_l1 += float((prediction - targets).abs().mean())
        model.eval()
        with torch.inference_mode():
            images, targets = augment_batch(validation, transform, config, False)
            val_nme = normalised_mean_error(model(images), targets)
        save_checkpoint(checkpoint, epoch, {"model": model, "optimizer": optimizer})
        log.write(epoch=epoch, wing_loss=total_loss / steps, l1=total_l1 / steps, val_nme=val_nme)
    save_weights(model, args.weights_dir / "landmarks.safetensors")
    save_config(config, args.weights_dir / "landmarks.json",
                {"epochs": args.epochs, "init": str(args.init) if args.init else None,
                 "batch": args.batch, "lr": args.lr, "train_faces": len(samples),
                 "val_faces": len(validation), "val_nme_mtfl_heldout": val_nme,
                 "box_from_points": coefficients.tolist()})


if __name__ == "__main__":
    main()
