"""Every text function of the web page formats in both languages. (That the page's words are all in the Russian
catalogue with the same placeholders, and the .mo is compiled from it, is checked with the bot's, in
tests/bot/test_bot_i18n.py.)"""

from __future__ import annotations

import re

import pytest

from bot.i18n import create_i18n
from pipeline.photo import PhotoProblem
from web import texts as page_texts
from web.upload import UploadProblem


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
