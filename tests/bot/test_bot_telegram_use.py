"""Ordinary Telegram use through the real bot and the fake Bot API server: albums, several photos at once, a
full queue, groups, many faces, other languages, and Telegram refusing a file."""

from __future__ import annotations

import asyncio
import json

from fake_bot_api import BOT_USERNAME, FakeBotAPI, Fault
from harness import ONE_CARD, TWO_CARDS, cards_for, problem_text, running_bot

from bot import texts
from bot.i18n import create_i18n
from bot.service import LookalikeService
from pipeline.photo import PhotoProblem

ALICE, BOB, CAROL, DAVE = 501, 502, 503, 504
GROUP = -100500


def replies_to(api: FakeBotAPI, chat_id: int) -> list[int | None]:
    """The message each answer in the chat replies to, in order (chat actions left out)."""
    return [call.reply_to for call in api.calls
            if call.chat_id_or_none == chat_id and call.method in ("sendMessage", "sendPhoto", "sendMediaGroup")]


def test_an_album_of_three_gets_three_answers_and_no_refusal(bot_service: LookalikeService, face_jpeg: bytes,
                                                             two_faces_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service, queue_length=0) as api:  # an album is one request, even so
            album = api.album(api.photo_message(ALICE, face_jpeg), api.photo_message(ALICE, two_faces_jpeg),
                              api.photo_message(ALICE, face_jpeg))
            api.send(*album)
            await api.wait_for(lambda: cards_for(api, ALICE, 5))
        assert api.received(ALICE) == [ONE_CARD, *TWO_CARDS, ONE_CARD]
        assert replies_to(api, ALICE) == [message["message_id"] for message in album]  # each photo answered
        assert len(api.downloads) == 3

    asyncio.run(scenario())


def test_five_photos_in_one_second_get_five_answers_in_order(bot_service: LookalikeService, face_jpeg: bytes,
                                                            two_faces_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            photos = [api.photo_message(ALICE, two_faces_jpeg if number % 2 else face_jpeg) for number in range(5)]
            api.send(*photos)
            await api.wait_for(lambda: cards_for(api, ALICE, 9))
        assert api.received(ALICE) == [ONE_CARD, *TWO_CARDS, ONE_CARD, *TWO_CARDS, ONE_CARD]
        assert replies_to(api, ALICE) == [photo["message_id"] for photo in photos]

    asyncio.run(scenario())


def test_past_the_queue_length_the_user_is_told_how_many_photos_are_waiting(bot_service: LookalikeService,
                                                                           face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service, queue_length=1) as api:
            photos = [api.photo_message(ALICE, face_jpeg) for _ in range(4)]
            api.send(*photos, api.photo_message(BOB, face_jpeg))
            await api.wait_for(lambda: cards_for(api, ALICE, 2) and len(api.texts(ALICE)) == 2
                               and cards_for(api, BOB, 1))
        # The first is answered, the second waits its turn; the third and fourth find two unanswered.
        assert api.texts(ALICE) == [texts.queue_full(2)] * 2
        assert "2 photos waiting" in texts.queue_full(2)
        assert sorted(replies_to(api, ALICE)) == [photo["message_id"] for photo in photos]
        assert api.received(BOB) == [ONE_CARD]  # another user's queue is their own

    asyncio.run(scenario())


def test_in_a_group_only_top8_for_this_bot_is_answered_as_a_reply_about_this_face(
        bot_service: LookalikeService, face_jpeg: bytes, two_faces_jpeg: bytes) -> None:
    group = FakeBotAPI.group_chat(GROUP)

    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            photo = api.photo_message(ALICE, face_jpeg, chat=group)
            for_us = api.text_message(BOB, f"/top8@{BOT_USERNAME}", chat=group, reply_to_message=photo)
            captioned = api.photo_message(CAROL, two_faces_jpeg, caption="/top8", chat=group)
            api.send(
                photo,  # a plain photo: not for the bot
                api.photo_message(ALICE, face_jpeg, caption="/top8@other_bot", chat=group),
                api.text_message(BOB, "/top8@other_bot", chat=group, reply_to_message=photo),
                api.document_message(DAVE, b"minutes of the meeting", "notes.txt", "text/plain", chat=group),
                api.text_message(DAVE, "nice photo!", chat=group),
                for_us,
                captioned,
            )
            await api.wait_for(lambda: cards_for(api, GROUP, 4))
        # Two users, answered side by side: in either order.
        assert sorted(api.received(GROUP)) == ["card: 8 closest CelebA look-alikes of this face",
                                               "card: Face 1 of 2: 8 closest CelebA look-alikes of this face",
                                               "card: Face 2 of 2: 8 closest CelebA look-alikes of this face",
                                               "card: I found 2 faces."]
        assert sorted(replies_to(api, GROUP)) == [photo["message_id"], captioned["message_id"]]
        assert not any("your" in caption.lower() for caption in api.cards(GROUP))
        assert len(api.downloads) == 2

    asyncio.run(scenario())


def test_eight_faces_are_answered_as_one_album(bot_service: LookalikeService, eight_faces_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.photo_message(ALICE, eight_faces_jpeg))
            await api.wait_for(lambda: cards_for(api, ALICE, 9))
        (album,) = api.sent("sendMediaGroup", ALICE)
        assert api.sent("sendPhoto") == [] and api.texts(ALICE) == []
        cards = [f"card: Face {n} of 8: your 8 closest CelebA look-alikes" for n in range(1, 9)]
        assert api.received(ALICE) == ["card: I found 8 faces.", *cards]  # the numbered overview first
        assert all(caption.count("similarity") == 8 for caption in album.captions()[1:])

    asyncio.run(scenario())


def test_a_russian_speaking_user_gets_russian_texts_and_the_menu_in_both_languages(
        bot_service: LookalikeService, face_jpeg: bytes) -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        welcome_ru, no_face_ru = texts.welcome(), texts.no_face()

    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.send(api.text_message(ALICE, "/start", language="ru"),
                     api.photo_message(ALICE, face_jpeg, language="ru"),
                     api.text_message(BOB, "/start", language="en"),
                     api.text_message(CAROL, "/help", language="de"))  # no German: English
            await api.wait_for(lambda: cards_for(api, ALICE, 1) and api.texts(BOB) and api.texts(CAROL))
            menus = {call.fields.get("language_code"): json.loads(call.fields["commands"])
                     for call in api.sent("setMyCommands")}
        assert api.texts(ALICE) == [welcome_ru] and welcome_ru.startswith("Привет!")
        assert api.received(ALICE)[1] == "card: Ваши 8 самых похожих знаменитостей CelebA"
        assert "сходство" in api.cards(ALICE)[0]
        assert api.texts(BOB) == api.texts(CAROL) == [texts.welcome()]
        assert no_face_ru != texts.no_face()
        assert set(menus) == {None, "ru"}
        assert [command["command"] for command in menus[None]] == [command["command"] for command in menus["ru"]]
        assert menus[None][0]["description"] == "what this bot does"
        assert menus["ru"][0]["description"] == "что умеет этот бот"

    asyncio.run(scenario())


def test_a_file_telegram_will_not_serve_gets_the_too_large_message(bot_service: LookalikeService,
                                                                   face_jpeg: bytes) -> None:
    """getFile answers 400 "file is too big" (files over 20 MB on the cloud Bot API), or gives no file path."""

    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.inject("getFile", Fault.error(400, description="Bad Request: file is too big"))
            api.send(api.photo_message(ALICE, face_jpeg))
            await api.wait_for(lambda: api.texts(ALICE))
            pathless = api.photo_message(BOB, face_jpeg)
            api.pathless.add(pathless["photo"][0]["file_id"])
            api.send(pathless)
            await api.wait_for(lambda: api.texts(BOB))
        assert api.texts(ALICE) == api.texts(BOB) == [problem_text(PhotoProblem.TOO_LARGE_FILE)]
        assert api.downloads == []

    asyncio.run(scenario())


def test_a_file_telegram_cannot_find_gets_send_it_again(bot_service: LookalikeService, face_jpeg: bytes) -> None:
    async def scenario() -> None:
        async with running_bot(bot_service) as api:
            api.inject("getFile", Fault.error(400, description="Bad Request: wrong file_id or the file is "
                                                               "temporarily unavailable"))
            api.send(api.photo_message(ALICE, face_jpeg))
            await api.wait_for(lambda: api.texts(ALICE))
        assert api.texts(ALICE) == [texts.download_failed()]

    asyncio.run(scenario())
