"""Uploaded photos, read from a multipart/form-data body into memory with the limits enforced while reading.

Never `request.post()`: aiohttp spools uploaded files to a temporary file on disk, and reads the whole body first.
Here each part is read chunk by chunk into memory: past `max_bytes` the reading stops (TOO_LARGE_FILE), and as
soon as the first bytes hold the image's header, its width x height is checked against `max_pixels`
(TOO_MANY_PIXELS), so a decompression bomb is refused after a few kilobytes. A body that declares more bytes
than the form could hold is refused before any is read. Decoding (pipeline/photo.py) has the last word on the
rest: not an image, damaged, too small, animated.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import BodyPartReader, web
from PIL import Image

from pipeline.photo import PhotoError, PhotoLimits, PhotoProblem

FIELD = "photo"  # the form field (repeated for two photos)
CHUNK = 64 * 1024
HEADER_BYTES = 512 * 1024  # an image whose size is not known from this many bytes is left to the decoder
FORM_OVERHEAD = 64 * 1024  # the form's own bytes (boundaries, part headers) allowed beside the photos


class UploadProblem(StrEnum):
    NOT_A_FORM = "not_a_form"  # the body is not multipart/form-data
    NO_PHOTO = "no_photo"
    TOO_MANY_PHOTOS = "too_many_photos"


class UploadError(ValueError):
    """A request that carries no usable form of photos; `problem` says which."""

    def __init__(self, problem: UploadProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Upload:
    name: str  # the file name the browser sent ("" if none)
    data: bytes


async def read_photos(request: web.Request, most: int, limits: PhotoLimits) -> list[Upload]:
    """The photos in the request's FIELD parts, 1 to `most` of them, each read within `limits`.

    Raises UploadError for a request without them, PhotoError (TOO_LARGE_FILE, TOO_MANY_PIXELS) as soon as the
    bytes read show that a photo is over a limit. Parts of other fields are skipped; an empty file part (a file
    input left empty) does not count."""
    if request.content_length is not None and request.content_length > most * limits.max_bytes + FORM_OVERHEAD:
        raise PhotoError(PhotoProblem.TOO_LARGE_FILE, f"body of {request.content_length} bytes")
    if request.content_type != "multipart/form-data":
        raise UploadError(UploadProblem.NOT_A_FORM)
    uploads: list[Upload] = []
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader) or part.name != FIELD:
            await part.release()
            continue
        data = await read_part(part, limits)
        if not data and part.filename == "":
            continue
        if len(uploads) == most:
            raise UploadError(UploadProblem.TOO_MANY_PHOTOS)
        uploads.append(Upload(part.filename or "", data))
    if not uploads:
        raise UploadError(UploadProblem.NO_PHOTO)
    return uploads


async def read_part(part: BodyPartReader, limits: PhotoLimits) -> bytes:
    """One part's bytes, refused as soon as they are over `max_bytes` or their header over `max_pixels`."""
    data = bytearray()
    header_checked = False
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > limits.max_bytes:
            raise PhotoError(PhotoProblem.TOO_LARGE_FILE, f"over {limits.max_bytes} bytes")
        if not header_checked:
            pixels = declared_pixels(bytes(data))
            if pixels is not None and pixels > limits.max_pixels:
                raise PhotoError(PhotoProblem.TOO_MANY_PIXELS, f"{pixels} pixels declared")
            header_checked = pixels is not None or len(data) >= HEADER_BYTES
    return bytes(data)


def declared_pixels(head: bytes) -> int | None:
    """Width x height as the image's header states them, from its first bytes; None while they do not hold a
    header Pillow can read (too few bytes yet, or not an image). Reads no pixels; raises PhotoError for a size
    beyond Pillow's own limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(head)) as image:
                width, height = image.size
    except Image.DecompressionBombError as error:  # over twice Pillow's own limit, as decode_photo refuses it
        raise PhotoError(PhotoProblem.TOO_MANY_PIXELS, str(error)) from error
    except (OSError, SyntaxError, ValueError):
        return None
    return width * height
