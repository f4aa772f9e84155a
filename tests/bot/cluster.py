"""The distributed bot as it is deployed, for tests and benchmarks: front-ends (`run_bot.py --webhook`) and workers
(`run_bot.py --worker`), each its own process, against the fake Bot API server (which posts each update to the
front-ends in turn, as a proxy in front of them would, and again after a failure, as Telegram does) and a real
redis-server. Every process logs to its own file in `folder`. The load test (benchmarks/bot_driver.py) runs it too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import ClientError, ClientSession

from pipeline.settings import INDEX_DIR_ENV
from tests.redis_server import free_port

if TYPE_CHECKING:  # the tests import the fake server as `fake_bot_api`, the benchmarks as `tests.bot.fake_bot_api`
    from tests.bot.fake_bot_api import FakeBotAPI

RUN_BOT = Path(__file__).resolve().parents[2] / "run_bot.py"
SECRET = "cluster-secret"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


@dataclass
class BotProcess:
    """One run_bot.py process and its log file."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    url: str | None = None  # a front-end's webhook address

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, number: signal.Signals) -> None:
        if self.process.returncode is None:
            self.process.send_signal(number)

    async def wait(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout_s)


@dataclass
class Cluster:
    """Front-ends and workers of one bot, started and stopped by the test."""

    api: FakeBotAPI
    redis_url: str
    index_dir: Path
    folder: Path
    environ: Mapping[str, str] = field(default_factory=dict)
    processes: list[BotProcess] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "BOT_TOKEN": self.api.token, "BOT_API_BASE_URL": self.api.base_url,
                "REDIS_URL": self.redis_url, INDEX_DIR_ENV: str(self.index_dir), "WORKERS": "1",
                "WEBHOOK_BASE_URL": "https://bot.example.com", "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1",
                "JOB_LEASE_SECONDS": "3", "LOG_LEVEL": "INFO", **self.environ, **extra}

    async def spawn(self, name: str, *arguments: str, **extra: str) -> BotProcess:
        log_path = self.folder / f"{name}.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(sys.executable, str(RUN_BOT), *arguments,
                                                           env=self.env(**extra), stdout=log, stderr=log)
        started = BotProcess(name, process, log_path)
        self.processes.append(started)
        return started

    async def front_end(self, name: str) -> BotProcess:
        """A webhook front-end, once it answers HTTP."""
        port = free_port()
        started = await self.spawn(name, "--webhook", WEBHOOK_PORT=str(port))
        started.url = f"http://127.0.0.1:{port}/telegram/webhook"
        async with ClientSession() as client:
            await self.until(started, lambda: answers(client, started.url or ""))
        return started

    async def worker(self, name: str) -> BotProcess:
        """A worker, once its models are loaded and it takes jobs (it says so at log level INFO)."""
        started = await self.spawn(name, "--worker", LOG_LEVEL="INFO")
        await self.until(started, lambda: ready(started))
        return started

    async def until(self, process: BotProcess, condition) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not await condition():
            if process.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"{process.name} did not start:\n{process.log()[-3000:]}")
            await asyncio.sleep(0.2)

    async def start(self, front_ends: int, workers: int) -> None:
        """Front-ends and workers started at once; updates then go to the front-ends in turn."""
        started = await asyncio.gather(*(self.front_end(f"front-end-{n}") for n in range(1, front_ends + 1)),
                                       *(self.worker(f"worker-{n}") for n in range(1, workers + 1)))
        self.api.push_to([process.url for process in started if process.url], SECRET)

    async def stop(self) -> None:
        for process in self.processes:
            process.signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await process.wait()
            except TimeoutError:
                process.signal(signal.SIGKILL)
                await process.wait()


async def answers(client: ClientSession, url: str) -> bool:
    try:
        async with client.get(url) as response:  # the webhook takes POST only: any answer will do
            return response.status > 0
    except ClientError:
        return False


async def ready(process: BotProcess) -> bool:
    return "Worker ready" in process.log()
