"""The web page's per-client rate limit: a token bucket per IP address, with the seconds to wait that a refusal
states. (The global admission limit, shared with the bot, is serving/admission.py's.)

It lives in the event loop's thread (no locks); the clock is injectable for tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimit:
    """Each client may send `burst` photos at once, then `per_minute` a minute: a token bucket per client."""

    def __init__(self, per_minute: float, burst: int, clock: Clock = time.monotonic, most_clients: int = 10_000):
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = burst
        self.clock = clock
        self.most_clients = most_clients
        self.buckets: dict[str, Bucket] = {}

    def wait_seconds(self, client: str) -> int:
        """Take one photo's token for `client`: 0 when it may go on, else the whole seconds until it may."""
        now = self.clock()
        bucket = self.buckets.get(client)
        if bucket is None:
            self.forget_full_buckets(now)
            bucket = self.buckets[client] = Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def forget_full_buckets(self, now: float) -> None:
        """Past `most_clients` clients, drop those whose bucket has refilled (as good as new), then, if still too
        many, the longest-known ones (they start afresh): memory stays bounded."""
        if len(self.buckets) < self.most_clients:
            return
        refilled = [client for client, bucket in self.buckets.items()
                    if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst]
        for client in refilled:
            del self.buckets[client]
        while len(self.buckets) >= self.most_clients:
            del self.buckets[next(iter(self.buckets))]
