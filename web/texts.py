"""The web page's own words, in the request's language (English or Russian), from the bot's catalogues
(bot/locales, through bot/i18n.py's `_`): the answers themselves (captions, what was found, verdicts, the
photo problems) are the bot's texts (bot/texts.py), so both say the same; only what is about a web page rather
than a chat is written here. README "Languages" says how to extract, translate and compile them.
"""

from __future__ import annotations

from bot import texts
from bot.i18n import _, ngettext
from pipeline.photo import PhotoProblem
from web.upload import UploadProblem

MB = 1024 * 1024


def page_title() -> str:
    return _("Celebrity look-alikes")


def compare_title() -> str:
    return _("How similar are two faces?")


def intro(lookalikes: int) -> str:
    return ngettext(
        "Choose a photo with one or more faces. For every face you get a card with its {count} closest look-alike "
        "from the CelebA celebrity photo set and how similar it is (a similarity of at most 1: higher is closer).",
        "Choose a photo with one or more faces. For every face you get a card with its {count} closest look-alikes "
        "from the CelebA celebrity photo set and how similar they are (a similarity of at most 1: higher is closer).",
        lookalikes,
    ).format(count=lookalikes)


def compare_intro() -> str:
    return _("Choose two photos (the largest face of each is compared), or one photo with two faces.")


def choose_photo() -> str:
    return _("Choose a photo or drop it here")


def camera_hint() -> str:
    return _("On a phone you can also take one with the camera.")


def first_photo() -> str:
    return _("First photo")


def second_photo() -> str:
    return _("Second photo (not needed if the first one shows two faces)")


def find_button() -> str:
    return _("Find my look-alikes")


def compare_button() -> str:
    return _("Compare the faces")


def working() -> str:
    return _("Looking for the faces and their look-alikes…")


def comparing() -> str:
    return _("Comparing the faces…")


def to_lookup() -> str:
    return _("Look-alikes of a photo")


def to_compare() -> str:
    return _("Compare two faces")


def privacy() -> str:
    return _("Privacy: your photos are processed in memory and never stored.")


def overview_alt() -> str:
    return _("The photo with the faces numbered")


def card_alt(number: int) -> str:
    return _("Card of face {number}: the face beside its look-alikes").format(number=number)


def compared_alt() -> str:
    return _("The two faces side by side")


def rate_limited(seconds: int) -> str:
    return ngettext("You sent many photos in a short time. Please wait {seconds} second and try again.",
                    "You sent many photos in a short time. Please wait {seconds} seconds and try again.",
                    seconds).format(seconds=seconds)


def busy() -> str:
    return _("Many people are sending photos right now and every place in the queue is taken. Please try again "
             "in a few seconds.")


def upload_too_slow() -> str:
    return _("Receiving the photo took too long. Please try again, or choose a smaller photo.")


def upload_problem(problem: UploadProblem, most: int) -> str:
    if problem is UploadProblem.TOO_MANY_PHOTOS:
        return ngettext("Please choose at most {count} photo.", "Please choose at most {count} photos.",
                        most).format(count=most)
    return _("Please choose a photo first.")


def photo_problem(problem: PhotoProblem, max_bytes: int) -> str:
    """The bot's answer to an unusable photo, but for the two that speak of Telegram."""
    if problem is PhotoProblem.TOO_LARGE_FILE:
        return _("That file is too large (my limit is {max_mb:g} MB). Please choose a smaller photo.").format(
            max_mb=max_bytes / MB)
    if problem is PhotoProblem.UNSUPPORTED_FORMAT:
        return _("I can't read this image format (HEIC/HEIF, as iPhones save photos). Please choose a JPEG, PNG "
                 "or WebP photo.")
    return texts.photo_problem(problem, max_bytes)


def compare_need_two_faces(found: int) -> str:
    return ngettext("I found {count} face, and I need two to compare. Please choose two photos, or one photo with "
                    "two faces.",
                    "I found {count} faces, and I need two to compare. Please choose two photos, or one photo with "
                    "two faces.",
                    found).format(count=found)
