"""Splitting texts to Telegram's limits (counted in UTF-16 units) and grouping cards into albums."""

from __future__ import annotations

from bot.replies import ALBUM_LIMIT, albums, caption_and_rest, length, split_text
from bot.service import CaptionedPhoto
from bot.texts import CAPTION_LIMIT, MESSAGE_LIMIT


def test_length_counts_utf16_units() -> None:
    assert length("abc") == 3
    assert length("сходство") == 8
    assert length("⚠️") == 2 and length("😀") == 2


def test_a_short_text_is_one_piece() -> None:
    assert split_text("Hello\nworld") == ["Hello\nworld"]


def test_long_text_splits_at_line_breaks_within_the_limit() -> None:
    lines = [f"{n}. celebrity #{n} · similarity 0.5{n % 10} ⚠️" for n in range(400)]
    pieces = split_text("\n".join(lines), MESSAGE_LIMIT)
    assert len(pieces) > 1
    assert all(length(piece) <= MESSAGE_LIMIT for piece in pieces)
    assert "\n".join(pieces).splitlines() == lines  # nothing lost, no line cut


def test_a_line_too_long_splits_at_spaces_and_a_word_too_long_anywhere() -> None:
    words = " ".join(["word"] * 50)
    assert all(length(piece) <= 30 for piece in split_text(words, 30))
    assert " ".join(split_text(words, 30)).split() == words.split()
    emoji_run = "😀" * 40  # 80 units, no space: cut between characters, never inside a surrogate pair
    pieces = split_text(emoji_run, 30)
    assert "".join(pieces) == emoji_run and all(length(piece) <= 30 for piece in pieces)


def test_a_caption_too_long_continues_in_messages() -> None:
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(60))
    caption, rest = caption_and_rest(text)
    assert length(caption) <= CAPTION_LIMIT and rest
    assert all(length(piece) <= MESSAGE_LIMIT for piece in rest)
    assert "\n".join([caption, *rest]) == text
    assert caption_and_rest("short") == ("short", [])


def test_cards_go_out_in_albums_of_at_most_ten() -> None:
    cards = [CaptionedPhoto(jpeg=b"", caption=str(n)) for n in range(23)]
    assert [len(album) for album in albums(cards)] == [ALBUM_LIMIT, ALBUM_LIMIT, 3]
    assert [card for album in albums(cards) for card in album] == cards
