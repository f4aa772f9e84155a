"""Photo bytes -> the bot's answer (the cards of reply/replier.py with Telegram captions), computed in a bounded
worker pool off the event loop.

The models are loaded and warmed up once (`LookalikeService.load`); each request runs the reply path shared
with the command line (decode safely, find the faces and their look-alikes, check each face's quality, render
the cards) and adds the captions in the user's language. All of that is CPU work, so `find_lookalikes` and
`compare` hand it to a thread pool of `workers` threads: at most that many photos are processed at once, and the
event loop keeps serving other users meanwhile. The work runs in a copy of the caller's context, so that texts
come out in the language of the update being handled.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from bot import texts
from bot.config import Settings
from index.engine import LookalikeEngine
from pipeline.image import encode_jpeg
from pipeline.photo import PhotoLimits
from reply.replier import FaceReply, Replier

T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptionedPhoto:
    """A picture as the bot sends it: JPEG bytes and the caption that goes with it."""

    jpeg: bytes
    caption: str


@dataclass(frozen=True)
class LookalikeReply:
    """The cards of the faces shown (largest first; empty when there is no face), how many faces were left out,
    and for a photo of several faces the overview that numbers them (sent before the cards)."""

    cards: list[CaptionedPhoto]
    skipped: int
    overview: CaptionedPhoto | None = None


class LookalikeService:
    """The reply path (reply/replier.py) behind a pool of `workers` threads."""

    def __init__(self, replier: Replier, workers: int) -> None:
        self.replier = replier
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lookalike")

    @classmethod
    def load(cls, settings: Settings) -> LookalikeService:
        """Load the index and the models named in the settings, and warm them up."""
        started = time.perf_counter()
        # One thread per model call: `workers` photos in parallel use `workers` cores, without the
        # oversubscription (and 10-100x slow-downs measured here) of every worker spawning its own pool.
        engine = LookalikeEngine.load(settings.index_dir, weights_dir=settings.weights_dir, threads=1)
        limits = PhotoLimits(max_bytes=settings.max_file_bytes, max_pixels=settings.max_pixels)
        replier = Replier(engine, limits, settings.quality, settings.lookalikes, settings.max_faces)
        service = cls(replier, settings.workers)
        service.warm_up()
        logger.info("Models loaded and warmed up in %.1f s", time.perf_counter() - started)
        return service

    @property
    def engine(self) -> LookalikeEngine:
        return self.replier.engine

    def warm_up(self) -> None:
        """Run every model once, so that the first user does not pay for lazy initialisation."""
        blank = np.full((256, 256, 3), 128, np.uint8)
        self.replier.reply_to_image(blank)
        _, crops = self.engine.pipeline.faces_in_box(blank, np.array([[64, 64, 192, 192]], np.float32))
        self.engine.pipeline.embed_crops(crops)

    async def in_pool(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in the worker pool, in a copy of the current context (the user's language)."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, functools.partial(context.run, work, *args))

    async def find_lookalikes(self, photo: bytes, third_person: bool = False) -> LookalikeReply:
        """The reply for a photo, computed in the worker pool; raises PhotoError for an unusable photo.
        `third_person`: captions about "this face" rather than "your" (in groups)."""
        return await self.in_pool(self.describe_photo, photo, third_person)

    async def compare(self, photos: Sequence[bytes]) -> CaptionedPhoto:
        """The two largest faces of one photo, or the largest of each of two, side by side with their similarity
        and verdict (reply/compare.py). Raises PhotoError for an unusable photo, NotEnoughFacesError when there
        are not two faces."""
        return await self.in_pool(self.describe_comparison, photos)

    def describe_comparison(self, photos: Sequence[bytes]) -> CaptionedPhoto:
        """The blocking work behind `compare`."""
        comparison = self.replier.compare(photos)
        caption = texts.compare_caption(comparison.similarity, comparison.verdict, comparison.same_from,
                                        comparison.lookalike_from)
        return CaptionedPhoto(jpeg=encode_jpeg(comparison.image), caption=caption)

    def describe_photo(self, photo: bytes, third_person: bool = False) -> LookalikeReply:
        """The blocking work behind find_lookalikes: the reply path, then the captions."""
        started = time.perf_counter()
        reply = self.replier.reply(photo, texts.card_text(third_person))
        cards = [captioned(face, len(reply.faces), third_person) for face in reply.faces]
        overview = (CaptionedPhoto(reply.overview, texts.faces_found(reply.found, len(cards)))
                    if reply.overview is not None else None)
        logger.info("Photo %dx%d: %d face(s) found, %d shown, %.2f s", *reply.photo_size, reply.found, len(cards),
                    time.perf_counter() - started)
        return LookalikeReply(cards=cards, skipped=reply.skipped, overview=overview)

    def close(self) -> None:
        """Stop the worker pool after the requests in progress."""
        self._executor.shutdown(wait=True)


def captioned(face: FaceReply, count: int, third_person: bool) -> CaptionedPhoto:
    """One face's card with its caption: its number on the overview, look-alikes, closest named celebrity and
    any quality advice."""
    found = face.found
    caption = texts.card_caption(found.number or 1, count, found.matches, face.issues, third_person, found.named)
    return CaptionedPhoto(jpeg=face.card, caption=caption)
