"""Every message the bot sends to users, in one place (plain text, no parse mode)."""

from __future__ import annotations

from collections.abc import Sequence

from index.gallery import Match
from pipeline.photo import PhotoProblem

from .quality import QualityIssue

TIPS = (
    "For the best result: one face, looking straight at the camera, in good light, "
    "filling a good part of the photo, not blurred."
)

WELCOME = (
    "Hi! I tell you which celebrities you look like.\n\n"
    "Send me a photo (or an image file) with one or more faces. For every face I send a card with its "
    "8 closest look-alikes from the CelebA celebrity photo set and how similar they are "
    "(a similarity of at most 1: higher is closer).\n\n"
    "/top8 does the same: as the caption of a photo, or as a reply to a photo.\n\n"
    f"{TIPS}\n\n"
    "Privacy: your photos are processed in memory and never stored."
)

HELP = WELCOME

ASK_FOR_PHOTO = "Send me a photo with /top8 as its caption, or reply /top8 to a photo in this chat."

SEND_A_PHOTO = "I only understand photos. Send me a photo with a face, or /help to learn more."

PLEASE_WAIT = "I'm still working on your previous photo. Please wait a moment and send the next one."

NO_FACE = f"I couldn't find a face in this photo.\n\n{TIPS}"

SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a minute."

PHOTO_PROBLEMS: dict[PhotoProblem, str] = {
    PhotoProblem.EMPTY: "That file is empty. Please send a photo.",
    PhotoProblem.TOO_LARGE_FILE: (
        "That file is too large (my limit is {max_mb:g} MB). Please send a smaller photo, "
        "or send it as a photo rather than a file so that Telegram compresses it."
    ),
    PhotoProblem.NOT_AN_IMAGE: "That doesn't look like an image. Please send a photo (JPEG, PNG or WebP).",
    PhotoProblem.CORRUPT: "I couldn't read that image: the file seems damaged. Please try another photo.",
    PhotoProblem.TOO_MANY_PIXELS: (
        "That image has too many pixels for me. Please send a smaller one; an ordinary phone photo is fine."
    ),
    PhotoProblem.TOO_SMALL: "That image is too small to find a face in. Please send a bigger photo.",
    PhotoProblem.ANIMATED: "Animated images aren't supported. Please send a still photo.",
    PhotoProblem.UNSUPPORTED_FORMAT: (
        "I can't read this image format (HEIC/HEIF, as iPhones save photos). Please send it as a photo "
        "rather than a file, so that Telegram converts it, or as a JPEG, PNG or WebP file."
    ),
}

QUALITY_SHORT: dict[QualityIssue, str] = {
    QualityIssue.TOO_SMALL: "small face",
    QualityIssue.TURNED: "turned head",
    QualityIssue.BLURRED: "blurred",
}

QUALITY_ADVICE: dict[QualityIssue, str] = {
    QualityIssue.TOO_SMALL: "the face is small in the photo: come closer or crop around the face",
    QualityIssue.TURNED: "the head is turned: look straight at the camera",
    QualityIssue.BLURRED: "the face is blurred: hold the camera still, in good light",
}


def photo_problem(problem: PhotoProblem, max_file_bytes: int) -> str:
    return PHOTO_PROBLEMS[problem].format(max_mb=max_file_bytes / (1024 * 1024))


def card_note(issues: Sequence[QualityIssue]) -> str | None:
    """The short warning drawn on a card, or None for a good face."""
    if not issues:
        return None
    return "Match may be poor: " + ", ".join(QUALITY_SHORT[issue] for issue in issues)


def card_caption(face_number: int, face_count: int, matches: Sequence[Match],
                 issues: Sequence[QualityIssue]) -> str:
    """The caption under one face's card: its look-alikes with their similarities, then any quality advice."""
    header = f"Face {face_number} of {face_count}: your" if face_count > 1 else "Your"
    lines = [f"{header} {len(matches)} closest CelebA look-alikes"]
    lines += [f"{m.rank}. celebrity #{m.identity} · similarity {m.similarity:.2f}" for m in matches]
    if issues:
        advice = "; ".join(QUALITY_ADVICE[issue] for issue in issues)
        lines.append(f"\n⚠️ The match may be poor: {advice}.")
    return "\n".join(lines)


def faces_skipped(shown: int, skipped: int) -> str:
    return (
        f"There are {shown + skipped} faces in this photo: I showed the {shown} largest and skipped "
        f"{skipped}. Crop the photo to see the others."
    )
