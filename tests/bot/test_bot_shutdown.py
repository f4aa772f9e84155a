"""Stopping the embedded bot (run_bot.py, as deployed): on SIGTERM it takes no more updates and answers every photo
it had accepted, queued ones included, before it exits."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from fake_bot_api import FakeBotAPI
from harness import BotProcess, bot_process

USERS = (801, 802, 803)


def replies_to(api: FakeBotAPI, chat_id: int) -> list[int | None]:
    return [call.reply_to for call in api.calls if call.chat_id_or_none == chat_id
            and call.method in ("sendPhoto", "sendMediaGroup", "sendMessage")]


def test_sigterm_with_photos_queued_answers_them_all_before_exiting(small_index: Path, face_jpeg: bytes,
                                                                     two_faces_jpeg: bytes, tmp_path: Path) -> None:
    async def scenario() -> tuple[FakeBotAPI, BotProcess, dict[int, list[int]]]:
        async with FakeBotAPI() as api, bot_process(api, small_index, tmp_path, {"WORKERS": "1"}) as bot:
            sent = {user: [api.photo_message(user, photo) for photo in (two_faces_jpeg, face_jpeg, two_faces_jpeg)]
                    for user in USERS}
            for messages in sent.values():
                api.send(*messages)  # nine photos, three waiting behind each other per user
            await api.wait_for(lambda: any(api.cards(user) for user in USERS) or bot.returncode is not None, 120)
            bot.process.send_signal(signal.SIGTERM)  # at the first card, as a deployment's restart would
            await asyncio.wait_for(bot.process.wait(), 60)
        return api, bot, {user: [message["message_id"] for message in messages] for user, messages in sent.items()}

    api, bot, sent = asyncio.run(scenario())
    assert bot.returncode == 0, bot.log
    assert "Stopping: waiting for" in bot.log
    for user in USERS:
        assert replies_to(api, user) == sent[user]  # every photo answered, in order, once
