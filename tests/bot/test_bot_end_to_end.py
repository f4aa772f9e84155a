"""The real bot, wired as run_bot.py wires it, against the fake Bot API server over real HTTP."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from fake_bot_api import TOKEN, FakeBotAPI
from harness import BotProcess, bot_process, cards_for, problem_text, running_bot
from PIL import Image

from bot import texts
from bot.app import create_bot, create_webhook_app, embedded_dispatcher
from bot.config import Settings, WebhookSettings
from bot.service import LookalikeService
from pipeline.photo import PhotoProblem
from reply.card import OVERVIEW_SIDE

ALICE, BOB, CAROL, DAVE, ERIN, FRANK = 101, 102, 103, 104, 105, 106
MB = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def test_start_and_help_explain_the_bot(bot_service: LookalikeService) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.text_message(ALICE, "/start"), api.text_message(BOB, "/help"))
            await api.wait_for(lambda: api.texts(ALICE) and api.texts(BOB))
            assert api.texts(ALICE) == api.texts(BOB) == [texts.welcome()]
            assert "never stored" in texts.welcome()

    asyncio.run(scenario())


def test_a_group_photo_gets_its_numbered_overview_then_one_card_per_face_as_one_album(
        bot_service: LookalikeService, two_faces_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            photo = api.photo_message(ALICE, two_faces_jpeg)
            api.send(photo)
            await api.wait_for(lambda: cards_for(api, ALICE, 3))
            (album,) = api.sent("sendMediaGroup", ALICE)
            overview, first, second = album.captions()
            assert overview == "I found 2 faces."
            assert first.startswith("Face 1 of 2")
            assert second.startswith("Face 2 of 2")
            assert first.count("similarity") == 8
            assert all(card.startswith(b"\xff\xd8") for card in album.photos())  # JPEG cards, as multipart
            overview_image = Image.open(io.BytesIO(album.photos()[0]))
            assert max(overview_image.size) == OVERVIEW_SIDE  # the photo scaled for a phone, faces numbered
            assert album.reply_to == photo["message_id"]
            actions = [call.fields["action"] for call in api.sent("sendChatAction", ALICE)]
            assert actions and set(actions) == {"upload_photo"}
            assert api.calls.index(api.sent("sendChatAction")[0]) < api.calls.index(album)
            assert len(api.downloads) == 1

    asyncio.run(scenario())


def test_top8_as_caption_as_reply_and_alone(bot_service: LookalikeService, face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            photo_with_command = api.photo_message(ALICE, face_jpeg, caption="/top8")
            earlier_photo = api.photo_message(BOB, face_jpeg)
            reply_to_photo = api.text_message(BOB, "/top8", reply_to_message=earlier_photo)
            api.send(photo_with_command, reply_to_photo, api.text_message(CAROL, "/top8"))
            await api.wait_for(lambda: cards_for(api, ALICE, 1) and cards_for(api, BOB, 1)
                               and api.texts(CAROL))
            assert api.texts(CAROL) == [texts.ask_for_photo()]
            assert api.cards(ALICE)[0].count("similarity") == 8
            assert api.sent("sendPhoto", BOB)[0].reply_to == earlier_photo["message_id"]

    asyncio.run(scenario())


def test_bad_input_gets_a_clear_answer(bot_service: LookalikeService, corrupt_jpeg: bytes,
                                       no_face_jpeg: bytes, tiny_face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(
                api.document_message(ALICE, b"shopping list: eggs", "list.txt", "text/plain"),
                api.document_message(BOB, corrupt_jpeg, "broken.jpg", "image/jpeg"),
                api.photo_message(CAROL, no_face_jpeg),
                api.photo_message(DAVE, tiny_face_jpeg),
                api.document_message(ERIN, b"\xff\xd8 large", "huge.jpg", "image/jpeg", file_size=30 * MB),
                api.document_message(FRANK, b"%PDF-1.7 a letter", "letter.jpg", "image/jpeg"),
            )
            await api.wait_for(lambda: all(api.texts(user) for user in (ALICE, BOB, CAROL, ERIN, FRANK))
                               and cards_for(api, DAVE, 1))
            assert api.texts(ALICE) == [problem_text(PhotoProblem.NOT_AN_IMAGE)]
            assert api.texts(BOB) == [problem_text(PhotoProblem.CORRUPT)]
            assert api.texts(CAROL) == [texts.no_face()]
            assert "small in the photo" in api.cards(DAVE)[0]
            assert api.texts(ERIN) == [problem_text(PhotoProblem.TOO_LARGE_FILE)]
            assert api.texts(FRANK) == [problem_text(PhotoProblem.NOT_AN_IMAGE)]
            assert len(api.downloads) == 4  # neither the text file nor the oversized file was downloaded

    asyncio.run(scenario())


def test_two_users_at_once_while_others_are_answered_at_once(bot_service: LookalikeService,
                                                             face_jpeg: bytes, two_faces_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.photo_message(ALICE, two_faces_jpeg), api.photo_message(BOB, face_jpeg),
                     api.text_message(CAROL, "/help"))
            await api.wait_for(lambda: cards_for(api, ALICE, 2) and cards_for(api, BOB, 1))
            help_answer = api.sent("sendMessage", CAROL)[0]
            first_card = next(call for call in api.calls if call.captions())
            assert api.calls.index(help_answer) < api.calls.index(first_card)

    asyncio.run(scenario())


def test_survives_flood_control_and_a_server_error(bot_service: LookalikeService, face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.fail_next("sendPhoto", 429, retry_after=1)
            api.fail_next("sendMessage", 500)
            api.send(api.photo_message(ALICE, face_jpeg), api.text_message(BOB, "/start"))
            await api.wait_for(lambda: cards_for(api, ALICE, 1) and api.texts(BOB))
            assert sorted(api.failed) == [("sendMessage", 500), ("sendPhoto", 429)]
            assert len(api.sent("sendPhoto", ALICE)) == 1
            assert api.texts(BOB) == [texts.welcome()]

    asyncio.run(scenario())


def test_logs_carry_no_token_file_path_or_image_data(bot_service: LookalikeService, face_jpeg: bytes,
                                                     corrupt_jpeg: bytes, caplog: pytest.LogCaptureFixture
                                                     ) -> None:
    async def scenario() -> FakeBotAPI:
        async with running_bot(bot_service) as api:
            api.fail_next("sendPhoto", 500)
            api.send(api.photo_message(ALICE, face_jpeg), api.photo_message(BOB, corrupt_jpeg))
            await api.wait_for(lambda: cards_for(api, ALICE, 1) and api.texts(BOB))
            return api

    with caplog.at_level(logging.DEBUG):
        api = asyncio.run(scenario())
    assert caplog.records
    assert api.token not in caplog.text
    assert not any(path in caplog.text for path in api.downloads)
    assert all(len(record.getMessage()) < 500 for record in caplog.records)


def test_webhook_mode_receives_updates_over_http(bot_service: LookalikeService) -> None:
    async def scenario() -> None:
        async with FakeBotAPI() as api:
            webhook = WebhookSettings(base_url="https://bot.example.com", secret="s3cret")
            config = Settings(bot_token=api.token, api_base_url=api.base_url, webhook=webhook)
            bot = create_bot(config)
            app = create_webhook_app(config, bot, embedded_dispatcher(config, bot, bot_service), in_background=True)
            async with TestServer(app, host="127.0.0.1") as server, ClientSession() as client:
                assert api.sent("setWebhook")[0].fields["url"] == "https://bot.example.com/telegram/webhook"
                update = {"update_id": 1, "message": api.text_message(ALICE, "/start")}
                url = server.make_url(webhook.path)
                forged = await client.post(url, json=update, headers={SECRET_HEADER: "guess"})
                assert forged.status == 401
                genuine = await client.post(url, json=update, headers={SECRET_HEADER: "s3cret"})
                assert genuine.status == 200
                await api.wait_for(lambda: api.texts(ALICE))
                assert api.texts(ALICE) == [texts.welcome()]

    asyncio.run(scenario())


def test_run_bot_py_serves_a_local_bot_api_server(small_index: Path, face_jpeg: bytes, tmp_path: Path) -> None:
    """The script itself: settings from the environment, polling BOT_API_BASE_URL, a clean stop on Ctrl-C."""

    async def scenario() -> BotProcess:
        async with FakeBotAPI() as api, bot_process(api, small_index, tmp_path) as bot:
            api.send(api.photo_message(ALICE, face_jpeg))
            await api.wait_for(lambda: cards_for(api, ALICE, 1) or bot.returncode is not None, timeout_s=120)
        return bot

    bot = asyncio.run(scenario())
    assert not bot.stopped_by_itself, f"run_bot.py stopped by itself:\n{bot.log}"
    assert bot.returncode == 0, bot.log
    assert "Models loaded and warmed up" in bot.log
    assert TOKEN not in bot.log
