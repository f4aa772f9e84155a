"""Bad-input matrix through the real bot: every awkward or broken image, sent as a photo and as a file, gets
exactly one clear answer, while another user's good photo sent at the same time is answered as usual."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
from collections.abc import Callable, Iterator

import bad_photos
import pytest
from harness import ONE_CARD, cards_for, problem_text, running_bot
from PIL import Image, UnidentifiedImageError

from bot import texts
from bot.service import LookalikeService
from pipeline.photo import PhotoProblem
from serving import InferenceConfig, LocalPool

AS_PHOTO, AS_FILE, BYSTANDER = 301, 302, 303
CROWD_MAX_FACES = 3


def pillow_reads(data: bytes) -> bool:
    try:
        Image.open(io.BytesIO(data)).load()
    except (UnidentifiedImageError, OSError):
        return False
    return True


def refused(problem: PhotoProblem) -> Callable[[bytes], str]:
    return lambda data: problem_text(problem)


def one_card(data: bytes) -> str:
    return ONE_CARD


def card_if_readable(data: bytes) -> str:
    """HEIC: a card where Pillow has a HEIF decoder (pillow-heif), else "format not supported"."""
    return ONE_CARD if pillow_reads(data) else problem_text(PhotoProblem.UNSUPPORTED_FORMAT)


CASES = [  # name, builder, the file's name and MIME type when sent as a file, the expected answer
    pytest.param(lambda face: b"", "empty.jpg", "image/jpeg", refused(PhotoProblem.EMPTY), id="empty-file"),
    pytest.param(bad_photos.text_named_jpg, "list.jpg", "image/jpeg", refused(PhotoProblem.NOT_AN_IMAGE),
                 id="text-renamed-jpg"),
    pytest.param(bad_photos.truncated_jpeg, "cut.jpg", "image/jpeg", refused(PhotoProblem.CORRUPT),
                 id="truncated-jpeg"),
    pytest.param(bad_photos.one_pixel, "dot.jpg", "image/jpeg", refused(PhotoProblem.TOO_SMALL), id="1x1-px"),
    # Refused from the header: decoding 400 megapixels would take 1.2 GB, and the cut-off pixel data would
    # make a decoder answer "damaged", not "too many pixels".
    pytest.param(bad_photos.declared_20000_px, "bomb.jpg", "image/jpeg", refused(PhotoProblem.TOO_MANY_PIXELS),
                 id="20000x20000-declared"),
    pytest.param(bad_photos.animated_gif, "hello.gif", "image/gif", refused(PhotoProblem.ANIMATED),
                 id="animated-gif"),
    pytest.param(bad_photos.heic, "IMG_0001.HEIC", "image/heic", card_if_readable, id="heic"),
    pytest.param(bad_photos.webp, "me.webp", "image/webp", one_card, id="webp"),
    pytest.param(bad_photos.avif, "me.avif", "image/avif", one_card, id="avif"),
    pytest.param(bad_photos.cmyk_jpeg, "print.jpg", "image/jpeg", one_card, id="cmyk-jpeg"),
    pytest.param(bad_photos.png_48_bit, "deep.png", "image/png", one_card, id="16-bit-rgb-png"),
    pytest.param(bad_photos.png_16_bit_grey, "deep-grey.png", "image/png", one_card, id="16-bit-grey-png"),
    pytest.param(bad_photos.exif_rotated, "phone.jpg", "image/jpeg", one_card, id="exif-rotated"),
]


@pytest.mark.parametrize(("build", "file_name", "mime_type", "expected"), CASES)
def test_each_bad_input_gets_one_clear_answer_and_others_are_served(
        build: Callable[[Image.Image], bytes], file_name: str, mime_type: str, expected: Callable[[bytes], str],
        bot_service: LookalikeService, face_photo: Image.Image, face_jpeg: bytes) -> None:
    data = build(face_photo)

    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.photo_message(AS_PHOTO, data), api.document_message(AS_FILE, data, file_name, mime_type),
                     api.photo_message(BYSTANDER, face_jpeg))
            await api.wait_for(lambda: all(api.received(user) for user in (AS_PHOTO, AS_FILE, BYSTANDER)),
                               timeout_s=30)
        assert api.received(AS_PHOTO) == [expected(data)]
        assert api.received(AS_FILE) == [expected(data)]
        assert api.received(BYSTANDER) == [ONE_CARD]

    asyncio.run(scenario())


def test_the_exif_rotated_face_is_only_found_upright(face_pipeline, face_photo: Image.Image) -> None:
    """What makes the exif-rotated case above worth having: the stored pixels alone show no face."""
    stored = bad_photos.without_exif(bad_photos.exif_rotated(face_photo))
    assert stored.shape[:2] == (face_photo.width, face_photo.height)
    assert face_pipeline(stored) == []


def test_an_animation_as_telegram_sends_it_is_refused_without_a_download(bot_service: LookalikeService,
                                                                         face_photo: Image.Image) -> None:
    """Telegram turns a GIF into an MP4 "animation" and, for old clients, also fills in `document`."""

    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.animation_message(AS_PHOTO, b"\x00\x00\x00\x18ftypmp42 an mp4"),
                     api.animation_message(AS_FILE, bad_photos.animated_gif(face_photo), mime_type="image/gif"))
            await api.wait_for(lambda: api.received(AS_PHOTO) and api.received(AS_FILE), timeout_s=30)
        assert api.received(AS_PHOTO) == [problem_text(PhotoProblem.ANIMATED)]
        assert api.received(AS_FILE) == [problem_text(PhotoProblem.ANIMATED)]
        assert api.downloads == []

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def crowd_service(inference_config: InferenceConfig) -> Iterator[LookalikeService]:
    """The bot's service with a cap of CROWD_MAX_FACES faces per photo."""
    service = LookalikeService(LocalPool(dataclasses.replace(inference_config, max_faces=CROWD_MAX_FACES), workers=2))
    yield service
    service.close()


def test_fifty_faces_get_the_capped_number_of_cards_and_a_note(crowd_service: LookalikeService,
                                                               face_photo: Image.Image, face_jpeg: bytes) -> None:
    crowd = bad_photos.crowd(face_photo, faces=50)

    async def scenario() -> None:
        async with running_bot(crowd_service) as api:
            api.send(api.photo_message(AS_PHOTO, crowd), api.document_message(AS_FILE, crowd, "team.jpg", "image/jpeg"),
                     api.photo_message(BYSTANDER, face_jpeg))
            await api.wait_for(lambda: all(cards_for(api, user, CROWD_MAX_FACES + 1) for user in (AS_PHOTO, AS_FILE))
                               and cards_for(api, BYSTANDER, 1), timeout_s=60)
        cards = [f"card: Face {n} of {CROWD_MAX_FACES}: your 8 closest CelebA look-alikes"
                 for n in range(1, CROWD_MAX_FACES + 1)]
        for user in (AS_PHOTO, AS_FILE):
            overview, *shown = api.received(user)  # the numbered overview, captioned with what was found
            assert shown == cards and api.texts(user) == []
            found = re.fullmatch(r"card: I found (\d+) faces: here are the (\d+) largest \((\d+) more\)\.", overview)
            assert found is not None, overview
            total, largest, skipped = map(int, found.groups())
            assert overview == "card: " + texts.faces_found(total, CROWD_MAX_FACES)
            assert largest == CROWD_MAX_FACES and total == largest + skipped and total > CROWD_MAX_FACES
        assert api.received(BYSTANDER) == [ONE_CARD]

    asyncio.run(scenario())
