import io

import numpy as np
import pytest
from PIL import Image

from pipeline.photo import PhotoError, PhotoLimits, PhotoProblem, decode_photo


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def problem_of(data: bytes, limits: PhotoLimits | None = None) -> PhotoProblem:
    with pytest.raises(PhotoError) as caught:
        decode_photo(data, limits)
    return caught.value.problem


def test_bad_inputs_have_named_problems() -> None:
    assert problem_of(b"") is PhotoProblem.EMPTY
    assert problem_of(b"just some text, renamed .jpg") is PhotoProblem.NOT_AN_IMAGE
    jpeg = encode(Image.new("RGB", (200, 200), "red"))
    assert problem_of(jpeg[: len(jpeg) // 2]) is PhotoProblem.CORRUPT
    assert problem_of(encode(Image.new("RGB", (8, 8)))) is PhotoProblem.TOO_SMALL
    assert problem_of(jpeg, PhotoLimits(max_bytes=100)) is PhotoProblem.TOO_LARGE_FILE


def test_heic_is_an_unsupported_format_not_a_non_image() -> None:
    avif = encode(Image.new("RGB", (64, 64), "red"), "AVIF")  # a real HEIF container (AV1 inside)
    assert avif[4:12] in (b"ftypavif", b"ftypmif1")
    heic = avif[:8] + b"heic" + avif[12:]  # the brand iPhones write; this Pillow has no HEVC decoder
    assert problem_of(heic) is PhotoProblem.UNSUPPORTED_FORMAT


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = encode(Image.new("1", (20000, 20000)), "PNG")  # tiny file, 400 megapixels declared
    assert len(bomb) < 200_000
    assert problem_of(bomb) is PhotoProblem.TOO_MANY_PIXELS


def test_animated_gif_is_refused() -> None:
    frames = [Image.new("RGB", (64, 64), c) for c in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert problem_of(buffer.getvalue()) is PhotoProblem.ANIMATED


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (120, 60), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    decoded = decode_photo(encode(image, exif=exif))
    assert decoded.shape == (120, 60, 3)


def test_alpha_grayscale_cmyk_and_16_bit_become_rgb() -> None:
    transparent = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    assert decode_photo(encode(transparent, "PNG")).min() == 255  # flattened onto white
    assert decode_photo(encode(Image.new("L", (64, 64), 90))).shape == (64, 64, 3)
    assert decode_photo(encode(Image.new("CMYK", (64, 64), (0, 0, 0, 0)))).shape == (64, 64, 3)
    deep = Image.fromarray(np.full((64, 64), 65535, np.uint16))
    assert decode_photo(encode(deep, "PNG")).min() >= 254


def test_huge_photo_is_shrunk_after_decoding() -> None:
    decoded = decode_photo(encode(Image.new("RGB", (5000, 2500), "gray")))
    assert max(decoded.shape[:2]) <= PhotoLimits().max_side_after_decode


def test_loading_the_detector_leaves_pillow_unpatched(face_pipeline) -> None:
    """yolov5 pulls in ultralytics, whose PIL patch would try to pip-install a plugin on a non-image."""
    assert problem_of(b"not an image at all") is PhotoProblem.NOT_AN_IMAGE
