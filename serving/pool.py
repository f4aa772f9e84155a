"""Where inference runs: `LocalPool`, worker processes on this machine (the default), or `InProcessPool`, threads
of this process over models it loaded itself (a distributed worker, which is one such process per core).

Both are an `InferencePool`: `await pool.reply(photo, text)` and `await pool.compare(photos)`, from any event loop,
at most `workers` jobs at a time, the others waiting their turn in order. A local worker process loads the models
once, answers one job at a time with one ONNX Runtime thread, and ignores SIGINT/SIGTERM: the process that owns the
pool decides when it stops (it finishes the jobs in progress first, `close`). A worker that dies mid-job (killed,
out of memory) is replaced and its job run again on another worker, up to `attempts` times in all.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol, cast

from reply.card import CardText
from reply.replier import Reply
from serving.inference import (
    ComparedFaces,
    CompareJob,
    Failed,
    GalleryScales,
    Inference,
    InferenceConfig,
    Job,
    Outcome,
    ReplyJob,
)

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0  # loading the index and the models; minutes only on a cold disk
STOP_TIMEOUT_S = 10.0  # for a worker process to exit once its pipe is closed


class InferencePool(Protocol):
    """Photo bytes -> answers, computed off the event loop."""

    @property
    def scales(self) -> GalleryScales:
        """The galleries' look-alike scales (for bands in an answer's JSON)."""
        ...

    async def reply(self, photo: bytes, text: CardText) -> Reply:
        """The answer to a photo (reply.Replier.reply, its look-alikes' crops left out: they are on the cards);
        raises PhotoError for an unusable one."""
        ...

    async def compare(self, photos: Sequence[bytes]) -> ComparedFaces:
        """The two largest faces of one photo, or the largest of each of two, compared; raises PhotoError, or
        NotEnoughFacesError when there are not two faces."""
        ...

    def close(self) -> None:
        """Stop after the jobs in progress."""
        ...


class WorkerStartError(RuntimeError):
    """A worker process could not load the models or the index; the message says why (and what to run)."""


class WorkerDiedError(RuntimeError):
    """A job's worker process died `attempts` times in a row while answering it."""


def unwrap(outcome: Outcome) -> Reply | ComparedFaces:
    if isinstance(outcome, Failed):
        outcome.raise_again()
    return outcome


async def run_in(executor: ThreadPoolExecutor, call: Callable[[Job], Outcome], job: Job) -> Reply | ComparedFaces:
    """`call(job)` in one of the executor's threads, its outcome unwrapped; a job still waiting for a thread is
    dropped when the caller is cancelled."""
    return unwrap(await asyncio.get_running_loop().run_in_executor(executor, call, job))


class InProcessPool:
    """`inference` (models loaded in this process) run by `workers` threads."""

    def __init__(self, inference: Inference, workers: int = 1) -> None:
        self.inference = inference
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")

    @property
    def scales(self) -> GalleryScales:
        return self.inference.scales

    async def reply(self, photo: bytes, text: CardText) -> Reply:
        return cast(Reply, await run_in(self._executor, self.inference.run, ReplyJob(photo, text)))

    async def compare(self, photos: Sequence[bytes]) -> ComparedFaces:
        return cast(ComparedFaces, await run_in(self._executor, self.inference.run, CompareJob(tuple(photos))))

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def serve_jobs(config: InferenceConfig, connection: Connection) -> None:
    """A local worker process: load, say "ready" (or why not), then answer jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the owner decides
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s[worker]: %(message)s")
    import cv2

    cv2.setNumThreads(1)  # one core per worker process: no thread pool inside OpenCV either
    try:
        inference = Inference.load(config)
    except Exception as error:  # MissingIndexError and co. carry the command that fixes them
        connection.send(("failed", str(error) or type(error).__name__))
        return
    connection.send(("ready", inference.scales))
    while True:
        try:
            job = connection.recv()
        except EOFError:  # the owner closed the pool (or died)
            return
        connection.send(inference.run(job))


@dataclass
class WorkerProcess:
    process: BaseProcess
    connection: Connection


class LocalPool:
    """`workers` local worker processes (spawned, so they share nothing with this process but their pipes).

    >>> pool = LocalPool(InferenceConfig(index_dir=Path("index_data")), workers=2)   # loads the models: seconds
    >>> reply = await pool.reply(photo_bytes, text)                                   # reply.Reply
    >>> pool.close()
    """

    def __init__(self, config: InferenceConfig, workers: int, attempts: int = 2) -> None:
        self.config = config
        self.attempts = attempts
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.SimpleQueue[WorkerProcess] = queue.SimpleQueue()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="local-pool")
        self._workers: list[WorkerProcess] = []
        self._workers_lock = threading.Lock()  # pool threads replace dead workers
        self._scales: GalleryScales | None = None
        started = [self._spawn(number) for number in range(workers)]  # all load at once
        try:
            for worker in started:
                self._scales = self._wait_until_ready(worker)
                self._idle.put(worker)
        except BaseException:
            self._workers = started
            self.close()
            raise

    @property
    def scales(self) -> GalleryScales:
        assert self._scales is not None
        return self._scales

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (benchmarks measure them; tests kill one)."""
        return [worker.process.pid for worker in self._workers if worker.process.pid is not None]

    async def reply(self, photo: bytes, text: CardText) -> Reply:
        return cast(Reply, await run_in(self._executor, self._call, ReplyJob(photo, text)))

    async def compare(self, photos: Sequence[bytes]) -> ComparedFaces:
        return cast(ComparedFaces, await run_in(self._executor, self._call, CompareJob(tuple(photos))))

    def _call(self, job: Job) -> Outcome:
        """In a pool thread: the job on an idle worker; on a new one, in its place, when that worker dies."""
        for attempt in range(1, self.attempts + 1):
            worker = self._idle.get()
            try:
                worker.connection.send(job)
                outcome = worker.connection.recv()
            except (EOFError, OSError):
                logger.error("Worker process %s died during a job (exit code %s); starting another, attempt %d of %d",
                             worker.process.pid, worker.process.exitcode, attempt, self.attempts)
                self._idle.put(self._replace(worker))
                continue
            self._idle.put(worker)
            return cast(Outcome, outcome)
        raise WorkerDiedError(f"the worker died {self.attempts} times on this job")

    def _spawn(self, number: int) -> WorkerProcess:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=serve_jobs, args=(self.config, theirs), daemon=True,
                                        name=f"lookalike-worker-{number}")
        process.start()
        theirs.close()  # so that its death reads as EOF here
        worker = WorkerProcess(process, ours)
        with self._workers_lock:
            self._workers.append(worker)
        return worker

    def _wait_until_ready(self, worker: WorkerProcess) -> GalleryScales:
        if not worker.connection.poll(START_TIMEOUT_S):
            raise WorkerStartError(f"a worker process did not load the models within {START_TIMEOUT_S:.0f} s")
        try:
            status, detail = worker.connection.recv()
        except EOFError:
            raise WorkerStartError(f"a worker process exited while loading (exit code {worker.process.exitcode})") \
                from None
        if status != "ready":
            raise WorkerStartError(detail)
        return cast(GalleryScales, detail)

    def _replace(self, dead: WorkerProcess) -> WorkerProcess:
        dead.connection.close()
        dead.process.join(timeout=STOP_TIMEOUT_S)
        with self._workers_lock:
            self._workers.remove(dead)
        worker = self._spawn(len(self._workers))
        self._wait_until_ready(worker)
        return worker

    def close(self) -> None:
        """Finish the jobs in progress, then stop the worker processes."""
        self._executor.shutdown(wait=True)
        for worker in self._workers:
            worker.connection.close()
        for worker in self._workers:
            worker.process.join(timeout=STOP_TIMEOUT_S)
            if worker.process.is_alive():
                logger.warning("Worker process %s did not stop; killing it", worker.process.pid)
                os.kill(worker.process.pid, signal.SIGKILL)  # it ignores SIGTERM
                worker.process.join()
        self._workers = []
