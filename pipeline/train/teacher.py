"""Cache the distillation teacher's embeddings (dlib's 128-d ResNet, `train` extra only).

    python -m pipeline.train.teacher --data-root ../shared/data --out runs/teacher.npz

dlib runs at about 90 ms a face, so its outputs are computed once here, not per epoch. The teacher sees
each training face through dlib's own pipeline: a rectangle around our five points, dlib's 5-point
shape predictor and its 150x150 face chip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..data import DataPaths
from ..image import read_rgb
from .faces import embedder_training_faces


def load_dlib_teacher():
    import dlib
    import face_recognition_models as models

    shape = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    net = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    return dlib, shape, net


def rectangle_from_points(points: np.ndarray) -> tuple[int, int, int, int]:
    """A dlib-detector-like square around five points (eyes to chin)."""
    eye_centre = points[:2].mean(axis=0)
    mouth_centre = points[3:].mean(axis=0)
    span = max(np.linalg.norm(points[1] - points[0]), np.linalg.norm(mouth_centre - eye_centre))
    centre = (eye_centre + mouth_centre) / 2
    half = 1.15 * span
    return int(centre[0] - half), int(centre[1] - half * 0.9), int(centre[0] + half), int(centre[1] + half * 1.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/teacher.npz"))
    args = parser.parse_args()

    dlib, shape, net = load_dlib_teacher()
    faces = embedder_training_faces(DataPaths.from_root(args.data_root))
    keys, embeddings = [], []
    for row in tqdm(faces.itertuples(), total=len(faces), mininterval=30):
        image = read_rgb(row.path)
        points = row.points
        if row.source == "align":  # the half-size aligned photos are small: give dlib twice the pixels
            image = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
            points = points * 2
        rect = dlib.rectangle(*rectangle_from_points(points))
        chip = dlib.get_face_chip(image, shape(image, rect), size=150, padding=0.25)
        embeddings.append(np.asarray(net.compute_face_descriptor(chip), np.float32))
        keys.append(f"{row.source}/{row.image_id}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, keys=np.array(keys), embeddings=np.stack(embeddings))


if __name__ == "__main__":
    main()
