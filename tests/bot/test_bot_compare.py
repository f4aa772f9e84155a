"""/compare through the real bot: real CelebA photos of one person and of two people, in each of the three
ways of asking (an album of two, one photo with two faces, a reply followed by a second photo)."""

from __future__ import annotations

import asyncio
import io

import pytest
from fake_bot_api import FakeBotAPI
from harness import ONE_CARD, running_bot
from PIL import Image

from bot import texts
from bot.handlers import compare
from bot.service import LookalikeService
from reply.compare import FACE_SIDE, GAP

ALICE, BOB, CAROL, DAVE, ERIN = 601, 602, 603, 604, 605
GROUP = -100600


def verdict_line(api: FakeBotAPI, chat_id: int) -> str:
    """The first line of the chat's /compare answer (the caption of the faces side by side)."""
    (answer,) = api.sent("sendPhoto", chat_id)
    return answer.fields["caption"].splitlines()[0]


def test_an_album_of_two_photos_captioned_compare(bot_service: LookalikeService, face_jpeg: bytes,
                                                  same_person_jpeg: bytes, other_face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            same = api.album(api.photo_message(ALICE, face_jpeg, caption="/compare"),
                             api.photo_message(ALICE, same_person_jpeg))
            strangers = api.album(api.photo_message(BOB, face_jpeg),
                                  api.photo_message(BOB, other_face_jpeg, caption="/compare"))  # caption on the 2nd
            api.send(*same, *strangers)
            await api.wait_for(lambda: api.sent("sendPhoto", ALICE) and api.sent("sendPhoto", BOB))
        assert verdict_line(api, ALICE).endswith(": likely the same person.")
        assert verdict_line(api, BOB).endswith(": different people.")
        (picture,) = api.sent("sendPhoto", ALICE)[0].photos()
        assert Image.open(io.BytesIO(picture)).size == (2 * FACE_SIDE + GAP, FACE_SIDE)
        assert api.sent("sendPhoto", BOB)[0].reply_to == strangers[1]["message_id"]
        assert api.texts(ALICE) == api.texts(BOB) == []

    asyncio.run(scenario())


def test_one_photo_with_two_faces_and_a_photo_with_one(bot_service: LookalikeService, two_faces_jpeg: bytes,
                                                      face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.photo_message(CAROL, two_faces_jpeg, caption="/compare"),
                     api.photo_message(DAVE, face_jpeg, caption="/compare"))
            await api.wait_for(lambda: api.sent("sendPhoto", CAROL) and api.texts(DAVE))
        assert verdict_line(api, CAROL).endswith(": different people.")
        assert api.texts(DAVE) == [texts.compare_need_two_faces(1)]

    asyncio.run(scenario())


def test_compare_replying_to_a_photo_then_a_second_photo_in_a_group(
        bot_service: LookalikeService, face_jpeg: bytes, same_person_jpeg: bytes) -> None:
    group = FakeBotAPI.group_chat(GROUP)

    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            first = api.photo_message(ALICE, face_jpeg, chat=group)
            api.send(first, api.text_message(ERIN, "/compare", chat=group, reply_to_message=first))
            await api.wait_for(lambda: api.texts(GROUP))
            assert api.texts(GROUP) == [texts.compare_send_second()]
            api.send(api.photo_message(ALICE, face_jpeg, chat=group))  # someone else's photo: not the second
            second = api.photo_message(ERIN, same_person_jpeg, chat=group)
            api.send(second)
            await api.wait_for(lambda: api.sent("sendPhoto", GROUP))
        assert verdict_line(api, GROUP).endswith(": likely the same person.")
        assert api.sent("sendPhoto", GROUP)[0].reply_to == second["message_id"]
        assert len(api.downloads) == 2

    asyncio.run(scenario())


def test_compare_alone_explains_itself(bot_service: LookalikeService) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.text_message(ALICE, "/compare"))
            await api.wait_for(lambda: api.texts(ALICE))
        assert api.texts(ALICE) == [texts.compare_how()]

    asyncio.run(scenario())


def test_a_photo_after_the_wait_ran_out_is_an_ordinary_request(bot_service: LookalikeService, face_jpeg: bytes,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare, "SECOND_PHOTO_WAIT_S", -1.0)  # every wait has run out

    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            first = api.photo_message(BOB, face_jpeg)
            api.send(first, api.text_message(BOB, "/compare", reply_to_message=first))
            await api.wait_for(lambda: api.texts(BOB))
            api.send(api.photo_message(BOB, face_jpeg))
            await api.wait_for(lambda: len(api.cards(BOB)) == 2)
        # Both photos got their look-alikes (the first as an ordinary photo in a private chat); nothing compared.
        assert sorted(api.received(BOB)) == sorted([texts.compare_send_second(), ONE_CARD, ONE_CARD])

    asyncio.run(scenario())
