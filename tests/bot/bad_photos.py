"""Awkward and broken images, built in memory from one real CelebA photo (each a few kB to 1.5 MB).

Every builder takes the photo (RGB, one frontal face) and returns the bytes a user would send.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112
FACE_BOX = (98, 38, 227, 189)  # the face in conftest.ONE_FACE (000114.jpg) with a 15-px margin


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def text_named_jpg(face: Image.Image) -> bytes:
    return b"Shopping list\n- eggs\n- milk\n"


def truncated_jpeg(face: Image.Image) -> bytes:
    """The first half of a JPEG: the header reads, the pixels do not."""
    jpeg = encode(face)
    return jpeg[: len(jpeg) // 2]


def one_pixel(face: Image.Image) -> bytes:
    return encode(face.crop((150, 100, 151, 101)))


def declared_20000_px(face: Image.Image) -> bytes:
    """A real JPEG whose frame header claims 20000x20000 pixels: a decompression bomb, 400 megapixels."""
    return declare_size(encode(face), 20000, 20000)


def declare_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF0-SOF2) stating another size; the compressed pixels are unchanged."""
    position = 2  # after the start-of-image marker
    while position + 9 <= len(jpeg):
        marker = jpeg[position + 1]
        if marker in (0xC0, 0xC1, 0xC2):  # FF Cn, length (2), precision (1), height (2), width (2)
            size = height.to_bytes(2, "big") + width.to_bytes(2, "big")
            return jpeg[: position + 5] + size + jpeg[position + 9:]
        position += 2 + int.from_bytes(jpeg[position + 2: position + 4], "big")
    raise ValueError("no frame header in this JPEG")


def animated_gif(face: Image.Image) -> bytes:
    frames = [face, face.transpose(Image.Transpose.FLIP_LEFT_RIGHT), face.point(lambda value: value // 2)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)


def heic(face: Image.Image) -> bytes:
    """A HEIF container with the brand iPhones write ("heic"). No HEVC encoder here: inside is Pillow's AVIF."""
    avif = encode(face, "AVIF")
    assert avif[4:8] == b"ftyp"
    return avif[:8] + b"heic" + avif[12:]


def webp(face: Image.Image) -> bytes:
    return encode(face, "WEBP", quality=85)


def avif(face: Image.Image) -> bytes:
    return encode(face, "AVIF")


def cmyk_jpeg(face: Image.Image) -> bytes:
    return encode(face.convert("CMYK"))


def png_48_bit(face: Image.Image) -> bytes:
    """16 bits per channel, RGB (what photo editors export); Pillow cannot write it, OpenCV can."""
    bgr = cv2.cvtColor(np.asarray(face), cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    ok, png = cv2.imencode(".png", bgr)
    assert ok
    return png.tobytes()


def png_16_bit_grey(face: Image.Image) -> bytes:
    grey = np.asarray(face.convert("L")).astype(np.uint16) * 257
    return encode(Image.fromarray(grey), "PNG")


def exif_rotated(face: Image.Image) -> bytes:
    """Stored lying on its side, with EXIF orientation 6 ("turn 90 degrees clockwise to show"), as phones do."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return encode(face.transpose(Image.Transpose.ROTATE_90), exif=exif)


def without_exif(jpeg: bytes) -> np.ndarray:
    """The stored pixels, ignoring the orientation tag."""
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))


def crowd(face: Image.Image, faces: int = 50, columns: int = 8) -> bytes:
    """`faces` copies of the face, tightly cropped, in a grid: a crowd photo."""
    tile = face.crop(FACE_BOX)
    rows = -(-faces // columns)
    grid = Image.new("RGB", (tile.width * columns, tile.height * rows), "white")
    for number in range(faces):
        grid.paste(tile, ((number % columns) * tile.width, (number // columns) * tile.height))
    return encode(grid, quality=85)
