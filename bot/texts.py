"""Every text the bot sends to users, in one place (plain text, no parse mode), in the user's language.

Each text is a function so that `_` (bot/i18n.py) translates it for the update being handled; outside an
update (tests, benchmarks) the English original comes back. The words drawn on the card image (card_text,
its quality note included) are translated too.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import _, ngettext
from index.gallery import Match
from pipeline.photo import PhotoProblem
from reply.card import CardText
from reply.compare import Verdict
from reply.quality import QualityIssue

# Telegram's limits, in UTF-16 code units (how it counts the length of a text).
CAPTION_LIMIT = 1024
MESSAGE_LIMIT = 4096

COMMANDS = ("start", "help", "top8", "compare")


def command_descriptions() -> list[tuple[str, str]]:
    """(command, description) for Telegram's command menu (setMyCommands), in the current language."""
    descriptions = {
        "start": _("what this bot does"),
        "help": _("how to get a good result"),
        "top8": _("celebrity look-alikes of a photo"),
        "compare": _("how similar two faces are"),
    }
    return [(command, descriptions[command]) for command in COMMANDS]


def tips() -> str:
    return _("For the best result: one face, looking straight at the camera, in good light, "
             "filling a good part of the photo, not blurred.")


def welcome() -> str:
    """The answer to /start and /help."""
    return _(
        "Hi! I tell you which celebrities you look like.\n\n"
        "Send me a photo (or an image file, or an album of photos) with one or more faces. For every face I "
        "send a card with its 8 closest look-alikes from the CelebA celebrity photo set and how similar they "
        "are (a similarity of at most 1: higher is closer). Send several photos at once and I answer each in "
        "turn.\n\n"
        "/top8 does the same: as the caption of a photo, or as a reply to a photo. In a group I answer only "
        "/top8 (and /compare), so add it as the photo's caption or reply /top8 to the photo.\n\n"
        "/compare tells how similar two faces are: send two photos as an album with the caption /compare, or "
        "one photo with two faces and the caption /compare, or reply /compare to a photo and then send the "
        "second photo.\n\n"
        "{tips}\n\n"
        "Privacy: your photos are processed in memory and never stored."
    ).format(tips=tips())


def ask_for_photo() -> str:
    return _("Send me a photo with /top8 as its caption, or reply /top8 to a photo in this chat.")


def send_a_photo() -> str:
    return _("I only understand photos. Send me a photo with a face, or /help to learn more.")


def queue_full(waiting: int) -> str:
    """Past the per-user queue: a true account of what is waiting, and what to do."""
    return ngettext(
        "You already have {count} photo waiting for its answer; I answer them in order. "
        "Send this one again once it is answered.",
        "You already have {count} photos waiting for their answers; I answer them in order. "
        "Send this one again once they are answered.",
        waiting,
    ).format(count=waiting)


def busy() -> str:
    """Past the global admission limit (MAX_PENDING_PHOTOS): nothing was accepted."""
    return _("I'm busy with a lot of photos right now. Please send this one again in a minute.")


def photo_expired() -> str:
    """A photo that waited for a free worker longer than it may be kept (JOB_TTL_SECONDS)."""
    return _("Sorry, I couldn't get to this photo in time. Please send it again.")


def no_face() -> str:
    return _("I couldn't find a face in this photo.\n\n{tips}").format(tips=tips())


def something_went_wrong() -> str:
    return _("Sorry, something went wrong on my side. Please try again in a minute.")


def download_failed() -> str:
    return _("I couldn't download this photo from Telegram. Please send it again.")


def photo_problem(problem: PhotoProblem, max_file_bytes: int) -> str:
    messages: dict[PhotoProblem, str] = {
        PhotoProblem.EMPTY: _("That file is empty. Please send a photo."),
        PhotoProblem.TOO_LARGE_FILE: _(
            "That file is too large (my limit is {max_mb:g} MB). Please send a smaller photo, "
            "or send it as a photo rather than a file so that Telegram compresses it."
        ),
        PhotoProblem.NOT_AN_IMAGE: _("That doesn't look like an image. Please send a photo (JPEG, PNG or WebP)."),
        PhotoProblem.CORRUPT: _("I couldn't read that image: the file seems damaged. Please try another photo."),
        PhotoProblem.TOO_MANY_PIXELS: _(
            "That image has too many pixels for me. Please send a smaller one; an ordinary phone photo is fine."
        ),
        PhotoProblem.TOO_SMALL: _("That image is too small to find a face in. Please send a bigger photo."),
        PhotoProblem.ANIMATED: _("Animated images aren't supported. Please send a still photo."),
        PhotoProblem.UNSUPPORTED_FORMAT: _(
            "I can't read this image format (HEIC/HEIF, as iPhones save photos). Please send it as a photo "
            "rather than a file, so that Telegram converts it, or as a JPEG, PNG or WebP file."
        ),
    }
    return messages[problem].format(max_mb=max_file_bytes / (1024 * 1024))


def quality_advice(issue: QualityIssue) -> str:
    return {
        QualityIssue.TOO_SMALL: _("the face is small in the photo: come closer or crop around the face"),
        QualityIssue.TURNED: _("the head is turned: look straight at the camera"),
        QualityIssue.BLURRED: _("the face is blurred: hold the camera still, in good light"),
    }[issue]


def caption_header(face_number: int, face_count: int, lookalikes: int, third_person: bool) -> str:
    """The card caption's first line: whose look-alikes these are. `third_person` in groups, where the photo
    may show anyone."""
    if third_person:
        body = ngettext("{count} closest CelebA look-alike of this face",
                        "{count} closest CelebA look-alikes of this face", lookalikes)
    else:
        body = ngettext("your {count} closest CelebA look-alike", "your {count} closest CelebA look-alikes",
                        lookalikes)
    body = body.format(count=lookalikes)
    if face_count == 1:
        return body[:1].upper() + body[1:]
    return _("Face {number} of {total}: {lookalikes}").format(number=face_number, total=face_count, lookalikes=body)


def named_line(named: Match) -> str:
    """The caption's line on the closest named celebrity (a second gallery, when the index has one)."""
    return _("Closest named celebrity: {name} · similarity {similarity:.2f}").format(
        name=named.name, similarity=named.similarity)


def card_caption(face_number: int, face_count: int, matches: Sequence[Match], issues: Sequence[QualityIssue],
                 third_person: bool = False, named: Match | None = None) -> str:
    """The caption under one face's card: its look-alikes with their similarities, the closest named celebrity
    when there is one, then any quality advice. `face_number` is the face's number on the overview."""
    lines = [caption_header(face_number, face_count, len(matches), third_person)]
    lines += [_("{rank}. celebrity #{identity} · similarity {similarity:.2f}").format(
        rank=m.rank, identity=m.identity, similarity=m.similarity) for m in matches]
    if named is not None:
        lines.append(named_line(named))
    if issues:
        advice = "; ".join(quality_advice(issue) for issue in issues)
        lines.append("\n" + _("⚠️ The match may be poor: {advice}.").format(advice=advice))
    return "\n".join(lines)


def faces_found(found: int, shown: int) -> str:
    """The caption of the overview (a photo of several faces, numbered as the cards are): what the detector
    found, never a claim about what the photo holds, and how many faces got no card (beyond MAX_FACES)."""
    skipped = found - shown
    if skipped <= 0:
        return ngettext("I found {found} face.", "I found {found} faces.", found).format(found=found)
    if shown == 1:
        return ngettext("I found {found} face: here is the largest ({skipped} more).",
                        "I found {found} faces: here is the largest ({skipped} more).",
                        found).format(found=found, skipped=skipped)
    return ngettext("I found {found} face: here are the {shown} largest ({skipped} more).",
                    "I found {found} faces: here are the {shown} largest ({skipped} more).",
                    found).format(found=found, shown=shown, skipped=skipped)


def compare_how() -> str:
    return _(
        "To compare two faces, send two photos as an album with the caption /compare, or one photo with two "
        "faces and the caption /compare, or reply /compare to a photo and then send the second photo."
    )


def compare_send_second() -> str:
    return _("Got the first photo. Now send the second one (in a group: as a reply to this message), and I'll "
             "compare the two faces.")


def compare_need_two_faces(found: int) -> str:
    return ngettext(
        "I found {count} face, and I need two to compare. {how}",
        "I found {count} faces, and I need two to compare. {how}",
        found,
    ).format(count=found, how=compare_how())


def compare_no_face(photo_number: int) -> str:
    return _("I couldn't find a face in photo {number}, so there is nothing to compare. {tips}").format(
        number=photo_number, tips=tips())


def verdict_text(verdict: Verdict) -> str:
    return {
        Verdict.SAME: _("likely the same person"),
        Verdict.LOOKALIKE: _("look-alikes: similar faces, probably two different people"),
        Verdict.DIFFERENT: _("different people"),
    }[verdict]


def compare_caption(similarity: float, verdict: Verdict, same_from: float, lookalike_from: float) -> str:
    """The caption under the two faces side by side."""
    return _(
        "Similarity {similarity:.2f}: {verdict}.\n\n"
        "The model takes two faces for the same person from {same_from:.2f}, and calls them look-alikes from "
        "{lookalike_from:.2f} (1 is the highest)."
    ).format(similarity=similarity, verdict=verdict_text(verdict), same_from=same_from,
             lookalike_from=lookalike_from)


# Drawn on the card image (reply/card.py draws it in DejaVu Sans, which has Cyrillic letters).


def card_text(third_person: bool = False) -> CardText:
    """The words on the card in the current language: about "this face" rather than "you" in groups.
    Placeholders as reply.card.CardText documents them."""
    if third_person:
        title, numbered_title, you = (_("CelebA look-alikes of this face"), _("Face {number}: CelebA look-alikes"),
                                      _("This face"))
    else:
        title, numbered_title, you = (_("Your CelebA look-alikes"), _("Face {number}: your CelebA look-alikes"),
                                      _("You"))
    return CardText(
        title=title, numbered_title=numbered_title, you=you,
        celeba_person=_("CelebA #{identity}"),
        named=_("Closest named celebrity: {name}"),
        strong=_("strong: closer than {percent} of people's closest look-alike"),
        similar=_("similar: closer than {percent} of people's closest look-alike"),
        weak=_("weak: as close as most people's look-alikes"),
        note=_("Match may be poor: {issues}"),
        small_face=_("small face"), turned_head=_("turned head"), blurred=_("blurred"),
    )
