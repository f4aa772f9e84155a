"""Photo bytes -> everything a reply needs: the faces found, each face's look-alikes and quality issues, its
card, and for a photo of several faces the overview that numbers them; or two faces compared.

One path for every answer: the bot (bot/service.py runs it in its worker pool and adds Telegram's captions)
and `lookalike query` / `lookalike compare` (cli/) call the same methods, so they send and write the same
pictures, byte for byte, with the same quality notes. `text` gives the words drawn on the pictures (English by
default; the bot passes the user's language).

    replier = Replier(LookalikeEngine.load("index_data"))
    reply = replier.reply(photo_bytes)                  # Reply: faces largest first, JPEG cards, overview
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from index.engine import FaceMatches, LookalikeEngine, LookupResult
from pipeline.image import encode_jpeg
from pipeline.photo import PhotoLimits, decode_photo
from pipeline.settings import LOOKALIKES, MAX_FACES
from reply.card import ENGLISH, CardText, render_card, render_overview
from reply.compare import Comparison, compare_images
from reply.quality import QualityIssue, QualityThresholds, assess_face


@dataclass(frozen=True)
class FaceReply:
    """One face's answer: its look-alikes (FaceMatches: the face, matches, number, closest named person), its
    quality issues, and its card as JPEG bytes."""

    found: FaceMatches
    issues: list[QualityIssue]
    card: bytes


@dataclass(frozen=True)
class Reply:
    """The answer to one photo: a FaceReply per face searched (largest first; none when no face was found), how
    many faces the detector found, and for several faces the overview (JPEG) to send before the cards."""

    faces: list[FaceReply]
    found: int
    overview: bytes | None
    photo_size: tuple[int, int]  # width, height of the photo as decoded

    @property
    def skipped(self) -> int:
        """Faces found beyond the limit: counted, not searched."""
        return self.found - len(self.faces)


@dataclass(frozen=True)
class Replier:
    """The look-up engine with the limits of an answer: photo size, look-alikes per face, faces per photo and
    the quality thresholds. Holds nothing that changes, so several threads can use one."""

    engine: LookalikeEngine
    limits: PhotoLimits = field(default_factory=PhotoLimits)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    lookalikes: int = LOOKALIKES
    max_faces: int = MAX_FACES

    def reply(self, photo: bytes, text: CardText = ENGLISH) -> Reply:
        """The answer to an uploaded photo; raises PhotoError (pipeline/photo.py) for an unusable one."""
        return self.reply_to_image(decode_photo(photo, self.limits), text)

    def reply_to_image(self, rgb: np.ndarray, text: CardText = ENGLISH) -> Reply:
        """The answer to a decoded RGB photo."""
        result = self.lookup(rgb)
        overview = self.overview(rgb, result)
        return Reply(faces=[self.face_reply(found, text) for found in result.faces], found=result.found,
                     overview=encode_jpeg(overview) if overview is not None else None,
                     photo_size=(rgb.shape[1], rgb.shape[0]))

    def lookup(self, rgb: np.ndarray) -> LookupResult:
        """The photo's faces, largest first, with their look-alikes: only the `max_faces` largest are aligned,
        embedded and searched (pipeline.find), the others are counted with their boxes."""
        found = self.engine.pipeline.find(rgb, self.max_faces)
        numbered = found.found > 1
        return LookupResult(faces=[self.engine.face_matches(face, self.lookalikes, number if numbered else None)
                                   for number, face in enumerate(found.faces, start=1)],
                            skipped=len(found.skipped_boxes), skipped_boxes=found.skipped_boxes)

    def face_reply(self, found: FaceMatches, text: CardText = ENGLISH) -> FaceReply:
        issues = assess_face(found.face, self.quality)
        return FaceReply(found=found, issues=issues, card=encode_jpeg(self.card(found, issues, text)))

    def card(self, found: FaceMatches, issues: Sequence[QualityIssue] = (), text: CardText = ENGLISH) -> np.ndarray:
        """One face's card (RGB uint8): colours on each gallery's look-alike scale, titled with the face's overview
        number when it has one, with the quality note when there are issues."""
        named = self.engine.named
        return render_card(found.face.crop, found.matches, self.engine.gallery.scale, text.note_for(issues),
                           number=found.number, named=found.named,
                           named_scale=named.scale if named is not None else None, text=text)

    @staticmethod
    def overview(rgb: np.ndarray, result: LookupResult) -> np.ndarray | None:
        """The photo scaled for a phone with each searched face's box and number, and the boxes of the faces
        found beyond the limit (RGB uint8); None unless the photo has several faces."""
        numbered = [face for face in result.faces if face.number is not None]
        if not numbered:
            return None
        return render_overview(rgb, [face.face.box for face in numbered], [face.number for face in numbered],
                               result.skipped_boxes)

    def compare(self, photos: Sequence[bytes]) -> Comparison:
        """The two largest faces of one photo, or the largest of each of two, compared (reply/compare.py).

        Raises PhotoError for an unusable photo, NotEnoughFacesError when there are not two faces.
        """
        return compare_images(self.engine.pipeline, [decode_photo(photo, self.limits) for photo in photos])
