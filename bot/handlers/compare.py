"""/compare: how similar two faces are, with a verdict from the embedder's calibrated threshold.

Two faces come from an album of two photos captioned /compare, from one photo with two faces captioned
/compare, or from /compare replying to a photo followed by a second photo: the bot then remembers the first
photo's file id (not the photo) in aiogram's FSM storage, per chat and user, until the second one arrives,
for at most SECOND_PHOTO_WAIT_S (a photo sent later is an ordinary look-alike request again).
"""

from __future__ import annotations

import time

from aiogram import Bot, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.chat_action import ChatActionSender

from bot import texts
from bot.config import Settings
from bot.handlers.photos import ImageFile, Photo, download, explaining_failures, in_turn, replied_photo, sent_photos
from bot.queue import UserQueue
from bot.replies import reply_photo, reply_text
from bot.service import LookalikeService
from reply.compare import NotEnoughFacesError

SECOND_PHOTO_WAIT_S = 600.0


class Comparing(StatesGroup):
    second_photo = State()  # data: the first photo's file_id and size, and when it was asked for


async def compare(message: Message, files: list[ImageFile], bot: Bot, service: LookalikeService,
                  queue: UserQueue, settings: Settings) -> None:
    """Compare the faces in `files` (one photo or two) and reply to `message`, in the user's turn."""

    async def work() -> None:
        async with ChatActionSender.upload_photo(bot=bot, chat_id=message.chat.id), \
                explaining_failures(message, settings):
            photos = [await download(bot, file, settings.max_file_bytes) for file in files]
            try:
                reply = await service.compare(photos)
            except NotEnoughFacesError as error:
                text = texts.compare_no_face(error.photo) if error.photo else texts.compare_need_two_faces(error.found)
                await reply_text(message, text)
                return
            await reply_photo(message, reply.jpeg, reply.caption, filename="compare.jpg")

    await in_turn(message, queue, work)


async def compare_sent(message: Message, photos: list[Photo], bot: Bot, service: LookalikeService,
                       queue: UserQueue, settings: Settings, state: FSMContext) -> None:
    """/compare as the caption of one photo (its two largest faces) or of an album (its first two photos)."""
    await state.clear()
    await compare(message, [photo.file for photo in photos[:2]], bot, service, queue, settings)


async def wait_for_second(message: Message, photos: list[Photo], state: FSMContext) -> None:
    """/compare replying to a photo: remember that photo, and ask for the second one."""
    first = photos[0].file
    await state.set_state(Comparing.second_photo)
    await state.set_data({"file_id": first.file_id, "size": first.size, "asked_at": time.time()})
    await reply_text(message, texts.compare_send_second())


async def first_photo(message: Message, state: FSMContext) -> dict[str, ImageFile] | bool:
    """Filter: the first photo of a /compare waiting for its second, as `first`; a wait that has run out is
    forgotten."""
    data = await state.get_data()
    if time.time() - data["asked_at"] > SECOND_PHOTO_WAIT_S:
        await state.clear()
        return False
    return {"first": ImageFile(data["file_id"], data["size"])}


async def compare_with_first(message: Message, photos: list[Photo], first: ImageFile, bot: Bot,
                             service: LookalikeService, queue: UserQueue, settings: Settings,
                             state: FSMContext) -> None:
    """The second photo after /compare replied to the first."""
    await state.clear()
    await compare(photos[0].message, [first, photos[0].file], bot, service, queue, settings)


async def explain_compare(message: Message, state: FSMContext) -> None:
    await state.clear()
    await reply_text(message, texts.compare_how())


def create_router() -> Router:
    router = Router(name="compare")
    command = Command("compare")  # also "/compare@<this bot>", never "/compare@other_bot"
    router.message.register(compare_sent, command, sent_photos)
    router.message.register(wait_for_second, command, replied_photo)
    router.message.register(explain_compare, command)
    router.message.register(compare_with_first, StateFilter(Comparing.second_photo), sent_photos, first_photo)
    return router
