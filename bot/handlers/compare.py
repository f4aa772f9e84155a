"""/compare: how similar two faces are, with a verdict from the embedder's calibrated threshold.

Two faces come from an album of two photos captioned /compare, from one photo with two faces captioned
/compare, or from /compare replying to a photo followed by a second photo: the bot then remembers the first
photo's file id (not the photo) in aiogram's FSM storage (memory, or Redis with a TTL when distributed), per chat
and user, until the second one arrives, for at most SECOND_PHOTO_WAIT_S (a photo sent later is an ordinary
look-alike request again). The wait is one write of the FSM data (no separate state), so a photo arriving in
between never sees half of it.
"""

from __future__ import annotations

import time

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, Update
from aiogram.utils.i18n import I18n

from bot import texts
from bot.config import Settings
from bot.handlers.photos import ImageFile, Photo, accept, replied_photo, sent_photos
from bot.replies import reply_text
from bot.requests import RequestKind, Requests

SECOND_PHOTO_WAIT_S = 600.0
WAITING = "compare_first"  # the FSM data key of a /compare waiting for its second photo


async def compare(message: Message, files: list[ImageFile], bot: Bot, requests: Requests, settings: Settings,
                  event_update: Update, i18n: I18n) -> None:
    """Compare the faces in `files` (one photo or two) and reply to `message`, in the sender's turn."""
    await accept(RequestKind.COMPARE, message, [(None, file) for file in files], bot, requests, settings,
                 event_update, i18n)


async def compare_sent(message: Message, photos: list[Photo], bot: Bot, requests: Requests, settings: Settings,
                       state: FSMContext, event_update: Update, i18n: I18n) -> None:
    """/compare as the caption of one photo (its two largest faces) or of an album (its first two photos)."""
    await state.set_data({})
    await compare(message, [photo.file for photo in photos[:2]], bot, requests, settings, event_update, i18n)


async def wait_for_second(message: Message, photos: list[Photo], state: FSMContext) -> None:
    """/compare replying to a photo: remember that photo (in one write: the wait and its data together), and ask
    for the second one."""
    first = photos[0].file
    await state.set_data({WAITING: {"file_id": first.file_id, "size": first.size, "asked_at": time.time()}})
    await reply_text(message, texts.compare_send_second())


async def first_photo(message: Message, state: FSMContext) -> dict[str, ImageFile] | bool:
    """Filter: the first photo of a /compare waiting for its second, as `first`; a wait that has run out is
    forgotten."""
    waiting = (await state.get_data()).get(WAITING)
    if waiting is None:
        return False
    if time.time() - waiting["asked_at"] > SECOND_PHOTO_WAIT_S:
        await state.set_data({})
        return False
    return {"first": ImageFile(waiting["file_id"], waiting["size"])}


async def compare_with_first(message: Message, photos: list[Photo], first: ImageFile, bot: Bot, requests: Requests,
                             settings: Settings, state: FSMContext, event_update: Update, i18n: I18n) -> None:
    """The second photo after /compare replied to the first."""
    await state.set_data({})
    await compare(photos[0].message, [first, photos[0].file], bot, requests, settings, event_update, i18n)


async def explain_compare(message: Message, state: FSMContext) -> None:
    await state.set_data({})
    await reply_text(message, texts.compare_how())


def create_router() -> Router:
    router = Router(name="compare")
    command = Command("compare")  # also "/compare@<this bot>", never "/compare@other_bot"
    router.message.register(compare_sent, command, sent_photos)
    router.message.register(wait_for_second, command, replied_photo)
    router.message.register(explain_compare, command)
    router.message.register(compare_with_first, sent_photos, first_photo)
    return router
