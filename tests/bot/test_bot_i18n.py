"""The Russian catalogue: complete, with the same placeholders as the English texts, and its committed .mo
compiled from its .po (a clean clone serves Russian without compiling anything)."""

from __future__ import annotations

import io
import re
import string
from pathlib import Path

import numpy as np
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from PIL import Image, ImageDraw

from bot import texts
from bot.i18n import DOMAIN, LOCALES_DIR, create_i18n
from index.bands import LookalikeScale
from pipeline.photo import PhotoProblem
from reply.card import ENGLISH, LEGEND_FONT, font
from reply.compare import Verdict
from reply.quality import QualityIssue

BOT_DIR = Path(texts.__file__).parent
TEXT_DIRS = (BOT_DIR, BOT_DIR.parent / "web")  # the web page's own texts (web/texts.py) share the catalogue
KEYWORDS = {"_": None, "ngettext": (1, 2)}


def catalogue(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        return read_po(file, locale=locale)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_committed_mo_is_the_compiled_po() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue("ru"))
    assert (LOCALES_DIR / "ru" / "LC_MESSAGES" / f"{DOMAIN}.mo").read_bytes() == compiled.getvalue(), (
        "run: pybabel compile -d bot/locales -D bot")


def test_every_text_of_the_bot_and_the_web_page_is_translated_with_the_same_placeholders() -> None:
    russian = catalogue("ru")
    used = {found[2] for directory in TEXT_DIRS  # (file, line, message, ...)
            for found in extract_from_dir(str(directory), keywords=KEYWORDS)}
    assert used, "no texts found: the extraction keywords no longer match bot/i18n.py"
    for message in used:
        key = message[0] if isinstance(message, tuple) else message
        entry = russian.get(key)
        assert entry is not None and not entry.fuzzy, f"not in the Russian catalogue: {key!r}"
        originals = message if isinstance(message, tuple) else (message,)
        translations = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for translation in translations:
            assert translation, f"untranslated: {key!r}"
            assert placeholders(translation) == placeholders(originals[-1]), key


def test_the_words_on_the_card_are_russian_for_a_russian_user() -> None:
    scale = LookalikeScale(0.6, 0.45)
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        words, group_words = texts.card_text(), texts.card_text(True)
        note = words.note_for(list(QualityIssue))
    assert note == "Сходство может быть неточным: маленькое лицо, голова повёрнута, размыто"
    assert words.numbered_title.format(number=3) == "Лицо 3: ваши двойники из CelebA"
    assert group_words.you == "Это лицо"
    assert [rule for _, rule in words.legend(scale)][0] == "сильное: ближе, чем самый похожий двойник у 90% людей"
    assert texts.card_text() == ENGLISH  # outside a Russian update: the card's English defaults
    assert ENGLISH.legend(scale) == texts.card_text().legend(scale)


def test_the_card_font_draws_cyrillic() -> None:
    def drawn(text: str) -> np.ndarray:
        image = Image.new("L", (60, 40))
        ImageDraw.Draw(image).text((5, 5), text, font=font(LEGEND_FONT), fill=255)
        return np.asarray(image)

    # a font without these letters draws each as the same "missing glyph" box
    assert drawn("ж").any() and not np.array_equal(drawn("ж"), drawn("щ"))


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_every_text_function_formats_in_both_languages(locale: str) -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(locale):
        produced = [texts.welcome(), texts.queue_full(1), texts.queue_full(3), texts.download_failed(),
                    texts.compare_how(), texts.compare_need_two_faces(1), texts.compare_no_face(2),
                    texts.compare_caption(0.5, Verdict.SAME, 0.435, 0.335), texts.faces_found(13, 10),
                    texts.faces_found(2, 2), texts.faces_found(3, 1),
                    texts.card_text().note_for([QualityIssue.BLURRED]),
                    texts.caption_header(1, 2, 8, third_person=True),
                    *(texts.quality_advice(issue) for issue in QualityIssue),
                    *(texts.photo_problem(problem, 20 * 1024 * 1024) for problem in PhotoProblem),
                    *(texts.verdict_text(verdict) for verdict in Verdict)]
        menu = texts.command_descriptions()
    assert not any(re.search(r"\{\w*\}", text) for text in produced)  # every placeholder filled in
    assert [command for command, _ in menu] == list(texts.COMMANDS)
    cyrillic = [bool(re.search("[а-яА-Я]", text)) for text in produced]
    assert all(cyrillic) if locale == "ru" else not any(cyrillic)
