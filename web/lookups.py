"""The one seam between the web app and the models: what a request awaits to get its answer.

The app knows only `Lookups`: the reply path (reply.Replier: photo bytes -> faces, look-alikes, quality notes,
cards; or two faces compared) run off the event loop, and the two galleries' look-alike scales for the JSON's
bands. `PooledLookups` runs it in the bot's worker pool (bot/service.py: a bounded pool of `workers` threads,
one ONNX Runtime thread per model call, models warmed up at start), so the web page and the bot answer from the
same setup, with the same cards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.service import LookalikeService
from index.bands import LookalikeScale
from index.engine import LookalikeEngine
from pipeline.image import encode_jpeg
from reply.card import CardText
from reply.compare import Comparison
from reply.replier import Replier, Reply
from web.config import WebSettings


@dataclass(frozen=True)
class ComparedPhotos:
    comparison: Comparison
    picture: bytes  # the two faces side by side, JPEG


class Lookups(Protocol):
    @property
    def scale(self) -> LookalikeScale | None:
        """The CelebA gallery's look-alike scale."""

    @property
    def named_scale(self) -> LookalikeScale | None:
        """The named gallery's look-alike scale, when the index has one."""

    async def reply(self, photo: bytes, text: CardText) -> Reply:
        """The answer to a photo (Replier.reply); raises PhotoError for an unusable one."""

    async def compare(self, photos: Sequence[bytes]) -> ComparedPhotos:
        """Two faces compared (Replier.compare) and their picture; raises PhotoError, NotEnoughFacesError."""

    def close(self) -> None:
        """Stop after the work in progress."""


class PooledLookups:
    """The reply path in the bot's worker pool."""

    def __init__(self, service: LookalikeService) -> None:
        self.service = service

    @classmethod
    def load(cls, settings: WebSettings) -> PooledLookups:
        """Load the index and the models named in the settings, and warm them up. Raises MissingIndexError,
        IndexMismatchError or MissingOnnxError with the command that fixes it."""
        engine = LookalikeEngine.load(settings.index_dir, weights_dir=settings.weights_dir, threads=1)
        return cls.over(Replier(engine, settings.limits, settings.quality, settings.lookalikes, settings.max_faces),
                        settings.workers)

    @classmethod
    def over(cls, replier: Replier, workers: int) -> PooledLookups:
        """`replier` in a pool of `workers` threads, warmed up."""
        service = LookalikeService(replier, workers)
        service.warm_up()
        return cls(service)

    @property
    def scale(self) -> LookalikeScale | None:
        return self.service.engine.gallery.scale

    @property
    def named_scale(self) -> LookalikeScale | None:
        named = self.service.engine.named
        return named.scale if named is not None else None

    async def reply(self, photo: bytes, text: CardText) -> Reply:
        return await self.service.in_pool(self.service.replier.reply, photo, text)

    async def compare(self, photos: Sequence[bytes]) -> ComparedPhotos:
        return await self.service.in_pool(self.compared, photos)

    def compared(self, photos: Sequence[bytes]) -> ComparedPhotos:
        """The blocking work behind `compare`."""
        comparison = self.service.replier.compare(photos)
        return ComparedPhotos(comparison, encode_jpeg(comparison.image))

    def close(self) -> None:
        self.service.close()
