"""The landmark regressor: a timm backbone that reads a square crop around a detector box and returns
the five points (CelebA order) in units of the crop side (0..1). The network is training/networks.py's
LandmarkNet; this module works on numpy arrays and never imports torch."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.config import LandmarkConfig
from pipeline.image import model_input
from pipeline.runtime import Runner

# After a horizontal flip the image-left eye becomes the image-right eye: swap 0<->1 and 3<->4.
FLIP_ORDER = [1, 0, 2, 4, 3]


def flip_points(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror (..., 5, 2) points in an image `width` wide and swap left/right so the order stays CelebA's."""
    flipped = points.copy()
    flipped[..., 0] = width - points[..., 0]
    return flipped[..., FLIP_ORDER, :]


def square_around_box(box: np.ndarray, margin: float) -> tuple[float, float, float]:
    """(x0, y0, side) of the square crop centred on a face box and `margin` times its longer side."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    side = max(x2 - x1, y2 - y1) * margin
    return (x1 + x2) / 2 - side / 2, (y1 + y2) / 2 - side / 2, side


def crop_square(image: np.ndarray, square: tuple[float, float, float], size: int) -> np.ndarray:
    """Cut the square (x0, y0, side) out of the image, resized to size x size; outside the image is black."""
    return warp_to_frame(image, square_frame(square, size), size)


def square_frame(square: tuple[float, float, float], size: int) -> np.ndarray:
    """The 2x3 affine taking image pixels into a size x size crop of the square (x0, y0, side)."""
    x0, y0, side = square
    scale = size / side
    return np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float64)


def warp_to_frame(image: np.ndarray, frame: np.ndarray, size: int) -> np.ndarray:
    shrinking = abs(np.linalg.det(frame[:, :2])) < 1
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.warpAffine(image, frame, (size, size), flags=interpolation, borderMode=cv2.BORDER_CONSTANT)


def points_to_image(points: np.ndarray, frame: np.ndarray, size: int) -> np.ndarray:
    """Map (5, 2) points in crop units (0..1) back through the inverse of `frame` to image pixels."""
    inverse = cv2.invertAffineTransform(frame)
    pixels = points * size
    return pixels @ inverse[:, :2].T + inverse[:, 2]


class LandmarkRegressor:
    """`predict(image, boxes)` -> (N, 5, 2) landmarks in image pixels."""

    def __init__(self, model: Runner, config: LandmarkConfig) -> None:
        """`model`: the network as a runner (pipeline/runtime.py), or LandmarkNet itself (training, runtime
        "torch")."""
        self.config = config
        self.forward = model

    def box_around_points(self, points: np.ndarray) -> np.ndarray:
        """A detector-like (x1, y1, x2, y2) box around one face's five points: the box this model's crops were cut
        around in training (config.box_from_points), so that re-running the model in it finds the same points."""
        if self.config.box_from_points is None:
            raise ValueError("these landmark weights have no box_from_points in their config")
        coefficients = np.asarray(self.config.box_from_points, np.float32)
        return boxes_from_points(np.asarray(points, np.float32)[None], coefficients)[0].astype(np.float32)

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Points from the detector's boxes, then (config.passes - 1 times) from the boxes those points imply."""
        if len(boxes) == 0:
            return np.zeros((0, 5, 2), np.float32)
        points = self.predict_in_boxes(image, boxes)
        if self.config.box_from_points is not None:
            coefficients = np.asarray(self.config.box_from_points, np.float32)
            for _ in range(self.config.passes - 1):
                points = self.predict_in_boxes(image, boxes_from_points(points, coefficients))
        return points

    def predict_in_boxes(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        size = self.config.input_size
        frames = [square_frame(square_around_box(box, self.config.box_margin), size) for box in boxes]
        crops = np.stack([warp_to_frame(image, frame, size) for frame in frames])
        batch = model_input(crops, self.config.mean, self.config.std)
        predicted = self.forward(batch).reshape(-1, 5, 2)
        if self.config.flip_average:
            mirrored = self.forward(np.ascontiguousarray(batch[..., ::-1])).reshape(-1, 5, 2)
            predicted = (predicted + flip_points(mirrored, 1.0)) / 2
        in_image = [points_to_image(points, frame, size) for points, frame in zip(predicted, frames, strict=True)]
        return np.stack(in_image).astype(np.float32)


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
    """(N, 4) boxes around (N, 5, 2) points by the fitted map (fit_box_from_points): the one "box around five
    points" of the project (landmark passes, the index build's aligned photos, dlib's teacher)."""
    predicted = point_scales(points) @ coefficients
    centre = points.mean(axis=1) + predicted[:, :2]
    half = predicted[:, 2:] / 2
    return np.concatenate([centre - half, centre + half], axis=1)
