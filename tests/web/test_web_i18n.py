"""The web page's own words are in the bot's Russian catalogue (complete, same placeholders), and every text
function of the page formats in both languages; the .mo staleness check is tests/bot/test_bot_i18n.py's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot.i18n import create_i18n
from pipeline.photo import PhotoProblem
from tests.bot.test_bot_i18n import KEYWORDS, catalogue, placeholders
from web import texts as page_texts
from web.upload import UploadProblem

WEB_DIR = Path(page_texts.__file__).parent


def test_every_text_of_the_page_is_translated_with_the_same_placeholders() -> None:
    russian = catalogue("ru")
    used = [found[2] for found in extract_from_dir(str(WEB_DIR), keywords=KEYWORDS)]  # (file, line, message, ...)
    assert len(used) > 20, "the page's texts were not found: the extraction keywords no longer match web/texts.py"
    for message in used:
        key = message[0] if isinstance(message, tuple) else message
        entry = russian.get(key)
        assert entry is not None and not entry.fuzzy, f"not in the Russian catalogue (README Languages): {key!r}"
        originals = message if isinstance(message, tuple) else (message,)
        translations = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for translation in translations:
            assert translation, f"untranslated: {key!r}"
            assert placeholders(translation) == placeholders(originals[-1]), key


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_every_text_of_the_page_formats_in_both_languages(locale: str) -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(locale):
        produced = [page_texts.page_title(), page_texts.compare_title(), page_texts.intro(1), page_texts.intro(8),
                    page_texts.compare_intro(), page_texts.choose_photo(), page_texts.camera_hint(),
                    page_texts.first_photo(), page_texts.second_photo(), page_texts.find_button(),
                    page_texts.compare_button(), page_texts.working(), page_texts.comparing(),
                    page_texts.to_lookup(), page_texts.to_compare(), page_texts.privacy(), page_texts.overview_alt(),
                    page_texts.card_alt(2), page_texts.compared_alt(), page_texts.rate_limited(1),
                    page_texts.rate_limited(12), page_texts.busy(), page_texts.upload_too_slow(),
                    page_texts.compare_need_two_faces(1), page_texts.compare_need_two_faces(3),
                    *(page_texts.upload_problem(problem, 2) for problem in UploadProblem),
                    *(page_texts.photo_problem(problem, 20 * 2**20) for problem in PhotoProblem)]
    assert not any(re.search(r"\{\w*\}", text) for text in produced)  # every placeholder filled in
    cyrillic = [bool(re.search("[а-яА-Я]", text)) for text in produced]
    assert all(cyrillic) if locale == "ru" else not any(cyrillic)
