"""The web app (aiohttp): the look-up page, /compare, and the JSON API beside them, over the one reply path.

    GET  /              the page: choose or drop a photo       POST /             the page with its answer
    GET  /compare       two photos, or one with two faces      POST /compare      the page with the verdict
    POST /api/lookup    JSON: the CLI's `--json` fields + inline cards, captions
    POST /api/compare   JSON: the CLI's compare fields + the inline side-by-side picture, caption
    GET  /static/...    the page's CSS and JS (nothing is loaded from elsewhere)

Every photo request goes the same way: the per-client rate limit (429); places in the global admission limit,
shared with the bot (serving/admission.py: 503 "busy" at once when none is free, before the photo is read); the
photos read from the form within the size and pixel limits (pipeline/photo.py's PhotoLimits, checked while
reading: 413) and the upload time (408); then the reply path in the worker pool (serving/pool.py, the bot's worker
processes). Answers and errors are in the browser's language (Accept-Language: English or Russian, the bot's
catalogues). Nothing is written to disk and nothing of a photo is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

from aiogram.utils.i18n import I18n
from aiohttp import web

from bot import texts
from bot.i18n import DEFAULT_LOCALE, create_i18n
from pipeline.photo import PhotoError, PhotoProblem
from reply.compare import NotEnoughFacesError
from reply.replier import Reply
from reply.report import comparison_json, reply_json
from serving.admission import AdmissionLimit, Busy, LocalAdmission, admitted
from serving.inference import ComparedFaces, GalleryScales
from serving.pool import InferencePool
from web import page
from web import texts as page_texts
from web.config import WebSettings
from web.limits import RateLimit
from web.upload import Upload, UploadError, read_photos

T = TypeVar("T")

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
BUSY_RETRY_SECONDS = 5  # what a "busy" answer asks to wait: about the time a few photos take
PHOTO_STATUS = {PhotoProblem.EMPTY: HTTPStatus.BAD_REQUEST,
                PhotoProblem.TOO_LARGE_FILE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                PhotoProblem.TOO_MANY_PIXELS: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                PhotoProblem.NOT_AN_IMAGE: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                PhotoProblem.UNSUPPORTED_FORMAT: HTTPStatus.UNSUPPORTED_MEDIA_TYPE}  # others: 422
# The page's own files only; inline images for the cards; no frames, no posting elsewhere.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")


@dataclass
class WebState:
    """What the handlers share: the worker pool (the one seam to the models), the settings, both limits and the
    catalogues."""

    pool: InferencePool
    settings: WebSettings
    admission: AdmissionLimit
    rate: RateLimit
    i18n: I18n = field(default_factory=create_i18n)


STATE = web.AppKey("state", WebState)


class Problem(Exception):  # noqa: N818 (an answer, not a failure of the code)
    """A request that gets an error answer: its HTTP status, a code for scripts, the message for people, and for
    429/503 the seconds to wait."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass(frozen=True)
class LookedUp:
    upload: Upload
    reply: Reply
    seconds: float  # in the reply path, the wait for a worker included


@dataclass(frozen=True)
class Compared:
    uploads: list[Upload]
    compared: ComparedFaces
    seconds: float

    @property
    def caption(self) -> str:
        comparison = self.compared.comparison
        return texts.compare_caption(comparison.similarity, comparison.verdict, comparison.same_from,
                                     comparison.lookalike_from)


def create_app(pool: InferencePool, settings: WebSettings, admission: AdmissionLimit | None = None
               ) -> web.Application:
    """The app over `pool`, which its caller starts and closes; `admission` is the global limit (default: one
    of `settings.max_photos` places counted in this process)."""
    app = web.Application(middlewares=[in_the_clients_language, page_headers])
    app[STATE] = WebState(pool, settings, admission or LocalAdmission(settings.max_photos),
                          RateLimit(settings.photos_per_minute, settings.burst))
    app.router.add_get(page.LOOKUP_PATH, lookup_page)
    app.router.add_post(page.LOOKUP_PATH, lookup_form)
    app.router.add_get(page.COMPARE_PATH, compare_page)
    app.router.add_post(page.COMPARE_PATH, compare_form)
    app.router.add_post("/api/lookup", api_lookup)
    app.router.add_post("/api/compare", api_compare)
    app.router.add_static("/static", STATIC_DIR)
    return app


# --- language and headers -----------------------------------------------------------------------------


def preferred_locale(accept_language: str, available: Sequence[str], default: str = DEFAULT_LOCALE) -> str:
    """The language of `available` that the Accept-Language header ranks highest ("ru-RU,ru;q=0.9,en;q=0.8" ->
    "ru"); `default` when it names none of them."""
    best, best_quality = default, 0.0
    for item in accept_language.split(","):
        tag, *parameters = (piece.strip() for piece in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.lower().split("-")[0]
        if language in available and quality > best_quality:
            best, best_quality = language, quality
    return best


def current_locale(request: web.Request) -> str:
    i18n = request.app[STATE].i18n
    return preferred_locale(request.headers.get("Accept-Language", ""), (DEFAULT_LOCALE, *i18n.available_locales))


@web.middleware
async def in_the_clients_language(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                  ) -> web.StreamResponse:
    """Handle the request with the bot's texts in the browser's language."""
    locale = current_locale(request)
    i18n = request.app[STATE].i18n
    with i18n.context(), i18n.use_locale(locale):
        response = await handler(request)
    response.headers["Content-Language"] = locale
    response.headers["Vary"] = "Accept-Language"
    return response


@web.middleware
async def page_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
    response = await handler(request)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.method == "POST":  # an answer shows the user's face: browsers keep no copy of it
        response.headers["Cache-Control"] = "no-store"
    return response


# --- the way of every photo request ----------------------------------------------------------------------


def client_of(request: web.Request) -> str:
    """Who the rate limit counts: the peer's IP address (a reverse proxy in front would need X-Forwarded-For)."""
    return request.remote or "unknown"


def photo_problem(error: PhotoError, state: WebState) -> Problem:
    return Problem(PHOTO_STATUS.get(error.problem, HTTPStatus.UNPROCESSABLE_ENTITY), error.problem.value,
                   page_texts.photo_problem(error.problem, state.settings.limits.max_bytes))


def check_rate(request: web.Request) -> None:
    """Raises Problem (429) when the client has sent more photos than its rate allows."""
    wait = request.app[STATE].rate.wait_seconds(client_of(request))
    if wait:
        raise Problem(HTTPStatus.TOO_MANY_REQUESTS, "rate_limited", page_texts.rate_limited(wait), wait)


@asynccontextmanager
async def places_or_busy(state: WebState, photos: int) -> AsyncIterator[None]:
    """Hold admission places for `photos` photos while the block reads and answers them; raises Problem (503)
    at once, before any byte of the photos is read, when they are not free."""
    try:
        async with admitted(state.admission, photos):
            yield
    except Busy:
        raise Problem(HTTPStatus.SERVICE_UNAVAILABLE, "busy", page_texts.busy(), BUSY_RETRY_SECONDS) from None


async def photos_from(request: web.Request, most: int) -> list[Upload]:
    """The request's photos (1 to `most`), read within the limits and the upload time; raises Problem."""
    state = request.app[STATE]
    try:
        async with asyncio.timeout(state.settings.upload_timeout_s):
            return await read_photos(request, most, state.settings.limits)
    except TimeoutError:
        raise Problem(HTTPStatus.REQUEST_TIMEOUT, "upload_timeout", page_texts.upload_too_slow()) from None
    except UploadError as error:
        raise Problem(HTTPStatus.BAD_REQUEST, error.problem.value,
                      page_texts.upload_problem(error.problem, most)) from None
    except PhotoError as error:
        raise photo_problem(error, state) from None


async def look_up(request: web.Request) -> LookedUp:
    """Rate, admission, the photo read within the limits, then its answer from a worker."""
    state = request.app[STATE]
    check_rate(request)
    async with places_or_busy(state, photos=1):
        (upload,) = await photos_from(request, most=1)
        words = texts.card_text()  # the card's words in the request's language, chosen here, drawn in a worker
        started = time.perf_counter()
        try:
            reply = await state.pool.reply(upload.data, words)
        except PhotoError as error:
            raise photo_problem(error, state) from None
    return LookedUp(upload, reply, time.perf_counter() - started)


async def compare(request: web.Request) -> Compared:
    """As look_up, for one or two photos (places for two are held while the photos are read)."""
    state = request.app[STATE]
    check_rate(request)
    async with places_or_busy(state, photos=2):
        uploads = await photos_from(request, most=2)
        started = time.perf_counter()
        try:
            compared = await state.pool.compare([upload.data for upload in uploads])
        except PhotoError as error:
            raise photo_problem(error, state) from None
        except NotEnoughFacesError as error:
            message = (texts.compare_no_face(error.photo) if error.photo
                       else page_texts.compare_need_two_faces(error.found))
            raise Problem(HTTPStatus.UNPROCESSABLE_ENTITY, "not_enough_faces", message) from None
    return Compared(uploads, compared, time.perf_counter() - started)


async def attempt(work: Awaitable[T]) -> T | Problem:
    """The answer, or the Problem to answer instead (an unexpected failure is logged, without the photo)."""
    try:
        return await work
    except Problem as problem:
        return problem
    except Exception:
        logger.exception("Answering a web request failed")
        return Problem(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", texts.something_went_wrong())


def timed(response: web.Response, seconds: float | None) -> web.Response:
    """Server-Timing: the seconds spent in the reply path (the browser's developer tools show it)."""
    if seconds is not None:
        response.headers["Server-Timing"] = f"reply;dur={seconds * 1000:.1f}"
    return response


def with_retry_after(response: web.Response, problem: Problem) -> web.Response:
    if problem.retry_after is not None:
        response.headers["Retry-After"] = str(problem.retry_after)
    return response


# --- the pages --------------------------------------------------------------------------------------------


def lookup_html(request: web.Request, answer: str = "") -> str:
    settings = request.app[STATE].settings
    return page.lookup_page(current_locale(request), settings.inference.lookalikes, settings.limits.max_bytes, answer)


def compare_html(request: web.Request, answer: str = "") -> str:
    return page.compare_page(current_locale(request), request.app[STATE].settings.limits.max_bytes, answer)


def html(body: str, status: int = HTTPStatus.OK) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


async def lookup_page(request: web.Request) -> web.Response:
    return html(lookup_html(request))


async def compare_page(request: web.Request) -> web.Response:
    return html(compare_html(request))


async def lookup_form(request: web.Request) -> web.Response:
    result = await attempt(look_up(request))
    if isinstance(result, Problem):
        return with_retry_after(html(lookup_html(request, page.error_html(result.message)), result.status), result)
    return timed(html(lookup_html(request, page.reply_html(result.reply))), result.seconds)


async def compare_form(request: web.Request) -> web.Response:
    result = await attempt(compare(request))
    if isinstance(result, Problem):
        return with_retry_after(html(compare_html(request, page.error_html(result.message)), result.status), result)
    answer = page.comparison_html(result.compared.picture, result.caption)
    return timed(html(compare_html(request, answer)), result.seconds)


# --- the JSON API -----------------------------------------------------------------------------------------


def problem_json(problem: Problem) -> web.Response:
    response = web.json_response({"error": {"code": problem.code, "message": problem.message}},
                                 status=problem.status)
    return with_retry_after(response, problem)


def lookup_json(result: LookedUp, scales: GalleryScales) -> dict[str, Any]:
    """The CLI's `query --json` object, with inline pictures (data: URLs) and the bot's captions."""
    reply = result.reply
    cards = [page.data_url(face.card) for face in reply.faces]
    answer = {"photo": result.upload.name or None,
              **reply_json(reply, scales.scale, scales.named_scale, None if reply.faces else texts.no_face(),
                           page.data_url(reply.overview) if reply.overview is not None else None, cards),
              "overview_caption": (texts.faces_found(reply.found, len(reply.faces))
                                   if reply.overview is not None else None)}
    for face, face_json in zip(reply.faces, answer["faces"], strict=True):
        face_json["caption"] = texts.card_caption(face.found.number or 1, len(reply.faces), face.found.matches,
                                                  face.issues, named=face.found.named)
    return answer


async def api_lookup(request: web.Request) -> web.Response:
    result = await attempt(look_up(request))
    if isinstance(result, Problem):
        return problem_json(result)
    return timed(web.json_response(lookup_json(result, request.app[STATE].pool.scales)), result.seconds)


async def api_compare(request: web.Request) -> web.Response:
    result = await attempt(compare(request))
    if isinstance(result, Problem):
        return problem_json(result)
    answer = {"photos": [upload.name or None for upload in result.uploads],
              **comparison_json(result.compared.comparison, page.data_url(result.compared.picture)),
              "caption": result.caption}
    return timed(web.json_response(answer), result.seconds)
