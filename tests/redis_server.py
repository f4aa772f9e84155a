"""A real redis-server for tests: started on 127.0.0.1 on a free port, its data in a folder of the test's, with
persistence as README "Running at scale" describes (an append-only file, fsync'd at every write by default), so
that a restart keeps what was written. Tests that need it skip, saying why, where redis-server is not installed
(scripts/setup.sh installs it where it can: the Debian package, as root).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

START_TIMEOUT_S = 20.0


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """`with RedisServer(folder) as server:` ... `server.url`; `restart()` stops it and starts it again on the same
    port with the same data."""

    def __init__(self, folder: Path, fsync: str = "always") -> None:
        """`fsync`: Redis's appendfsync, "always" (nothing written is lost) or "everysec" (the usual choice)."""
        binary = redis_server_binary()
        assert binary is not None, "redis-server is not installed"
        self.binary, self.folder, self.port, self.fsync = binary, folder, free_port(), fsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder),
                   "--appendonly", "yes", "--appendfsync", self.fsync, "--save", "", "--daemonize", "no"]
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.RedisError:  # not listening yet, or still loading its data
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {self.folder / 'redis.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: redis-server finishes its append-only file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=START_TIMEOUT_S)

    def restart(self, down_s: float = 1.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
