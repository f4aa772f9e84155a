"""The real bot, wired as run_bot.py wires it, long-polling the fake Bot API server: shared by the bot tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Dispatcher
from fake_bot_api import FakeBotAPI

from bot import texts
from bot.app import create_bot, create_dispatcher, run_polling
from bot.config import Settings
from bot.service import LookalikeService
from pipeline.photo import PhotoProblem

IDLE_TIMEOUT_S = 30.0
# Cards as FakeBotAPI.received shows them.
ONE_CARD = "card: Your 8 closest CelebA look-alikes"
TWO_CARDS = ["card: Face 1 of 2: your 8 closest CelebA look-alikes",
             "card: Face 2 of 2: your 8 closest CelebA look-alikes"]


@asynccontextmanager
async def running_bot(service: LookalikeService, request_timeout_s: float | None = None,
                      **settings: Any) -> AsyncIterator[FakeBotAPI]:
    """The fake server, and the bot long-polling it until the block ends (no cool-down unless asked).

    Leaving the block normally first waits until the bot has finished every update it received (retries
    and apologies included), so that what the fake server recorded afterwards is final: a late duplicate
    cannot slip past a test's assertions. `request_timeout_s` replaces aiogram's 60 s request timeout.
    """
    async with FakeBotAPI() as api:
        config = Settings(bot_token=api.token, api_base_url=api.base_url, **{"cooldown_s": 0.0, **settings})
        bot, dispatcher = create_bot(config), create_dispatcher(config, service)
        if request_timeout_s is not None:
            bot.session.timeout = request_timeout_s
        polling = asyncio.create_task(run_polling(bot, dispatcher))
        try:
            yield api
            await wait_until_idle(dispatcher)
        finally:
            if not polling.done():
                await dispatcher.stop_polling()
            await asyncio.wait_for(polling, timeout=10)


async def wait_until_idle(dispatcher: Dispatcher, timeout_s: float = IDLE_TIMEOUT_S) -> None:
    """Wait until no update is being handled (aiogram keeps the handler tasks of long polling in a set)."""
    in_flight: set[asyncio.Task[Any]] = dispatcher._handle_update_tasks  # aiogram 3 keeps no public handle
    deadline = time.monotonic() + timeout_s
    while in_flight:
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot was still handling {len(in_flight)} update(s) after {timeout_s} s")
        await asyncio.sleep(0.02)


def cards_for(api: FakeBotAPI, chat_id: int, count: int) -> bool:
    return len(api.sent("sendPhoto", chat_id)) >= count


def problem_text(problem: PhotoProblem) -> str:
    return texts.photo_problem(problem, Settings(bot_token="t").max_file_bytes)
