"""The JSON form of an answer, shared by `lookalike query --json` / `lookalike compare --json` (cli/) and the web
page's API (web/): the same fields, so that a script reads both the same way.

Pictures are named by the caller: a file path on the command line, an inline `data:` URL in the web API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from index.bands import LookalikeScale
from index.gallery import Match
from reply.compare import Comparison
from reply.replier import Reply


def band_name(similarity: float, scale: LookalikeScale | None) -> str:
    """The look-alike band of a similarity ("strong", "similar", "weak"), or "-" for an index without a scale."""
    return scale.band(similarity).value if scale is not None else "-"


def match_json(match: Match, scale: LookalikeScale | None) -> dict[str, Any]:
    """One look-alike, with its band on its gallery's `scale`."""
    return {"rank": match.rank, "identity": match.identity, "name": match.name or None, "image_id": match.image_id,
            "similarity": round(match.similarity, 4), "band": band_name(match.similarity, scale)}


def reply_json(reply: Reply, scale: LookalikeScale | None, named_scale: LookalikeScale | None,
               message: str | None, overview: str | None, cards: Sequence[str]) -> dict[str, Any]:
    """`reply` as JSON: `message` for a photo without a face, `scale` (the CelebA gallery's) and `named_scale`
    give the bands, `overview` and `cards` (one per face) name the pictures."""
    return {
        "message": message,
        "found_faces": reply.found,
        "skipped_faces": reply.skipped,
        "overview": overview,
        "scale": asdict(scale) if scale is not None else None,
        "faces": [
            {
                "number": face.found.number,
                "box": [round(float(v), 1) for v in face.found.face.box],
                "score": round(face.found.face.score, 4),
                "quality_issues": [issue.value for issue in face.issues],
                "card": card,
                "matches": [match_json(match, scale) for match in face.found.matches],
                "named": match_json(face.found.named, named_scale) if face.found.named is not None else None,
            }
            for face, card in zip(reply.faces, cards, strict=True)
        ],
    }


def comparison_json(comparison: Comparison, picture: str) -> dict[str, Any]:
    """A comparison as JSON; `picture` names the side-by-side image."""
    return {"similarity": round(comparison.similarity, 4), "verdict": comparison.verdict.value,
            "same_from": comparison.same_from, "lookalike_from": round(comparison.lookalike_from, 4),
            "picture": picture}
