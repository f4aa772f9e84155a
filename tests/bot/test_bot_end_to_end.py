"""The real bot, wired as run_bot.py wires it, against the fake Bot API server over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from fake_bot_api import TOKEN, FakeBotAPI
from harness import cards_for, problem_text, running_bot

from bot import texts
from bot.app import create_bot, create_dispatcher, create_webhook_app
from bot.config import Settings, WebhookSettings
from bot.service import LookalikeService
from pipeline.photo import PhotoProblem

ALICE, BOB, CAROL, DAVE, ERIN, FRANK = 101, 102, 103, 104, 105, 106
MB = 1024 * 1024
RUN_BOT = Path(__file__).resolve().parents[2] / "run_bot.py"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def test_start_and_help_explain_the_bot(bot_service: LookalikeService) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.text_message(ALICE, "/start"), api.text_message(BOB, "/help"))
            await api.wait_for(lambda: api.texts(ALICE) and api.texts(BOB))
            assert api.texts(ALICE) == [texts.WELCOME]
            assert api.texts(BOB) == [texts.HELP]
            assert "never stored" in texts.HELP

    asyncio.run(scenario())


def test_a_photo_gets_one_card_per_face(bot_service: LookalikeService, two_faces_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.photo_message(ALICE, two_faces_jpeg))
            await api.wait_for(lambda: cards_for(api, ALICE, 2))
            first, second = api.sent("sendPhoto", ALICE)
            assert first.fields["caption"].startswith("Face 1 of 2")
            assert second.fields["caption"].startswith("Face 2 of 2")
            assert first.fields["caption"].count("similarity") == 8
            assert first.upload("photo").startswith(b"\xff\xd8")  # a JPEG card, uploaded as multipart
            actions = [call.fields["action"] for call in api.sent("sendChatAction", ALICE)]
            assert actions and set(actions) == {"upload_photo"}
            assert api.calls.index(api.sent("sendChatAction")[0]) < api.calls.index(first)
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
            assert api.texts(CAROL) == [texts.ASK_FOR_PHOTO]
            assert api.sent("sendPhoto", ALICE)[0].fields["caption"].count("similarity") == 8

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
            assert api.texts(CAROL) == [texts.NO_FACE]
            assert "small in the photo" in api.sent("sendPhoto", DAVE)[0].fields["caption"]
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
            assert api.calls.index(help_answer) < api.calls.index(api.sent("sendPhoto")[0])

    asyncio.run(scenario())


def test_a_second_photo_during_the_first_gets_a_polite_wait(bot_service: LookalikeService,
                                                           face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service, cooldown_s=30.0) as api:
            api.send(api.photo_message(ALICE, face_jpeg), api.photo_message(ALICE, face_jpeg))
            await api.wait_for(lambda: cards_for(api, ALICE, 1) and api.texts(ALICE))
            assert api.texts(ALICE) == [texts.PLEASE_WAIT]
            api.send(api.photo_message(ALICE, face_jpeg))  # still cooling down
            await api.wait_for(lambda: len(api.texts(ALICE)) == 2)
            assert api.texts(ALICE) == [texts.PLEASE_WAIT] * 2
            assert len(api.sent("sendPhoto", ALICE)) == 1

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
            assert api.texts(BOB) == [texts.WELCOME]

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
            bot, dispatcher = create_bot(config), create_dispatcher(config, bot_service)
            app = create_webhook_app(config, bot, dispatcher)
            async with TestServer(app, host="127.0.0.1") as server, ClientSession() as client:
                assert api.sent("setWebhook")[0].fields["url"] == "https://bot.example.com/telegram/webhook"
                update = {"update_id": 1, "message": api.text_message(ALICE, "/start")}
                url = server.make_url(webhook.path)
                forged = await client.post(url, json=update, headers={SECRET_HEADER: "guess"})
                assert forged.status == 401
                genuine = await client.post(url, json=update, headers={SECRET_HEADER: "s3cret"})
                assert genuine.status == 200
                await api.wait_for(lambda: api.texts(ALICE))
                assert api.texts(ALICE) == [texts.WELCOME]

    asyncio.run(scenario())


def test_run_bot_py_serves_a_local_bot_api_server(small_index: Path, face_jpeg: bytes, tmp_path: Path) -> None:
    """The script itself: settings from the environment, polling BOT_API_BASE_URL, a clean stop on Ctrl-C."""

    async def scenario() -> tuple[bool, int | None, str]:
        async with FakeBotAPI() as api:
            environ = {**os.environ, "BOT_TOKEN": api.token, "BOT_API_BASE_URL": api.base_url,
                       "LOOKALIKE_INDEX_DIR": str(small_index)}
            process = await asyncio.create_subprocess_exec(sys.executable, str(RUN_BOT), cwd=tmp_path, env=environ,
                                                           stderr=asyncio.subprocess.PIPE)
            try:
                api.send(api.photo_message(ALICE, face_jpeg))
                await api.wait_for(lambda: cards_for(api, ALICE, 1) or process.returncode is not None,
                                   timeout_s=120)
                stopped_by_itself = process.returncode is not None
                if not stopped_by_itself:
                    process.send_signal(signal.SIGINT)
                _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
            finally:
                if process.returncode is None:
                    process.kill()
            return stopped_by_itself, process.returncode, stderr.decode()

    stopped_by_itself, returncode, log = asyncio.run(scenario())
    assert not stopped_by_itself, f"run_bot.py stopped by itself:\n{log}"
    assert returncode == 0, log
    assert "Models loaded and warmed up" in log
    assert TOKEN not in log
