"""The real bot as it is deployed, against the test suite's fake Bot API server on 127.0.0.1, and simulated users
who send it photos: shared by load_test.py and bot_memory.py. Two deployments: `BotProcess`, the embedded mode
(run_bot.py polling, with its local worker processes), and `DistributedBot`, the distributed one (a redis-server,
webhook front-ends and workers: tests/bot/cluster.py). Each names its processes by role, which the driver measures.

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
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psutil

from bot import texts
from pipeline import settings
from tests.bot.cluster import Cluster  # the distributed deployment the tests run
from tests.bot.fake_bot_api import FakeBotAPI  # the test suite's fake Bot API server, imported as a module
from tests.redis_server import RedisServer

from .common import MB, REPO, BenchPhoto, percentiles

POLL_S = 0.005
MIN_PAUSE_S = 0.1  # between a reply and the same user's next photo
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 40.0
LATE_S = 1.0
CAPTION = re.compile(r"Face (\d+) of (\d+)")
OVERVIEW = re.compile(r"I found \d+ faces")  # the numbered overview that comes before a group photo's cards
QUEUE_FULL = re.compile(r"You already have \d+ photos? waiting")
CARD_METHODS = ("sendPhoto", "sendMediaGroup")


@dataclass
class Request:
    """One photo sent by one user, and what came back."""

    user: int
    message_id: int
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
        self.answers: dict[int, list[int | None]] = defaultdict(list)  # per user: the message each answer replied to

    def expect(self, request: Request) -> None:
        self.pending[request.user] = request

    def read_calls(self) -> None:
        calls = self.api.calls[:]
        del self.api.calls[:len(calls)]
        for call in calls:
            if call.method not in (*CARD_METHODS, "sendMessage"):
                continue
            self.answers[call.chat_id].append(call.reply_to)
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


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User and system CPU time of the processes (those that ended count nothing)."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def rss_mb(processes: Iterable[psutil.Process]) -> list[float]:
    sizes = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            sizes.append(process.memory_info().rss / MB)
    return sizes


def worker_processes(owner: psutil.Process) -> list[psutil.Process]:
    """The local worker processes of a front-end or a worker command (not multiprocessing's resource tracker)."""
    return [child for child in owner.children() if "resource_tracker" not in " ".join(child.cmdline())]


class Deployment(Protocol):
    """The bot under load, by role ("front-end", "worker", ...): the processes the driver measures."""

    def processes(self) -> dict[str, list[psutil.Process]]: ...

    def alive(self) -> bool: ...

    def log_tail(self) -> str: ...


class BotProcess:
    """`python run_bot.py` (embedded) with its settings pointed at the fake server: the front-end process and its
    worker processes (WORKERS); their memory and CPU while they run."""

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
        self.process.send_signal(signal.SIGINT)  # the bot stops polling and answers what it accepted
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

    def processes(self) -> dict[str, list[psutil.Process]]:
        return {"front-end": [self.info], "worker": worker_processes(self.info)}

    def rss_mb(self) -> float:
        """The front-end's and its workers' resident memory together."""
        return sum(rss_mb(process for role in self.processes().values() for process in role))

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class DistributedBot:
    """The distributed mode: a redis-server of its own (persistence as recommended: append-only file, fsync every
    second), `front_ends` webhook front-ends and `workers` worker commands of one worker process each, all on this
    machine (tests/bot/cluster.py); the fake server posts updates to the front-ends in turn."""

    def __init__(self, api: FakeBotAPI, index_dir: Path, front_ends: int, workers: int, folder: Path) -> None:
        self.api, self.index_dir, self.folder = api, index_dir, folder
        self.front_ends, self.workers = front_ends, workers
        self.redis = RedisServer(folder / "redis", fsync="everysec")
        self.cluster: Cluster | None = None
        self.start_s = 0.0

    async def __aenter__(self) -> DistributedBot:
        started = time.monotonic()
        # an empty Redis: a previous run's records (kept an hour per update id) would make this run's updates,
        # numbered from the same start, look delivered twice
        shutil.rmtree(self.redis.folder, ignore_errors=True)
        self.redis.start()
        self.cluster = Cluster(self.api, self.redis.url, self.index_dir.resolve(), self.folder,
                               environ={"LOG_LEVEL": "WARNING", "JOB_LEASE_SECONDS": "10"})
        try:
            await self.cluster.start(self.front_ends, self.workers)
        except BaseException:
            await self.__aexit__()  # what did start must not outlive the benchmark
            raise
        self.start_s = time.monotonic() - started
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.cluster is not None:
            await self.cluster.stop()
        self.redis.stop()

    def processes(self) -> dict[str, list[psutil.Process]]:
        assert self.cluster is not None and self.redis.process is not None
        front_ends = [psutil.Process(p.pid) for p in self.cluster.processes if p.url is not None]
        workers = [psutil.Process(p.pid) for p in self.cluster.processes if p.url is None]
        return {"front-end": front_ends, "worker": workers,
                "inference": [child for worker in workers for child in worker_processes(worker)],
                "redis": [psutil.Process(self.redis.process.pid)]}

    def rss_mb(self) -> float:
        return sum(rss_mb(process for role in self.processes().values() for process in role))

    def alive(self) -> bool:
        return self.cluster is not None and all(p.process.returncode is None for p in self.cluster.processes)

    def log_tail(self, lines: int = 30) -> str:
        assert self.cluster is not None
        return "\n".join(line for process in self.cluster.processes for line in process.log().splitlines()[-lines:])


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
    cpu_s: dict[str, float]  # by role: the bot's processes, and "driver" (this process: fake server and users)
    rss_mb: dict[str, list[float]]  # by role, each process's at the end
    memory: list[MemorySample]  # the bot's processes together
    answers: dict[int, list[int | None]]  # per user: the message each answer replied to, in the order they came

    def delivery(self) -> dict[str, int]:
        """Requests answered more than once, and users whose answers came out of the order of their photos
        (message ids grow in the order photos are sent)."""
        replied = Counter(message for messages in self.answers.values() for message in messages)
        duplicates = sum(replied[r.message_id] > 1 for r in self.requests)
        out_of_order = sum(answers != sorted(answers) for answers in self.answers.values())
        return {"duplicates": duplicates, "users_out_of_order": out_of_order}

    def summary(self) -> dict[str, Any]:
        done = [r for r in self.requests if r.done_at is not None]
        answered = [r for r in done if r.error is None]
        errors = Counter(r.error or "timeout" for r in self.requests if r.error is not None or r.done_at is None)
        seconds = percentiles([r.seconds for r in answered])
        steady = steady_rate([r.done_at for r in answered])
        bot_cpu_s = sum(cpu for role, cpu in self.cpu_s.items() if role != "driver")
        return {
            "users": self.workload.users, "photos": len(self.requests), "answered": len(answered),
            "errors": sum(errors.values()), "error_kinds": dict(errors), **self.delivery(),
            "cards": sum(r.cards for r in self.requests), "elapsed_s": self.elapsed_s,
            "photos_per_s": steady, "photos_per_s_overall": len(answered) / self.elapsed_s if self.elapsed_s else 0.0,
            "latency_s": {**seconds, "max": max((r.seconds for r in answered), default=float("nan"))},
            "bot_cpu_cores": bot_cpu_s / self.elapsed_s if self.elapsed_s else 0.0,
            "driver_cpu_cores": self.cpu_s["driver"] / self.elapsed_s if self.elapsed_s else 0.0,
            "cpu_cores": {role: cpu / self.elapsed_s for role, cpu in self.cpu_s.items()} if self.elapsed_s else {},
            "cpu_ms_per_photo": {role: 1000 * cpu / len(answered) for role, cpu in self.cpu_s.items()}
                                if answered else {},
            "rss_mb_per_process": {role: sizes for role, sizes in self.rss_mb.items()},
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
        message = photo_message(self.api, user, file_id, photo)
        request = Request(user, message["message_id"], photo.name, photo.faces, time.monotonic())
        self.requests.append(request)
        self.tracker.expect(request)
        self.api.send(message)
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


def all_processes(bot: Deployment) -> list[psutil.Process]:
    return [process for role in bot.processes().values() for process in role]


async def sample_memory(bot: Deployment, requests: list[Request], started: float, samples: list[MemorySample],
                        stop: asyncio.Event, every_s: float = 0.5) -> None:
    while not stop.is_set() and bot.alive():
        done = sum(r.done_at is not None for r in requests)
        samples.append(MemorySample(time.monotonic() - started, done, sum(rss_mb(all_processes(bot)))))
        await asyncio.sleep(every_s)


async def run_workload(api: FakeBotAPI, bot: Deployment, photos: Sequence[tuple[str, BenchPhoto]],
                       workload: Workload, seed: int = 0) -> RunResult:
    """Every user's photos, all users at once; returns when all are answered, timed out or past the limit."""
    tracker, samples = ReplyTracker(api), []
    stop = asyncio.Event()
    roles = {**bot.processes(), "driver": [psutil.Process()]}
    started, cpu_started = time.monotonic(), {role: cpu_seconds(processes) for role, processes in roles.items()}
    samples.append(MemorySample(0.0, 0, sum(rss_mb(all_processes(bot)))))
    traffic = Traffic(api, tracker, photos, workload, started + workload.time_limit_s, np.random.default_rng(seed))
    requests = traffic.requests
    helpers = [asyncio.create_task(tracker.run(stop)),
               asyncio.create_task(sample_memory(bot, requests, started, samples, stop))]
    try:
        await traffic.run()
        await asyncio.sleep(LATE_S)  # an answer sent twice would arrive meanwhile
    finally:
        stop.set()
        await asyncio.gather(*helpers)
    tracker.read_calls()
    elapsed = max((r.done_at for r in requests if r.done_at is not None), default=time.monotonic()) - started
    samples.append(MemorySample(time.monotonic() - started, len(requests), sum(rss_mb(all_processes(bot)))))
    if not bot.alive():
        raise RuntimeError(f"the bot stopped during the run; its log:\n{bot.log_tail()}")
    cpu = {role: cpu_seconds(processes) - cpu_started[role] for role, processes in roles.items()}
    memory = {role: rss_mb(processes) for role, processes in roles.items() if role != "driver"}
    return RunResult(workload, requests, elapsed, cpu, memory, samples, dict(tracker.answers))


def upload(api: FakeBotAPI, photos: Sequence[BenchPhoto]) -> list[tuple[str, BenchPhoto]]:
    """Put each photo on the fake server once; (file_id, photo) pairs to send."""
    return [(api.add_file(photo.data), photo) for photo in photos]
