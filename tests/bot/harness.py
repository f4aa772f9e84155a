"""The real bot, wired as run_bot.py wires it, long-polling the fake Bot API server: shared by the bot tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from fake_bot_api import FakeBotAPI

from bot import texts
from bot.app import create_bot, embedded_dispatcher, in_flight, run_polling
from bot.config import Settings
from bot.service import LookalikeService
from pipeline.photo import PhotoProblem
from pipeline.settings import INDEX_DIR_ENV

IDLE_TIMEOUT_S = 30.0
RUN_BOT = Path(__file__).resolve().parents[2] / "run_bot.py"
# Cards as FakeBotAPI.received shows them; a photo of several faces gets its numbered overview first (its
# caption: what was found), in the same album.
ONE_CARD = "card: Your 8 closest CelebA look-alikes"
TWO_CARDS = ["card: I found 2 faces.",
             "card: Face 1 of 2: your 8 closest CelebA look-alikes",
             "card: Face 2 of 2: your 8 closest CelebA look-alikes"]


@asynccontextmanager
async def running_bot(service: LookalikeService, request_timeout_s: float | None = None,
                      **settings: Any) -> AsyncIterator[FakeBotAPI]:
    """The fake server, and the bot long-polling it until the block ends (albums collected for 0.2 s unless
    asked: the fake server hands an album's updates over in one getUpdates answer).

    Leaving the block normally first waits until the bot has finished every update it received (retries
    and apologies included), so that what the fake server recorded afterwards is final: a late duplicate
    cannot slip past a test's assertions. `request_timeout_s` replaces aiogram's 60 s request timeout.
    """
    async with FakeBotAPI() as api:
        config = Settings(bot_token=api.token, api_base_url=api.base_url, **{"album_wait_s": 0.2, **settings})
        bot = create_bot(config)
        dispatcher = embedded_dispatcher(config, bot, service)
        if request_timeout_s is not None:
            bot.session.timeout = request_timeout_s
        polling = asyncio.create_task(run_polling(bot, dispatcher, config.serving.shutdown_timeout_s))
        try:
            yield api
            await wait_until_idle(dispatcher)
        finally:
            if not polling.done():
                await dispatcher.stop_polling()
            await asyncio.wait_for(polling, timeout=10)


async def wait_until_idle(dispatcher: Dispatcher, timeout_s: float = IDLE_TIMEOUT_S) -> None:
    """Wait until no update is being handled."""
    tasks = in_flight(dispatcher).tasks
    deadline = time.monotonic() + timeout_s
    while tasks:
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot was still handling {len(tasks)} update(s) after {timeout_s} s")
        await asyncio.sleep(0.02)


def cards_for(api: FakeBotAPI, chat_id: int, count: int) -> bool:
    """Whether the chat has received at least `count` cards (alone or in albums)."""
    return len(api.cards(chat_id)) >= count


def problem_text(problem: PhotoProblem) -> str:
    return texts.photo_problem(problem, Settings(bot_token="t").max_file_bytes)


@dataclass
class BotProcess:
    """run_bot.py in its own process; `returncode` and `log` (its stderr) are set once it has stopped."""

    process: asyncio.subprocess.Process
    stopped_by_itself: bool = False
    log: str = ""

    @property
    def returncode(self) -> int | None:
        return self.process.returncode


@asynccontextmanager
async def bot_process(api: FakeBotAPI, index_dir: Path, cwd: Path,
                      environ: Mapping[str, str] | None = None) -> AsyncIterator[BotProcess]:
    """`python run_bot.py` polling the fake server (settings from the environment: `environ` over this
    process's), stopped with Ctrl-C (SIGINT) when the block ends."""
    env = {**os.environ, "BOT_TOKEN": api.token, "BOT_API_BASE_URL": api.base_url,
           INDEX_DIR_ENV: str(index_dir), **(environ or {})}
    process = await asyncio.create_subprocess_exec(sys.executable, str(RUN_BOT), cwd=cwd, env=env,
                                                   stderr=asyncio.subprocess.PIPE)
    bot = BotProcess(process)
    try:
        yield bot
        bot.stopped_by_itself = process.returncode is not None
        if not bot.stopped_by_itself:
            process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        bot.log = stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
