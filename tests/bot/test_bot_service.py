"""The service on real photos: cards per face, quality notes, unusable photos, work in the worker processes."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Callable

import psutil
import pytest
from PIL import Image

from bot import texts
from bot.service import LookalikeReply, LookalikeService
from pipeline.photo import PhotoError, PhotoProblem
from serving import Inference, InProcessPool

JPEG_START = b"\xff\xd8"
ONE_FACE_IDENTITY = 7256  # the person in face_jpeg; the small test gallery holds three other photos of them


def describe(service: LookalikeService, photo: bytes, third_person: bool = False) -> LookalikeReply:
    return asyncio.run(service.find_lookalikes(photo, third_person))


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def test_one_card_per_face_largest_first(bot_service: LookalikeService, two_faces_jpeg: bytes) -> None:
    reply = describe(bot_service, two_faces_jpeg)
    assert len(reply.cards) == 2 and reply.skipped == 0
    assert reply.cards[0].caption.startswith("Face 1 of 2")
    assert reply.cards[1].caption.startswith("Face 2 of 2")
    assert reply.overview is not None and reply.overview.caption == "I found 2 faces."  # sent first
    assert reply.overview.jpeg.startswith(JPEG_START)
    about_someone = describe(bot_service, two_faces_jpeg, third_person=True)  # in a group
    assert about_someone.cards[0].caption.startswith("Face 1 of 2: 8 closest CelebA look-alikes of this face")
    assert about_someone.cards[0].jpeg != reply.cards[0].jpeg  # the card's title speaks of "this face" too
    for card in reply.cards:
        assert card.jpeg.startswith(JPEG_START)
        assert card.caption.count("similarity") == 8


def test_faces_beyond_the_limit_are_counted_as_skipped(in_process_service: LookalikeService,
                                                       two_faces_jpeg: bytes) -> None:
    replier = in_process_service.pool.inference.replier
    one_face_only = LookalikeService(InProcessPool(Inference(dataclasses.replace(replier, max_faces=1))))
    reply = describe(one_face_only, two_faces_jpeg)
    one_face_only.close()
    assert (len(reply.cards), reply.skipped) == (1, 1)
    assert reply.overview is not None and reply.overview.caption == texts.faces_found(2, 1)
    assert reply.overview.caption == "I found 2 faces: here is the largest (1 more)."


def test_no_face_gives_no_card(bot_service: LookalikeService, no_face_jpeg: bytes) -> None:
    assert describe(bot_service, no_face_jpeg) == LookalikeReply(cards=[], skipped=0)


def test_a_tiny_face_gets_its_card_with_a_note(bot_service: LookalikeService, tiny_face_jpeg: bytes) -> None:
    reply = describe(bot_service, tiny_face_jpeg)
    assert len(reply.cards) == 1
    assert "may be poor" in reply.cards[0].caption and "small" in reply.cards[0].caption


def test_a_good_face_gets_no_note_and_its_own_celebrity_first(bot_service: LookalikeService,
                                                               face_jpeg: bytes) -> None:
    reply = describe(bot_service, face_jpeg)
    assert len(reply.cards) == 1
    assert "may be poor" not in reply.cards[0].caption
    assert reply.cards[0].caption.splitlines()[1].startswith(f"1. celebrity #{ONE_FACE_IDENTITY} ")


def grayscale(photo: Image.Image) -> bytes:
    return encoded(photo.convert("L"), "JPEG")


def png_with_alpha(photo: Image.Image) -> bytes:
    rgba = photo.convert("RGBA")
    rgba.paste((0, 0, 0, 0), (0, 0, photo.width, 16))  # a transparent band at the top
    return encoded(rgba, "PNG")


def exif_rotated(photo: Image.Image) -> bytes:
    """Pixels stored sideways, as phones do, with EXIF orientation 6: "rotate 90° clockwise to view"."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(photo.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif)


@pytest.mark.parametrize("variant", [grayscale, png_with_alpha, exif_rotated])
def test_phone_and_unusual_formats_still_find_the_face(bot_service: LookalikeService, face_jpeg: bytes,
                                                       variant: Callable[[Image.Image], bytes]) -> None:
    photo = Image.open(io.BytesIO(face_jpeg))
    assert len(describe(bot_service, variant(photo)).cards) == 1


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", PhotoProblem.EMPTY),
        (b"%PDF-1.7 not a photo", PhotoProblem.NOT_AN_IMAGE),
        (encoded(Image.new("RGB", (16, 16)), "PNG"), PhotoProblem.TOO_SMALL),
        (animated_gif(), PhotoProblem.ANIMATED),
    ],
)
def test_unusable_photos_raise_a_photo_error(bot_service: LookalikeService, data: bytes,
                                             problem: PhotoProblem) -> None:
    with pytest.raises(PhotoError) as error:
        describe(bot_service, data)
    assert error.value.problem == problem


def test_a_corrupt_photo_raises_a_photo_error(bot_service: LookalikeService, corrupt_jpeg: bytes) -> None:
    with pytest.raises(PhotoError) as error:
        describe(bot_service, corrupt_jpeg)
    assert error.value.problem == PhotoProblem.CORRUPT


def test_the_models_run_in_the_worker_processes_not_on_the_event_loop(bot_service: LookalikeService,
                                                                      face_jpeg: bytes) -> None:
    workers = [psutil.Process(pid) for pid in bot_service.pool.pids]
    busy_before = [worker.cpu_times().user for worker in workers]

    async def search_while_ticking() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        await bot_service.find_lookalikes(face_jpeg)
        ticker.cancel()
        return ticks

    assert asyncio.run(search_while_ticking()) > 1  # the event loop kept running while the photo was processed
    assert any(worker.cpu_times().user > before for worker, before in zip(workers, busy_before, strict=True))
