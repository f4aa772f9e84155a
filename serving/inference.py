"""The models and the gallery in one process: photo bytes -> the reply path's answers (reply.Replier).

`Inference` is what every worker runs, a local worker process (serving/pool.py) or a distributed worker: it loads
the index and the models once (one ONNX Runtime thread per model call), warms them up, and answers jobs. A job and
its outcome are plain data that cross a process boundary (pickled through a pipe, or through Redis): an unusable
photo or a comparison without two faces comes back as a `Failed` record, which the caller's side raises again as the
PhotoError or NotEnoughFacesError the reply path raised.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

from index.bands import LookalikeScale
from index.engine import LookalikeEngine
from index.gallery import Match
from pipeline import settings
from pipeline.image import encode_jpeg
from pipeline.photo import PhotoError, PhotoLimits, PhotoProblem
from reply.card import ENGLISH, CardText
from reply.compare import Comparison, NotEnoughFacesError
from reply.quality import QualityThresholds
from reply.replier import Replier, Reply

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InferenceConfig:
    """What a worker loads and the limits of an answer (the bot's and the web page's settings give them)."""

    index_dir: Path = settings.DEFAULT_INDEX_DIR
    weights_dir: Path = settings.DEFAULT_WEIGHTS_DIR
    lookalikes: int = settings.LOOKALIKES
    max_faces: int = settings.MAX_FACES
    limits: PhotoLimits = field(default_factory=PhotoLimits)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    log_level: str = "INFO"


@dataclass(frozen=True)
class GalleryScales:
    """The look-alike scales of the CelebA gallery and of the named one (None when the index has none)."""

    scale: LookalikeScale | None
    named_scale: LookalikeScale | None


@dataclass(frozen=True)
class ComparedFaces:
    """Two faces compared (reply/compare.py) and their side-by-side picture as JPEG bytes."""

    comparison: Comparison
    picture: bytes


@dataclass(frozen=True)
class ReplyJob:
    """Find the faces of a photo and their look-alikes; `text` gives the words drawn on the pictures."""

    photo: bytes
    text: CardText = ENGLISH


@dataclass(frozen=True)
class CompareJob:
    """Compare the two largest faces of one photo, or the largest of each of two."""

    photos: tuple[bytes, ...]


Job = ReplyJob | CompareJob


@dataclass(frozen=True)
class Failed:
    """Why a job has no answer, as data (PhotoError and NotEnoughFacesError do not survive pickling).

    `problem`: the photo is unusable; `faces_found` (and `photo_without_face`): a comparison without two faces;
    `error`: anything else, the exception's type name (the worker logged it).
    """

    problem: PhotoProblem | None = None
    faces_found: int | None = None
    photo_without_face: int | None = None
    error: str | None = None

    def raise_again(self) -> NoReturn:
        if self.problem is not None:
            raise PhotoError(self.problem)
        if self.faces_found is not None:
            raise NotEnoughFacesError(self.faces_found, self.photo_without_face)
        raise InferenceError(self.error or "unknown error")


class InferenceError(RuntimeError):
    """A job failed for a reason other than its photos (logged by the worker that ran it)."""


Outcome = Reply | ComparedFaces | Failed


class Inference:
    """The reply path (reply.Replier) over the index and models loaded in this process."""

    def __init__(self, replier: Replier) -> None:
        self.replier = replier

    @classmethod
    def load(cls, config: InferenceConfig) -> Inference:
        """Load the index and the models, one thread inside each model call (a worker answers one photo at a time:
        `workers` processes use `workers` cores), and warm them up. Raises MissingIndexError, IndexMismatchError or
        MissingOnnxError, each with the command that fixes it."""
        started = time.perf_counter()
        engine = LookalikeEngine.load(config.index_dir, weights_dir=config.weights_dir, threads=1)
        inference = cls(Replier(engine, config.limits, config.quality, config.lookalikes, config.max_faces))
        inference.warm_up()
        logger.info("Models loaded and warmed up in %.1f s", time.perf_counter() - started)
        return inference

    @property
    def scales(self) -> GalleryScales:
        named = self.replier.engine.named
        return GalleryScales(self.replier.engine.gallery.scale, named.scale if named is not None else None)

    def warm_up(self) -> None:
        """Run every model once, so that the first user does not pay for lazy initialisation."""
        pipeline = self.replier.engine.pipeline
        blank = np.full((256, 256, 3), 128, np.uint8)
        self.replier.reply_to_image(blank)
        _, crops = pipeline.faces_in_box(blank, np.array([[64, 64, 192, 192]], np.float32))
        pipeline.embed_crops(crops)

    def reply(self, photo: bytes, text: CardText = ENGLISH) -> Reply:
        """The answer to a photo; raises PhotoError for an unusable one."""
        started = time.perf_counter()
        reply = self.replier.reply(photo, text)
        logger.info("Photo %dx%d: %d face(s) found, %d shown, %.2f s", *reply.photo_size, reply.found,
                    len(reply.faces), time.perf_counter() - started)
        return reply

    def compare(self, photos: Sequence[bytes]) -> ComparedFaces:
        """Two faces compared; raises PhotoError, or NotEnoughFacesError when there are not two faces."""
        comparison = self.replier.compare(photos)
        return ComparedFaces(comparison, encode_jpeg(comparison.image))

    def run(self, job: Job) -> Outcome:
        """The job's answer (a reply without its look-alikes' crops: see `without_gallery_crops`), or why there is
        none; never raises."""
        try:
            if isinstance(job, ReplyJob):
                return without_gallery_crops(self.reply(job.photo, job.text))
            return self.compare(job.photos)
        except PhotoError as error:
            return Failed(problem=error.problem)
        except NotEnoughFacesError as error:
            return Failed(faces_found=error.found, photo_without_face=error.photo)
        except Exception as error:
            logger.exception("A %s failed", type(job).__name__)
            return Failed(error=type(error).__name__)


NO_CROP = np.zeros((0, 0, 3), np.uint8)


def without_gallery_crops(reply: Reply) -> Reply:
    """The reply with its look-alikes' gallery crops left out (Match.crop empty): the cards show them already, and
    they are most of a reply's bytes (37 kB each, 9 per face) on their way out of a worker."""

    def light(match: Match) -> Match:
        return dataclasses.replace(match, crop=NO_CROP)

    faces = [dataclasses.replace(face, found=dataclasses.replace(
        face.found, matches=[light(match) for match in face.found.matches],
        named=light(face.found.named) if face.found.named is not None else None)) for face in reply.faces]
    return dataclasses.replace(reply, faces=faces)
