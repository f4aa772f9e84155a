"""Photo bytes -> one look-alike card per face, computed in a bounded worker pool off the event loop.

The models are loaded and warmed up once (`LookalikeService.load`); each request decodes the photo
safely, finds the faces and their look-alikes, checks each face's quality and renders its card. All of
that is CPU work, so `find_lookalikes` hands it to a thread pool of `workers` threads: at most that many
photos are processed at once, and the event loop keeps serving other users meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from index.engine import FaceMatches, LookalikeEngine
from pipeline.card import encode_jpeg
from pipeline.photo import PhotoLimits, decode_photo

from . import texts
from .config import QualityThresholds, Settings
from .quality import assess_face

TOP_MATCHES = 8

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Card:
    """One face's result: the card as JPEG bytes and the caption that goes with it."""

    jpeg: bytes
    caption: str


@dataclass(frozen=True)
class LookalikeReply:
    """Cards for the faces shown (largest first; empty when there is no face) and how many were left out."""

    cards: list[Card]
    skipped: int


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

    async def find_lookalikes(self, photo: bytes) -> LookalikeReply:
        """The reply for a photo, computed in the worker pool; raises PhotoError for an unusable photo."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.describe_photo, photo)

    def describe_photo(self, photo: bytes) -> LookalikeReply:
        """The blocking work behind find_lookalikes: decode, look up, check quality, render cards."""
        started = time.perf_counter()
        rgb = decode_photo(photo, self.limits)
        result = self.engine.lookup(rgb, top=TOP_MATCHES, max_faces=self.max_faces)
        cards = [self.make_card(number, len(result.faces), face)
                 for number, face in enumerate(result.faces, start=1)]
        logger.info("Photo %dx%d: %d face(s) shown, %d skipped, %.2f s",
                    rgb.shape[1], rgb.shape[0], len(cards), result.skipped, time.perf_counter() - started)
        return LookalikeReply(cards=cards, skipped=result.skipped)

    def make_card(self, number: int, count: int, found: FaceMatches) -> Card:
        issues = assess_face(found.face, self.quality)
        image = self.engine.card(found, note=texts.card_note(issues))
        return Card(jpeg=encode_jpeg(image), caption=texts.card_caption(number, count, found.matches, issues))

    def close(self) -> None:
        """Stop the worker pool after the requests in progress."""
        self._executor.shutdown(wait=True)
