"""The real bot in its own process (run_bot.py, as it is deployed) against the test suite's fake Bot API
server on 127.0.0.1, and simulated users who send it photos: shared by load_test.py and bot_memory.py.

Either each user sends a photo, waits for the last card of the reply (or a text reply, or a timeout) and
sends the next 0.1 s later (the bot saturated); or photos arrive at a given rate (Poisson), each from a
random user who has none in flight. Bounded in count and time. (The 0.1 s stands for a person's pause; a
photo sent sooner would simply wait in the user's queue behind the previous one.) Cards arrive alone
(sendPhoto, one face) or as albums (sendMediaGroup, several faces). Latency is the time from the update being
queued on the fake server to the last card arriving there (the server's 20-ms getUpdates poll and this side's
5-ms check of what arrived are included). All traffic stays on loopback.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bot import texts
from pipeline import settings
from tests.bot.fake_bot_api import FakeBotAPI  # the test suite's fake Bot API server, imported as a module

from .common import MB, REPO, BenchPhoto, percentiles

POLL_S = 0.005
MIN_PAUSE_S = 0.1  # between a reply and the same user's next photo
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0
CAPTION = re.compile(r"Face (\d+) of (\d+)")
OVERVIEW = re.compile(r"I found \d+ faces")  # the numbered overview that comes before a group photo's cards
QUEUE_FULL = re.compile(r"You already have \d+ photos? waiting")
CARD_METHODS = ("sendPhoto", "sendMediaGroup")


@dataclass
class Request:
    """One photo sent by one user, and what came back."""

    user: int
    photo: str
    faces: int
    sent_at: float
    done_at: float | None = None
    cards: int = 0
    error: str | None = None  # None: every card arrived
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def finish(self, error: str | None = None) -> None:
        self.done_at, self.error = time.monotonic(), error
        self.done.set()

    @property
    def seconds(self) -> float:
        assert self.done_at is not None
        return self.done_at - self.sent_at


class ReplyTracker:
    """Matches what the bot sends to each user's request in flight. It reads the calls the fake server
    records and then drops them (they hold every card's JPEG), so that this process stays small too."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.pending: dict[int, Request] = {}

    def expect(self, request: Request) -> None:
        self.pending[request.user] = request

    def read_calls(self) -> None:
        calls = self.api.calls[:]
        del self.api.calls[:len(calls)]
        for call in calls:
            if call.method not in (*CARD_METHODS, "sendMessage"):
                continue
            request = self.pending.get(call.chat_id)
            if request is None:  # a late reply to a request that timed out
                continue
            if call.method == "sendMessage":
                self.close(request, text_error(call.fields.get("text", "")))
                continue
            for caption in call.captions():
                if OVERVIEW.match(caption):
                    continue
                request.cards += 1
                numbered = CAPTION.match(caption)
                if numbered is None or numbered.group(1) == numbered.group(2):  # one face, or the last card
                    self.close(request, None)
                    break

    def close(self, request: Request, error: str | None) -> None:
        """The request is answered (`error` None: with every card)."""
        request.finish(error)
        del self.pending[request.user]

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.read_calls()
            await asyncio.sleep(POLL_S)


def text_error(text: str) -> str:
    """What a text reply instead of cards means, in short."""
    if text == texts.no_face():
        return "no face found"
    if QUEUE_FULL.match(text):
        return "queue full"
    return f"text: {text[:40]}"


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class BotProcess:
    """`python run_bot.py` with its settings pointed at the fake server; its memory and CPU while it runs."""

    def __init__(self, api: FakeBotAPI, index_dir: Path, workers: int, log_path: Path) -> None:
        self.api, self.index_dir, self.workers, self.log_path = api, index_dir, workers, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.start_s = 0.0

    async def __aenter__(self) -> BotProcess:
        env = {**os.environ, "BOT_TOKEN": self.api.token, "BOT_API_BASE_URL": self.api.base_url,
               settings.INDEX_DIR_ENV: str(self.index_dir.resolve()), "WORKERS": str(self.workers),
               "LOG_LEVEL": "WARNING"}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "run_bot.py"], cwd=REPO, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        started = time.monotonic()
        while not any(call.method == "getUpdates" for call in self.api.calls):
            if self.process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                await self.stop()
                raise RuntimeError(f"the bot did not start; its log ({self.log_path}):\n{self.log_tail()}")
            await asyncio.sleep(0.1)
        self.start_s = time.monotonic() - started
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # aiogram stops polling cleanly on SIGINT
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def info(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)

    def rss_mb(self) -> float:
        return self.info.memory_info().rss / MB

    def cpu_s(self) -> float:
        return cpu_seconds(self.info)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True)
class Workload:
    users: int
    photos_per_user: int
    rate: float = 0.0  # photos per second offered by all users together (Poisson); 0: each as fast as replies come
    timeout_s: float = 60.0  # for one reply
    time_limit_s: float = 900.0  # for the whole run: no user starts a photo after it
    first_user: int = 1000


@dataclass
class MemorySample:
    at_s: float
    photos_done: int
    rss_mb: float


@dataclass
class RunResult:
    workload: Workload
    requests: list[Request]
    elapsed_s: float
    cpu_s: float  # the bot's
    driver_cpu_s: float  # this process's: the fake server and the simulated users
    memory: list[MemorySample]

    def summary(self) -> dict[str, Any]:
        done = [r for r in self.requests if r.done_at is not None]
        answered = [r for r in done if r.error is None]
        errors = Counter(r.error or "timeout" for r in self.requests if r.error is not None or r.done_at is None)
        seconds = percentiles([r.seconds for r in answered])
        steady = steady_rate([r.done_at for r in answered])
        return {
            "users": self.workload.users, "photos": len(self.requests), "answered": len(answered),
            "errors": sum(errors.values()), "error_kinds": dict(errors),
            "cards": sum(r.cards for r in self.requests), "elapsed_s": self.elapsed_s,
            "photos_per_s": steady, "photos_per_s_overall": len(answered) / self.elapsed_s if self.elapsed_s else 0.0,
            "latency_s": {**seconds, "max": max((r.seconds for r in answered), default=float("nan"))},
            "bot_cpu_cores": self.cpu_s / self.elapsed_s if self.elapsed_s else 0.0,
            "driver_cpu_cores": self.driver_cpu_s / self.elapsed_s if self.elapsed_s else 0.0,
            "rss_mb_start": self.memory[0].rss_mb, "rss_mb_end": self.memory[-1].rss_mb,
            "rss_mb_peak": max(sample.rss_mb for sample in self.memory),
        }


def steady_rate(done_at: list[float], low: float = 0.1, high: float = 0.9) -> float:
    """Replies per second between the `low` and `high` quantiles of their times: the rate in full swing,
    without the start (the first replies not back yet) and the end (the last users finishing alone)."""
    if len(done_at) < 10:
        return float("nan")
    first, last = np.quantile(done_at, [low, high])
    return (high - low) * len(done_at) / (last - first) if last > first else float("nan")


def photo_message(api: FakeBotAPI, user: int, file_id: str, photo: BenchPhoto) -> dict[str, Any]:
    """A photo message reusing an uploaded file (the fake server keeps one copy of each test photo)."""
    size = {"file_id": file_id, "file_unique_id": file_id, "width": photo.width, "height": photo.height,
            "file_size": len(photo.data)}
    return api.message(user, photo=[size])


@dataclass
class Traffic:
    """The simulated users of one run and the requests they made."""

    api: FakeBotAPI
    tracker: ReplyTracker
    photos: Sequence[tuple[str, BenchPhoto]]  # (file_id, photo) on the fake server
    workload: Workload
    deadline: float
    rng: np.random.Generator
    requests: list[Request] = field(default_factory=list)
    busy: set[int] = field(default_factory=set)  # users with a photo in flight (or pausing after its reply)

    @property
    def users(self) -> range:
        return range(self.workload.first_user, self.workload.first_user + self.workload.users)

    async def send_photo(self, user: int) -> None:
        """One photo from `user`, a random one of the set; returns MIN_PAUSE_S after the reply (or timeout)."""
        self.busy.add(user)
        file_id, photo = self.photos[int(self.rng.integers(len(self.photos)))]
        request = Request(user, photo.name, photo.faces, time.monotonic())
        self.requests.append(request)
        self.tracker.expect(request)
        self.api.send(photo_message(self.api, user, file_id, photo))
        try:
            await asyncio.wait_for(request.done.wait(), self.workload.timeout_s)
        except TimeoutError:
            self.tracker.pending.pop(user, None)
        await asyncio.sleep(MIN_PAUSE_S)
        self.busy.discard(user)

    async def back_to_back(self, user: int) -> None:
        """The user's photos, each sent as soon as the previous one is answered."""
        for _ in range(self.workload.photos_per_user):
            if time.monotonic() > self.deadline:
                return
            await self.send_photo(user)

    async def poisson(self) -> None:
        """users x photos_per_user photos arriving at `rate` per second (exponential gaps), each from a random
        user without a photo in flight; an arrival that finds every user busy waits for the first one free."""
        in_flight: set[asyncio.Task[None]] = set()
        next_at = time.monotonic()
        for _ in range(self.workload.users * self.workload.photos_per_user):
            next_at += float(self.rng.exponential(1.0 / self.workload.rate))
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            user = await self.free_user()
            if user is None:
                break
            task = asyncio.create_task(self.send_photo(user))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)

    async def free_user(self) -> int | None:
        """A random user without a photo in flight, once there is one; None past the deadline."""
        while time.monotonic() <= self.deadline:
            free = [user for user in self.users if user not in self.busy]
            if free:
                return free[int(self.rng.integers(len(free)))]
            await asyncio.sleep(POLL_S)
        return None

    async def run(self) -> None:
        if self.workload.rate > 0:
            await self.poisson()
        else:
            await asyncio.gather(*(self.back_to_back(user) for user in self.users))


async def sample_memory(bot: BotProcess, requests: list[Request], started: float, samples: list[MemorySample],
                        stop: asyncio.Event, every_s: float = 0.5) -> None:
    while not stop.is_set() and bot.alive():
        done = sum(r.done_at is not None for r in requests)
        samples.append(MemorySample(time.monotonic() - started, done, bot.rss_mb()))
        await asyncio.sleep(every_s)


async def run_workload(api: FakeBotAPI, bot: BotProcess, photos: Sequence[tuple[str, BenchPhoto]],
                       workload: Workload, seed: int = 0) -> RunResult:
    """Every user's photos, all users at once; returns when all are answered, timed out or past the limit."""
    tracker, samples = ReplyTracker(api), []
    stop = asyncio.Event()
    started, cpu_started, driver_cpu_started = time.monotonic(), bot.cpu_s(), cpu_seconds(psutil.Process())
    samples.append(MemorySample(0.0, 0, bot.rss_mb()))
    traffic = Traffic(api, tracker, photos, workload, started + workload.time_limit_s, np.random.default_rng(seed))
    requests = traffic.requests
    helpers = [asyncio.create_task(tracker.run(stop)),
               asyncio.create_task(sample_memory(bot, requests, started, samples, stop))]
    try:
        await traffic.run()
    finally:
        stop.set()
        await asyncio.gather(*helpers)
    elapsed = max((r.done_at for r in requests if r.done_at is not None), default=time.monotonic()) - started
    samples.append(MemorySample(time.monotonic() - started, len(requests), bot.rss_mb()))
    if not bot.alive():
        raise RuntimeError(f"the bot stopped during the run; its log:\n{bot.log_tail()}")
    return RunResult(workload, requests, elapsed, bot.cpu_s() - cpu_started,
                     cpu_seconds(psutil.Process()) - driver_cpu_started, samples)


def upload(api: FakeBotAPI, photos: Sequence[BenchPhoto]) -> list[tuple[str, BenchPhoto]]:
    """Put each photo on the fake server once; (file_id, photo) pairs to send."""
    return [(api.add_file(photo.data), photo) for photo in photos]
