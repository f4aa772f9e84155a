"""The review's findings of issue 20, each played through the real bot against the fake Bot API: an album photo
that fails costs only its own answer, a flood is told "busy" instead of being held in memory, a file is measured
while it streams (not by what the message says), and senders on behalf of a chat wait per chat."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiogram.types import Message
from harness import ONE_CARD, cards_for, problem_text, running_bot

from bot import texts
from bot.config import ServingSettings
from bot.requests import sender_of
from bot.service import LookalikeService
from pipeline.photo import PhotoProblem
from reply.card import CardText
from reply.replier import Reply
from serving.inference import ComparedFaces, GalleryScales
from serving.pool import InferencePool

ALICE, BOB, CAROL = 901, 902, 903
ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot: the sender of every anonymous admin's message


class FailingOn:
    """A pool that fails (an unexpected error) on one photo and passes the others to `pool`."""

    def __init__(self, pool: InferencePool, photo: bytes) -> None:
        self.pool, self.photo = pool, photo

    @property
    def scales(self) -> GalleryScales:
        return self.pool.scales

    async def reply(self, photo: bytes, text: CardText) -> Reply:
        if photo == self.photo:
            raise RuntimeError("a bug of ours")
        return await self.pool.reply(photo, text)

    async def compare(self, photos: Sequence[bytes]) -> ComparedFaces:
        return await self.pool.compare(photos)

    def close(self) -> None:
        """The wrapped pool is the session's."""


def replies(api, chat_id: int) -> list[tuple[int | None, str]]:
    return [(call.reply_to, shown) for call in api.calls if call.chat_id_or_none == chat_id for shown in call.shown()]


def test_an_album_photo_that_fails_costs_only_its_own_answer(bot_service: LookalikeService, face_jpeg: bytes,
                                                              other_face_jpeg: bytes, tiny_face_jpeg: bytes) -> None:
    service = LookalikeService(FailingOn(bot_service.pool, other_face_jpeg))

    async def scenario() -> None:
        async with running_bot(service) as api:
            album = api.album(*(api.photo_message(ALICE, photo) for photo in (face_jpeg, other_face_jpeg,
                                                                               tiny_face_jpeg)))
            api.send(*album)
            await api.wait_for(lambda: len(replies(api, ALICE)) == 3)
        first, failing, last = (message["message_id"] for message in album)
        assert replies(api, ALICE) == [(first, ONE_CARD), (failing, texts.something_went_wrong()), (last, ONE_CARD)]

    asyncio.run(scenario())


def test_past_the_admission_limit_photos_are_refused_with_busy(bot_service: LookalikeService, face_jpeg: bytes,
                                                               two_faces_jpeg: bytes) -> None:
    """One photo may be in at a time: of three users' photos sent at once, the first is answered, the others hear
    "busy, send it again in a minute"; once it is answered there is room again."""
    users = (ALICE, BOB, CAROL)

    async def scenario() -> None:
        async with running_bot(bot_service, serving=ServingSettings(max_photos=1)) as api:
            api.send(*(api.photo_message(user, two_faces_jpeg) for user in users))
            await api.wait_for(lambda: all(api.received(user) for user in users))
            answers = [api.received(user) for user in users]
            assert sorted(len(answer) for answer in answers) == [1, 1, 3]  # one album of cards, two texts
            assert sum(answer == [texts.busy()] for answer in answers) == 2
            busy = next(user for user, answer in zip(users, answers, strict=True) if answer == [texts.busy()])
            api.send(api.photo_message(busy, face_jpeg))  # sent again: there is room now
            await api.wait_for(lambda: cards_for(api, busy, 1))
            assert api.received(busy) == [texts.busy(), ONE_CARD]

    asyncio.run(scenario())


def test_a_file_larger_than_it_says_is_refused_while_streaming(bot_service: LookalikeService,
                                                               face_jpeg: bytes) -> None:
    limit = len(face_jpeg) // 2

    async def scenario() -> None:
        async with running_bot(bot_service, max_file_bytes=limit) as api:
            api.send(api.document_message(ALICE, face_jpeg, "me.jpg", "image/jpeg", file_size=limit // 10),
                     api.document_message(BOB, face_jpeg[:limit], "small.jpg", "image/jpeg"))
            await api.wait_for(lambda: api.received(ALICE) and api.received(BOB))
        too_large = texts.photo_problem(PhotoProblem.TOO_LARGE_FILE, limit)
        # The message claimed a tenth of the limit; read whole, it is a good photo the workers (20 MB) would answer.
        assert api.received(ALICE) == [too_large]
        assert api.received(BOB) == [problem_text(PhotoProblem.CORRUPT)]  # within the limit: downloaded and read

    asyncio.run(scenario())


@pytest.mark.parametrize(("sender_chat", "expected"), [
    pytest.param({"id": -1001, "type": "supergroup", "title": "G"}, -1001, id="anonymous-admin"),
    pytest.param({"id": -1002, "type": "channel", "title": "C"}, -1002, id="channel-post-in-discussion"),
    pytest.param(None, ALICE, id="a-user"),
])
def test_messages_on_behalf_of_a_chat_wait_per_chat(sender_chat: dict | None, expected: int) -> None:
    user = {"id": ANONYMOUS_ADMIN if sender_chat else ALICE, "is_bot": sender_chat is not None, "first_name": "x"}
    data = {"message_id": 1, "date": 0, "chat": {"id": -1001, "type": "supergroup", "title": "G"}, "from": user}
    if sender_chat is not None:
        data["sender_chat"] = sender_chat
    assert sender_of(Message.model_validate(data)) == expected
