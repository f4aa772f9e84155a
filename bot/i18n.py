"""English and Russian: every user-facing text goes through `_` (or `ngettext`), aiogram's gettext i18n.

The language is the user's Telegram `language_code` (SimpleI18nMiddleware); a language without a catalogue
gets English, the language the texts are written in. Catalogues are bot/locales/<lang>/LC_MESSAGES/bot.po,
compiled to bot.mo beside them (both committed; tests/bot/test_bot_i18n.py checks the .mo is up to date):

    pybabel extract -k _ -k ngettext:1,2 -o bot/locales/bot.pot bot
    pybabel update -i bot/locales/bot.pot -d bot/locales -D bot
    pybabel compile -d bot/locales -D bot
"""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import I18n

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "bot"
DEFAULT_LOCALE = "en"


def create_i18n() -> I18n:
    """The bot's catalogues, loaded once at start-up (compiled .mo files: nothing is written)."""
    return I18n(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def _(text: str) -> str:
    """`text` in the language of the update being handled; as written outside one (tests, start-up logs)."""
    i18n = I18n.get_current(no_error=True)
    return text if i18n is None else i18n.gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, translated as `_` does."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        return singular if n == 1 else plural
    return i18n.gettext(singular, plural, n)
