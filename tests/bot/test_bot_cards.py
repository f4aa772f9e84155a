"""What a card says, through the real bot and the fake Bot API server: the closest named celebrity in the
caption and on the card when the index has a named gallery, the card's words in the user's language, and the
same cards, byte for byte, from `lookalike query`."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from harness import cards_for, running_bot
from PIL import Image

from bot import texts
from bot.i18n import create_i18n
from bot.service import LookalikeService
from cli.main import main as lookalike
from reply.card import ENGLISH, CardText
from reply.replier import Replier
from serving import InferenceConfig, LocalPool

ALICE, BOB = 601, 602
NAMED_LINE = re.compile(r"Closest named celebrity: (.+) · similarity (0\.\d\d)")


@pytest.fixture(scope="module")
def named_service(inference_config: InferenceConfig, named_index: Path) -> Iterator[LookalikeService]:
    """The bot's service over the small index with a named gallery (tests/conftest.py)."""
    service = LookalikeService(LocalPool(dataclasses.replace(inference_config, index_dir=named_index), workers=1))
    yield service
    service.close()


def russian_card_text() -> CardText:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        return texts.card_text()


def test_the_caption_and_the_card_name_the_closest_named_celebrity(named_service: LookalikeService,
                                                                   bot_service: LookalikeService, face_jpeg: bytes,
                                                                   two_faces_jpeg: bytes,
                                                                   named_people: tuple[str, ...]) -> None:
    async def scenario() -> None:
        async with running_bot(named_service) as api:
            api.send(api.photo_message(ALICE, face_jpeg), api.photo_message(BOB, two_faces_jpeg, language="ru"))
            await api.wait_for(lambda: cards_for(api, ALICE, 1) and cards_for(api, BOB, 3))
        (caption,) = api.cards(ALICE)
        named = NAMED_LINE.search(caption)
        assert named is not None and named.group(1) in named_people, caption
        assert caption.splitlines()[-1] == named.group(0)  # after the 8 CelebA look-alikes
        with_named = Image.open(io.BytesIO(api.sent("sendPhoto", ALICE)[0].photos()[0]))
        without_named = Image.open(io.BytesIO((await bot_service.find_lookalikes(face_jpeg)).cards[0].jpeg))
        assert with_named.height > without_named.height  # the card's own row for the named celebrity
        overview, *cards = api.cards(BOB)  # several faces: each card names its own face's closest named person
        assert len(cards) == 2 and all(re.search(r"Самая похожая знаменитость с именем: .+ · сходство 0\.\d\d", card)
                                       for card in cards)

    asyncio.run(scenario())


def test_a_russian_users_card_is_drawn_with_the_russian_legend(in_process_service: LookalikeService, face_jpeg: bytes,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    drawn_with: list[CardText] = []
    card = Replier.card

    def recording_card(replier: Replier, face_matches, issues=(), text: CardText = ENGLISH) -> np.ndarray:
        drawn_with.append(text)
        return card(replier, face_matches, issues, text)

    monkeypatch.setattr(Replier, "card", recording_card)

    async def scenario() -> None:
        async with running_bot(in_process_service) as api:
            api.send(api.photo_message(ALICE, face_jpeg, language="ru"))
            await api.wait_for(lambda: cards_for(api, ALICE, 1))
            api.send(api.photo_message(BOB, face_jpeg, language="en"))
            await api.wait_for(lambda: cards_for(api, BOB, 1))
        russian, english = (api.sent("sendPhoto", user)[0].photos()[0] for user in (ALICE, BOB))
        assert drawn_with == [russian_card_text(), ENGLISH]
        scale = in_process_service.pool.scales.scale
        assert scale is not None and russian_card_text().legend(scale)[0][1].startswith("сильное: ближе, чем")
        assert russian != english  # the same photo and look-alikes, drawn in other words

    asyncio.run(scenario())


def test_the_command_line_writes_the_cards_the_bot_sends(bot_service: LookalikeService, small_index,
                                                         face_jpeg: bytes, tiny_face_jpeg: bytes, tmp_path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """One reply path (reply/replier.py): a good face and a tiny one, whose card carries the quality note."""
    photos = {"face": face_jpeg, "tiny": tiny_face_jpeg}
    for name, data in photos.items():
        (tmp_path / f"{name}.jpg").write_bytes(data)
    status = lookalike(["query", *(str(tmp_path / f"{name}.jpg") for name in photos), "--index", str(small_index),
                        "--out", str(tmp_path / "cards")])
    assert status == 0 and "Match may be poor: small face" in capsys.readouterr().out

    async def scenario() -> list[bytes]:
        async with running_bot(bot_service) as api:
            for user, data in zip((ALICE, BOB), photos.values(), strict=True):
                api.send(api.photo_message(user, data))
                await api.wait_for(lambda user=user: cards_for(api, user, 1))
            return [api.sent("sendPhoto", user)[0].photos()[0] for user in (ALICE, BOB)]

    sent = asyncio.run(scenario())
    assert sent == [(tmp_path / "cards" / f"{name}_face1.jpg").read_bytes() for name in photos]
