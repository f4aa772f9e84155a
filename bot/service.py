"""Photo bytes -> one look-alike card per face (or two faces compared), computed in a bounded worker pool
off the event loop.

The models are loaded and warmed up once (`LookalikeService.load`); each request decodes the photo
safely, finds the faces and their look-alikes, checks each face's quality and renders its card. All of
that is CPU work, so `find_lookalikes` and `compare` hand it to a thread pool of `workers` threads: at most
that many photos are processed at once, and the event loop keeps serving other users meanwhile. The work
runs in a copy of the caller's context, so that texts come out in the language of the update being handled.
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

from index.engine import FaceMatches, LookalikeEngine
from pipeline.card import CardText, encode_jpeg
from pipeline.compare import compare_faces, faces_to_compare
from pipeline.photo import PhotoLimits, decode_photo

from . import texts
from .config import QualityThresholds, Settings
from .quality import assess_face

TOP_MATCHES = 8
T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Card:
    """One face's result: the card as JPEG bytes and the caption that goes with it."""

    jpeg: bytes
    caption: str


@dataclass(frozen=True)
class LookalikeReply:
    """Cards for the faces shown (largest first; empty when there is no face), how many were left out, and for
    a photo of several faces the overview that numbers them (JPEG and caption, sent before the cards)."""

    cards: list[Card]
    skipped: int
    overview: Card | None = None


@dataclass(frozen=True)
class ComparisonReply:
    """Two faces side by side (JPEG bytes), and the caption with their similarity and the verdict."""

    jpeg: bytes
    caption: str


class LookalikeService:
    """The engine plus the bot's limits and quality thresholds, behind a pool of `workers` threads."""

    def __init__(self, engine: LookalikeEngine, limits: PhotoLimits, quality: QualityThresholds,
                 max_faces: int, workers: int) -> None:
        self.engine = engine
        self.limits = limits
        self.quality = quality
        self.max_faces = max_faces
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lookalike")

    @classmethod
    def load(cls, settings: Settings) -> LookalikeService:
        """Load the index and the models named in the settings, and warm them up."""
        started = time.perf_counter()
        # One thread per model call: `workers` photos in parallel use `workers` cores, without the
        # oversubscription (and 10-100x slow-downs measured here) of every worker spawning its own pool.
        engine = LookalikeEngine.load(settings.index_dir, weights_dir=settings.weights_dir, threads=1)
        limits = PhotoLimits(max_bytes=settings.max_file_bytes, max_pixels=settings.max_pixels)
        service = cls(engine, limits, settings.quality, settings.max_faces, settings.workers)
        service.warm_up()
        logger.info("Models loaded and warmed up in %.1f s", time.perf_counter() - started)
        return service

    def warm_up(self) -> None:
        """Run every model once, so that the first user does not pay for lazy initialisation."""
        blank = np.full((256, 256, 3), 128, np.uint8)
        self.engine.lookup(blank, top=TOP_MATCHES, max_faces=self.max_faces)
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

    async def compare(self, photos: Sequence[bytes]) -> ComparisonReply:
        """The two largest faces of one photo, or the largest of each of two, compared (pipeline/compare.py).

        Raises PhotoError for an unusable photo, NotEnoughFacesError when there are not two faces.
        """
        return await self.in_pool(self.describe_comparison, photos)

    def describe_comparison(self, photos: Sequence[bytes]) -> ComparisonReply:
        """The blocking work behind `compare`."""
        faces = [self.engine.pipeline(decode_photo(photo, self.limits)) for photo in photos]
        comparison = compare_faces(*faces_to_compare(faces), self.engine.threshold)
        caption = texts.compare_caption(comparison.similarity, comparison.verdict, comparison.same_from,
                                        comparison.lookalike_from)
        return ComparisonReply(jpeg=encode_jpeg(comparison.image), caption=caption)

    def describe_photo(self, photo: bytes, third_person: bool = False) -> LookalikeReply:
        """The blocking work behind find_lookalikes: decode, look up, check quality, render cards."""
        started = time.perf_counter()
        rgb = decode_photo(photo, self.limits)
        result = self.engine.lookup(rgb, top=TOP_MATCHES, max_faces=self.max_faces)
        words = texts.card_text(third_person)
        cards = [self.make_card(face, len(result.faces), words, third_person) for face in result.faces]
        overview = self.engine.overview(rgb, result)
        overview_card = (Card(jpeg=encode_jpeg(overview), caption=texts.faces_found(result.found, len(cards)))
                         if overview is not None else None)
        logger.info("Photo %dx%d: %d face(s) found, %d shown, %.2f s", rgb.shape[1], rgb.shape[0], result.found,
                    len(cards), time.perf_counter() - started)
        return LookalikeReply(cards=cards, skipped=result.skipped, overview=overview_card)

    def make_card(self, found: FaceMatches, count: int, words: CardText, third_person: bool) -> Card:
        """One face's card, titled with its number on the overview, with the closest named celebrity."""
        issues = assess_face(found.face, self.quality)
        image = self.engine.card(found, note=texts.card_note(issues), text=words)
        caption = texts.card_caption(found.number or 1, count, found.matches, issues, third_person, found.named)
        return Card(jpeg=encode_jpeg(image), caption=caption)

    def close(self) -> None:
        """Stop the worker pool after the requests in progress."""
        self._executor.shutdown(wait=True)
