"""Turning whatever the caller passes into the RGB uint8 array the models expect."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_rgb(path: Path) -> np.ndarray:
    """An image file (a trusted data set's, not a user's upload: see pipeline/photo.py) as RGB uint8."""
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Accept (H, W) grayscale, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; return contiguous RGB uint8."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.size and array.max() <= 1.0:
            array = array * 255.0
        elif array.dtype == np.uint16:
            array = array / 257.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = composite_on_white(array)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    return np.ascontiguousarray(array)


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Flatten an RGBA image onto white, so transparent areas do not turn black."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    rgb = rgba[:, :, :3].astype(np.float32)
    return (rgb * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)


def model_input(crops: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB crops -> the (N, 3, H, W) float32 batch a network reads, normalised per channel:
    (x / 255 - mean) / std, computed as one multiply-add (within 1.2e-7 of the three steps, several times faster)."""
    shape = (1, 3, 1, 1)
    scale = (np.float32(1 / 255) / np.float32(std)).reshape(shape)
    offset = (-np.float32(mean) / np.float32(std)).reshape(shape)
    return np.ascontiguousarray(np.asarray(crops).transpose(0, 3, 1, 2)) * scale + offset


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """RGB uint8 array -> JPEG bytes (for sending or saving a card).

    OpenCV's encoder: the same libjpeg-turbo output as Pillow's, a little faster, and it lets go of Python's
    GIL while it works, so the bot's worker threads encode cards in parallel (Pillow's holds it)."""
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return encoded.tobytes()
