"""The record every later stage consumes: one detected face and what the pipeline learned about it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Face:
    """One face found in a photo.

    box: (x1, y1, x2, y2) in the pixels of the input image.
    score: detector confidence in [0, 1].
    landmarks: (5, 2) float array in image pixels, CelebA order
        (left eye, right eye, nose, left mouth corner, right mouth corner; "left" = image left).
    crop: the aligned 112x112x3 RGB uint8 face (ArcFace template).
    embedding: float32 unit vector.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray
    crop: np.ndarray
    embedding: np.ndarray

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)
