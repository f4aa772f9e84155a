"""The web page's HTML: the look-up page and the /compare page, each with its answer (or a clear error) below the
form, in the request's language. Pictures are inline JPEG `data:` URLs, the bot's cards byte for byte: the app
keeps nothing to serve later. The only other files the page loads are its own CSS and JS (web/static/), so it
works offline and behind its Content-Security-Policy ('self' only).

Every text goes through html.escape; the words come from bot/texts.py (the answer, as the bot says it) and
web/texts.py (the page itself).
"""

from __future__ import annotations

import base64
from html import escape

from bot import texts
from pipeline.photo import PhotoProblem
from reply.replier import FaceReply, Reply
from web import texts as page_texts

LOOKUP_PATH = "/"
COMPARE_PATH = "/compare"


def data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def attribute(value: str | int) -> str:
    return escape(str(value), quote=True)


def document(lang: str, title: str, current: str, main: str) -> str:
    """A whole page: the header with both pages' links (the current one marked), then `main`."""
    marked = ' aria-current="page"'
    links = "".join(
        f'<a href="{path}"{marked if path == current else ""}>{escape(label)}</a>'
        for path, label in ((LOOKUP_PATH, page_texts.to_lookup()), (COMPARE_PATH, page_texts.to_compare())))
    return (f'<!doctype html>\n<html lang="{attribute(lang)}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{escape(title)}</title>\n<link rel="stylesheet" href="/static/page.css">\n'
            '<script src="/static/page.js" defer></script>\n</head>\n<body>\n'
            f'<header class="top"><nav>{links}</nav></header>\n'
            f'<main>\n{main}\n<p class="privacy">{escape(page_texts.privacy())}</p>\n</main>\n</body>\n</html>\n')


def upload_form(action: str, inputs: str, button: str, progress: str, max_bytes: int, auto_submit: bool) -> str:
    """The form that posts photos to `action`; the script (static/page.js) sends it as soon as a photo is chosen
    when `auto_submit`, refuses a file over `max_bytes` before sending it, shows `progress` meanwhile and puts the
    answer in place (the message for a failed connection ready in `data-failed`)."""
    too_large = page_texts.photo_problem(PhotoProblem.TOO_LARGE_FILE, max_bytes)
    return (f'<form class="upload" method="post" action="{action}" enctype="multipart/form-data" '
            f'data-max-bytes="{max_bytes}" data-too-large="{attribute(too_large)}" '
            f'data-failed="{attribute(texts.something_went_wrong())}"'
            f'{" data-auto-submit" if auto_submit else ""}>\n{inputs}\n'
            f'<button type="submit">{escape(button)}</button>\n'
            f'<p class="progress" role="status" hidden><span class="spinner"></span>{escape(progress)}</p>\n</form>')


def photo_input(label: str, hint: str, required: bool) -> str:
    """A file input that accepts images: on a phone its picker offers the camera beside the gallery (no
    `capture` attribute, which would offer only the camera)."""
    hint_html = f'<span class="drop-hint">{escape(hint)}</span>' if hint else ""
    return (f'<label class="drop"><span class="drop-title">{escape(label)}</span>{hint_html}'
            f'<input type="file" name="photo" accept="image/*"{" required" if required else ""}></label>')


def lookup_page(lang: str, lookalikes: int, max_bytes: int, answer: str = "") -> str:
    form = upload_form(LOOKUP_PATH, photo_input(page_texts.choose_photo(), page_texts.camera_hint(), True),
                       page_texts.find_button(), page_texts.working(), max_bytes, auto_submit=True)
    main = (f'<h1>{escape(page_texts.page_title())}</h1>\n<p class="intro">{escape(page_texts.intro(lookalikes))}'
            f'</p>\n{form}\n<section id="answer" aria-live="polite">{answer}</section>\n'
            f'<p class="tips">{escape(texts.tips())}</p>')
    return document(lang, page_texts.page_title(), LOOKUP_PATH, main)


def compare_page(lang: str, max_bytes: int, answer: str = "") -> str:
    inputs = (photo_input(page_texts.first_photo(), page_texts.camera_hint(), True) + "\n"
              + photo_input(page_texts.second_photo(), "", False))
    form = upload_form(COMPARE_PATH, inputs, page_texts.compare_button(), page_texts.comparing(), max_bytes,
                       auto_submit=False)
    main = (f'<h1>{escape(page_texts.compare_title())}</h1>\n<p class="intro">{escape(page_texts.compare_intro())}'
            f'</p>\n{form}\n<section id="answer" aria-live="polite">{answer}</section>')
    return document(lang, page_texts.compare_title(), COMPARE_PATH, main)


def error_html(message: str) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>'


def reply_html(reply: Reply) -> str:
    """The numbered overview (several faces) with what was found, then one card per face with its caption; or
    the bot's answer to a photo without a face."""
    if not reply.faces:
        return f'<p class="message">{escape(texts.no_face())}</p>'
    parts = []
    if reply.overview is not None:
        parts.append(f'<figure class="overview"><img src="{data_url(reply.overview)}" '
                     f'alt="{attribute(page_texts.overview_alt())}"><figcaption>'
                     f'{escape(texts.faces_found(reply.found, len(reply.faces)))}</figcaption></figure>')
    parts += [face_html(face, len(reply.faces)) for face in reply.faces]
    return "\n".join(parts)


def face_html(face: FaceReply, count: int) -> str:
    """One face's card and, beside it, the bot's caption: whose look-alikes, each with its similarity, the
    closest named celebrity, any quality advice."""
    found = face.found
    number = found.number or 1
    header, *lines = texts.card_caption(number, count, found.matches, face.issues, named=found.named).split("\n")
    matches, rest = lines[:len(found.matches)], [line for line in lines[len(found.matches):] if line]
    named = rest.pop(0) if found.named is not None else None
    note = rest[0] if rest else None
    items = "".join(f"<li>{escape(line)}</li>" for line in matches)
    named_html = f'<p class="named">{escape(named)}</p>' if named else ""
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    return (f'<article class="face" id="face-{number}"><img class="card" src="{data_url(face.card)}" '
            f'alt="{attribute(page_texts.card_alt(number))}"><div class="caption"><h2>{escape(header)}</h2>'
            f'<ul class="matches">{items}</ul>{named_html}{note_html}</div></article>')


def comparison_html(picture: bytes, caption: str) -> str:
    return (f'<figure class="compared"><img src="{data_url(picture)}" alt="{attribute(page_texts.compared_alt())}">'
            f'<figcaption class="verdict">{escape(caption)}</figcaption></figure>')
