"""Fault matrix: the fake Bot API server fails once, mid-conversation, and every user still gets exactly one
answer per request: nothing lost, nothing twice, no apology for a fault the bot recovered from.

The delivery rule under test is bot/retry.py's: a request Telegram did not carry out (429, 5xx, a connection
closed mid-upload) is sent again; a message whose answer was lost after it arrived (too slow, unreadable) is
not, since the fake server (like Telegram) has delivered it; a read-only request (getFile, getUpdates, a
download) is always repeated.
"""

from __future__ import annotations

import asyncio

import pytest
from fake_bot_api import DOWNLOAD, Fault, FaultKind
from harness import ONE_CARD, TWO_CARDS, cards_for, running_bot

from bot import texts
from bot.service import LookalikeService

ALICE, BOB, CAROL, DAVE = 201, 202, 203, 204
REQUEST_TIMEOUT_S = 1.0  # the bot's request timeout in these tests (aiogram's default is 60 s)
SLOW_S = REQUEST_TIMEOUT_S + 1.0  # a slow answer comes this late: after the bot gave up waiting

FAULTS = [
    # Telegram says the request was not carried out: sent again.
    pytest.param("sendPhoto", Fault.error(429, retry_after=1), id="429-flood-control-sendPhoto"),
    pytest.param("sendPhoto", Fault.error(500), id="500-sendPhoto"),
    pytest.param("sendPhoto", Fault.bad_gateway(), id="502-html-page-sendPhoto"),
    pytest.param("sendMediaGroup", Fault.error(429, retry_after=1), id="429-flood-control-sendMediaGroup"),
    pytest.param("sendMessage", Fault.bad_gateway(), id="502-html-page-sendMessage"),
    pytest.param("getUpdates", Fault.bad_gateway(), id="502-html-page-getUpdates"),
    # The request did not get through: sent again.
    pytest.param("sendPhoto", Fault.disconnect(), id="connection-closed-mid-upload"),
    # A message that reached the server but whose answer was lost: delivered once, not sent again.
    pytest.param("sendPhoto", Fault.slow(SLOW_S), id="slow-sendPhoto-delivered-once"),
    pytest.param("sendMediaGroup", Fault.slow(SLOW_S), id="slow-sendMediaGroup-delivered-once"),
    pytest.param("sendMessage", Fault.slow(SLOW_S), id="slow-sendMessage-delivered-once"),
    pytest.param("sendPhoto", Fault.malformed(), id="malformed-json-sendPhoto-delivered-once"),
    pytest.param("sendMessage", Fault.malformed(), id="malformed-json-sendMessage-delivered-once"),
    # Read-only requests: repeated whatever went wrong.
    pytest.param("getFile", Fault.slow(SLOW_S), id="slow-getFile"),
    pytest.param("getFile", Fault.malformed(), id="malformed-json-getFile"),
    pytest.param("getUpdates", Fault.malformed(), id="malformed-json-getUpdates-with-the-updates"),
    pytest.param(DOWNLOAD, Fault.bad_gateway(), id="502-download"),
    pytest.param(DOWNLOAD, Fault.disconnect(), id="connection-closed-mid-download"),
    pytest.param(DOWNLOAD, Fault.slow(SLOW_S), id="slow-download"),
]


@pytest.mark.parametrize(("target", "fault"), FAULTS)
def test_one_fault_mid_conversation_every_user_gets_exactly_one_answer(
        target: str, fault: Fault, bot_service: LookalikeService, face_jpeg: bytes, two_faces_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service, request_timeout_s=REQUEST_TIMEOUT_S) as api:
            api.send(api.photo_message(ALICE, face_jpeg))  # the conversation is under way...
            await api.wait_for(lambda: cards_for(api, ALICE, 1), timeout_s=30)
            api.inject(target, fault)  # ...when the next `target` call fails once
            api.send(api.text_message(BOB, "/start"), api.photo_message(CAROL, two_faces_jpeg),
                     api.document_message(DAVE, face_jpeg, "me.jpg", "image/jpeg"))
            await api.wait_for(lambda: api.injected and api.texts(BOB) and cards_for(api, CAROL, 3)
                               and cards_for(api, DAVE, 1), timeout_s=30)
        # The bot has finished every update: what the server recorded is all the users will ever see.
        assert api.injected == [(target, fault.kind)]
        assert api.received(ALICE) == [ONE_CARD]
        assert api.received(BOB) == [texts.welcome()]
        assert api.received(CAROL) == TWO_CARDS
        assert api.received(DAVE) == [ONE_CARD]
        assert len(api.downloads) == 3 + (fault.kind is FaultKind.SLOW and target == DOWNLOAD)

    asyncio.run(scenario())


def test_a_message_that_timed_out_was_delivered_and_not_sent_again(bot_service: LookalikeService,
                                                                   two_faces_jpeg: bytes) -> None:
    """The decision for a lost answer, spelt out: the album's request times out after the server has
    delivered it; the user gets its two cards once, and no apology."""

    async def scenario() -> None:
        async with running_bot(bot_service, request_timeout_s=REQUEST_TIMEOUT_S) as api:
            api.inject("sendMediaGroup", Fault.slow(SLOW_S))
            api.send(api.photo_message(CAROL, two_faces_jpeg))
            await api.wait_for(lambda: cards_for(api, CAROL, 3), timeout_s=30)
        (album,) = api.sent("sendMediaGroup", CAROL)
        _, first, second = album.photos()  # the overview, then the cards
        assert api.injected == [("sendMediaGroup", FaultKind.SLOW)]
        assert api.received(CAROL) == TWO_CARDS
        assert first != second  # two different faces, not one card twice

    asyncio.run(scenario())


def test_a_download_that_keeps_failing_gets_one_send_it_again(bot_service: LookalikeService,
                                                              face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            for _ in range(4):  # every attempt the bot makes
                api.inject(DOWNLOAD, Fault.bad_gateway())
            api.send(api.photo_message(ALICE, face_jpeg), api.text_message(BOB, "/help"))
            await api.wait_for(lambda: api.texts(ALICE) and api.texts(BOB), timeout_s=30)
        assert api.injected == [(DOWNLOAD, FaultKind.GATEWAY)] * 4
        assert api.received(ALICE) == [texts.download_failed()]
        assert api.received(BOB) == [texts.welcome()]

    asyncio.run(scenario())
