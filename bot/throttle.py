"""Per-user request limit: one photo in flight per user, then a short cool-down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class UserThrottle:
    """Lives on the event loop (no locks needed): `claim` is entered and left between awaits."""

    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._in_flight: set[int] = set()
        self._finished_at: dict[int, float] = {}

    @contextmanager
    def claim(self, user_id: int) -> Iterator[bool]:
        """Yields True when the user may start a request now (and holds their slot until the block ends)."""
        if not self.is_free(user_id):
            yield False
            return
        self._in_flight.add(user_id)
        try:
            yield True
        finally:
            self._in_flight.discard(user_id)
            self._finished_at[user_id] = self.clock()
            self.forget_expired()

    def is_free(self, user_id: int) -> bool:
        finished_at = self._finished_at.get(user_id)
        cooling_down = finished_at is not None and self.clock() - finished_at < self.cooldown_s
        return user_id not in self._in_flight and not cooling_down

    def forget_expired(self) -> None:
        """Drop users whose cool-down is over, so that memory does not grow with every user ever seen."""
        now = self.clock()
        self._finished_at = {user: at for user, at in self._finished_at.items() if now - at < self.cooldown_s}
