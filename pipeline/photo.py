"""Decoding user photos safely: bytes -> RGB uint8 array, or a PhotoError whose `reason` says why not.

Shared by the command line and the bot. Applies the EXIF orientation of phone photos, flattens alpha
onto white, converts grayscale/CMYK/16-bit to RGB, refuses decompression bombs before decoding pixels,
and takes the first frame of an animated image only if the caller allows it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.image import to_rgb


class PhotoProblem(StrEnum):
    EMPTY = "empty"
    TOO_LARGE_FILE = "too_large_file"
    NOT_AN_IMAGE = "not_an_image"
    CORRUPT = "corrupt"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_SMALL = "too_small"
    ANIMATED = "animated"
    UNSUPPORTED_FORMAT = "unsupported_format"  # an image, in a format this Pillow cannot read (HEIC)


# ISO base media ("ftyp" box) brands of HEIF images: HEIC is what iPhones save; AVIF is read when Pillow has
# its plugin, and otherwise lands here too.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1",
               b"avif", b"avis")


def is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


class PhotoError(ValueError):
    """A photo we cannot use; `problem` is a PhotoProblem the caller turns into a user message."""

    def __init__(self, problem: PhotoProblem, detail: str = "") -> None:
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    min_side: int = 32
    max_side_after_decode: int = 2048  # larger photos are shrunk: faces stay findable, time stays bounded
    allow_animated: bool = False


def decode_photo(data: bytes, limits: PhotoLimits | None = None) -> np.ndarray:
    """Bytes of a JPEG/PNG/WebP/GIF/... -> RGB uint8 (H, W, 3), upright per EXIF, at most max_side_after_decode."""
    limits = limits or PhotoLimits()
    if not data:
        raise PhotoError(PhotoProblem.EMPTY)
    if len(data) > limits.max_bytes:
        raise PhotoError(PhotoProblem.TOO_LARGE_FILE, f"{len(data)} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise PhotoError(PhotoProblem.TOO_MANY_PIXELS, str(error)) from error
    except UnidentifiedImageError as error:
        problem = PhotoProblem.UNSUPPORTED_FORMAT if is_heif(data) else PhotoProblem.NOT_AN_IMAGE
        raise PhotoError(problem, type(error).__name__) from error
    except OSError as error:
        raise PhotoError(PhotoProblem.CORRUPT, str(error)) from error
    width, height = image.size
    if width * height > limits.max_pixels:  # checked on the header, before any pixel is decoded
        raise PhotoError(PhotoProblem.TOO_MANY_PIXELS, f"{width}x{height}")
    if min(width, height) < limits.min_side:
        raise PhotoError(PhotoProblem.TOO_SMALL, f"{width}x{height}")
    if getattr(image, "n_frames", 1) > 1 and not limits.allow_animated:
        raise PhotoError(PhotoProblem.ANIMATED, f"{image.n_frames} frames")
    try:
        image.draft("RGB", (limits.max_side_after_decode, limits.max_side_after_decode))  # fast JPEG downscale
        image = ImageOps.exif_transpose(image)
        image = to_pil_rgb(image)
        image.thumbnail((limits.max_side_after_decode, limits.max_side_after_decode), Image.Resampling.LANCZOS)
        return to_rgb(np.asarray(image))
    except (OSError, SyntaxError, ValueError) as error:
        raise PhotoError(PhotoProblem.CORRUPT, str(error)) from error


def to_pil_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode (L, LA, P, RGBA, CMYK, I;16, F, ...) to RGB, alpha flattened onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        return Image.fromarray((array / peak * 255.0).clip(0, 255).astype(np.uint8)).convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def read_photo(path: str | Path, limits: PhotoLimits | None = None) -> np.ndarray:
    """decode_photo for a file on disk."""
    return decode_photo(Path(path).read_bytes(), limits)
