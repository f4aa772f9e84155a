"""Photo bytes -> the bot's answer: the reply path's cards (computed by serving's worker pool, off the event loop)
with Telegram captions in the user's language.

The pool (serving/pool.py) is local worker processes in a front-end of the embedded mode and in a distributed
worker alike; the words drawn on the cards (`texts.card_text`) and the captions are taken in the language of the
request being answered, so call these methods inside its i18n context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import texts
from reply.replier import FaceReply, Reply
from serving.pool import InferencePool


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
    """The pool's answers with the bot's captions."""

    def __init__(self, pool: InferencePool) -> None:
        self.pool = pool

    async def find_lookalikes(self, photo: bytes, third_person: bool = False) -> LookalikeReply:
        """The reply for a photo; raises PhotoError for an unusable photo. `third_person`: captions about "this
        face" rather than "your" (in groups)."""
        return captioned_reply(await self.pool.reply(photo, texts.card_text(third_person)), third_person)

    async def compare(self, photos: Sequence[bytes]) -> CaptionedPhoto:
        """The two largest faces of one photo, or the largest of each of two, side by side with their similarity
        and verdict (reply/compare.py). Raises PhotoError for an unusable photo, NotEnoughFacesError when there
        are not two faces."""
        compared = await self.pool.compare(photos)
        comparison = compared.comparison
        caption = texts.compare_caption(comparison.similarity, comparison.verdict, comparison.same_from,
                                        comparison.lookalike_from)
        return CaptionedPhoto(jpeg=compared.picture, caption=caption)

    def close(self) -> None:
        """Stop the pool after the requests in progress."""
        self.pool.close()


def captioned_reply(reply: Reply, third_person: bool = False) -> LookalikeReply:
    """The cards of `reply` with their captions, and the overview captioned with what was found."""
    cards = [captioned(face, len(reply.faces), third_person) for face in reply.faces]
    overview = (CaptionedPhoto(reply.overview, texts.faces_found(reply.found, len(cards)))
                if reply.overview is not None else None)
    return LookalikeReply(cards=cards, skipped=reply.skipped, overview=overview)


def captioned(face: FaceReply, count: int, third_person: bool) -> CaptionedPhoto:
    """One face's card with its caption: its number on the overview, look-alikes, closest named celebrity and
    any quality advice."""
    found = face.found
    caption = texts.card_caption(found.number or 1, count, found.matches, face.issues, third_person, found.named)
    return CaptionedPhoto(jpeg=face.card, caption=caption)
