"""The web app without a browser (aiohttp's test client, real HTTP on 127.0.0.1): the JSON API and the page give
the reply path's answer (the CLI's JSON fields, the bot's cards byte for byte, in the browser's language), and
every error path gets its status, code and the true message: bad photos, limits enforced while the body is read,
the per-client rate limit, the admission limit's "busy", a slow upload, a failure in the reply path."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from redis.asyncio import Redis

from bot import texts
from bot.i18n import create_i18n
from cli.main import main as lookalike
from pipeline.photo import PhotoError, PhotoLimits, PhotoProblem
from reply.quality import QualityIssue
from serving.admission import RedisAdmission
from serving.inference import InferenceConfig
from serving.pool import InProcessPool
from tests.bot import bad_photos
from tests.redis_server import RedisServer, redis_server_binary
from tests.web.support import MULTIPART, GatedPool, form, settings_with, stalled_body, with_client
from web import texts as page_texts
from web.app import create_app, preferred_locale
from web.config import WebSettings
from web.server import with_admission


def post_json(pool: Any, path: str, photos: Sequence[tuple[str, bytes]], settings: WebSettings | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST the photos as the page's form; (status, headers, JSON body)."""
    async def scenario(client: TestClient) -> tuple[int, dict[str, str], dict[str, Any]]:
        response = await client.post(path, data=form(*photos), headers=headers or {})
        return response.status, dict(response.headers), await response.json()

    return asyncio.run(with_client(create_app(pool, settings or settings_with()), scenario))


def inline_jpeg(url: str) -> bytes:
    prefix = "data:image/jpeg;base64,"
    assert url.startswith(prefix)
    return base64.b64decode(url[len(prefix):])


def in_russian(work: Any) -> Any:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        return work()


# --- answers ----------------------------------------------------------------------------------------------


def test_the_api_answers_with_the_cli_s_fields_and_the_bot_s_cards(
        web_pool: InProcessPool, named_index: Path, example_photo: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    status, headers, answer = post_json(web_pool, "/api/lookup", [("me.jpg", example_photo.read_bytes())])
    lookalike(["query", str(example_photo), "--json", "--index", str(named_index), "--out", str(tmp_path)])
    cli_answer = json.loads(capsys.readouterr().out)

    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert set(answer) == set(cli_answer) | {"overview_caption"} and answer["photo"] == "me.jpg"
    face, cli_face = answer["faces"][0], cli_answer["faces"][0]
    assert set(face) == set(cli_face) | {"caption"}
    for key in ("matches", "named", "box", "score", "quality_issues", "number"):
        assert face[key] == cli_face[key], key
    assert len(face["matches"]) == 8 and face["named"]["name"]
    assert inline_jpeg(face["card"]) == Path(cli_face["card"]).read_bytes()  # the same card, byte for byte
    assert face["caption"].splitlines()[1].startswith("1. celebrity #")
    assert re.fullmatch(r"reply;dur=\d+\.\d", headers["Server-Timing"]) and headers["Cache-Control"] == "no-store"


def test_the_page_shows_the_bot_s_cards_and_captions(web_pool: InProcessPool, example_photo: Path) -> None:
    photo = example_photo.read_bytes()

    async def scenario(client: TestClient) -> tuple[int, str]:
        response = await client.post("/", data=form(("me.jpg", photo)))
        return response.status, await response.text()

    status, page = asyncio.run(with_client(create_app(web_pool, settings_with()), scenario))
    reply = web_pool.inference.replier.reply(photo)

    assert status == 200
    assert base64.b64encode(reply.faces[0].card).decode() in page
    assert page.count("<li>") == 8 and '<p class="named">Closest named celebrity: ' in page


def test_a_russian_browser_gets_russian_texts_and_cards(web_pool: InProcessPool, example_photo: Path) -> None:
    photo = example_photo.read_bytes()
    status, headers, answer = post_json(web_pool, "/api/lookup", [("me.jpg", photo)],
                                        headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    russian_card = in_russian(lambda: web_pool.inference.replier.reply(photo, texts.card_text())).faces[0].card

    assert status == 200 and headers["Content-Language"] == "ru" and "Accept-Language" in headers["Vary"]
    assert re.search("[а-яА-Я]", answer["faces"][0]["caption"])
    assert inline_jpeg(answer["faces"][0]["card"]) == russian_card
    assert russian_card != web_pool.inference.replier.reply(photo).faces[0].card


def test_a_group_photo_gets_the_overview_and_numbered_faces(web_pool: InProcessPool, group_photo: Path) -> None:
    status, _, answer = post_json(web_pool, "/api/lookup", [("group.jpg", group_photo.read_bytes())])

    assert status == 200 and answer["found_faces"] == len(answer["faces"]) >= 3
    assert Image.open(io.BytesIO(inline_jpeg(answer["overview"]))).format == "JPEG"
    assert answer["overview_caption"] == f"I found {answer['found_faces']} faces."
    assert [face["number"] for face in answer["faces"]] == list(range(1, len(answer["faces"]) + 1))
    assert answer["faces"][1]["caption"].startswith(f"Face 2 of {len(answer['faces'])}: ")


def test_a_poor_face_gets_the_quality_note(web_pool: InProcessPool, face_photo: Path) -> None:
    """The face shrunk into the corner of a large blank photo: too small for a trustworthy match."""
    photo = Image.open(face_photo)
    canvas = Image.new("RGB", (400, 400), "white")
    canvas.paste(photo.resize((photo.width // 4, photo.height // 4), Image.Resampling.LANCZOS), (0, 0))

    async def scenario(client: TestClient) -> str:
        response = await client.post("/", data=form(("small.jpg", bad_photos.encode(canvas))))
        return await response.text()

    page = asyncio.run(with_client(create_app(web_pool, settings_with()), scenario))
    advice = texts.quality_advice(QualityIssue.TOO_SMALL)
    assert f'<p class="note">{escape(texts.card_caption(1, 1, [], [QualityIssue.TOO_SMALL]).splitlines()[-1])}</p>' \
        in page and advice in page


def test_a_photo_without_a_face_gets_the_bot_s_answer(web_pool: InProcessPool) -> None:
    grey = bad_photos.encode(Image.new("RGB", (320, 240), (128, 128, 128)))
    status, _, answer = post_json(web_pool, "/api/lookup", [("grey.jpg", grey)])

    assert status == 200 and answer["faces"] == [] and answer["message"] == texts.no_face()


def test_two_photos_are_compared(web_pool: InProcessPool, face_photo: Path, same_person_photo: Path) -> None:
    status, _, answer = post_json(web_pool, "/api/compare", [("a.jpg", face_photo.read_bytes()),
                                                                ("b.jpg", same_person_photo.read_bytes())])
    comparison = web_pool.inference.replier.compare([face_photo.read_bytes(), same_person_photo.read_bytes()])

    assert status == 200 and answer["photos"] == ["a.jpg", "b.jpg"]
    assert answer["similarity"] == round(comparison.similarity, 4) and answer["verdict"] == comparison.verdict.value
    assert answer["caption"] == texts.compare_caption(comparison.similarity, comparison.verdict,
                                                      comparison.same_from, comparison.lookalike_from)
    assert Image.open(io.BytesIO(inline_jpeg(answer["picture"]))).size == (576, 280)


@pytest.mark.parametrize(("header", "expected"), [
    ("", "en"), ("ru", "ru"), ("ru-RU,ru;q=0.9,en-US;q=0.8", "ru"), ("en-US,en;q=0.9,ru;q=0.8", "en"),
    ("de-DE,ru;q=0.5", "ru"), ("de,fr", "en"), ("ru;q=0", "en"), ("RU-ru", "ru"), ("ru;q=bad, en;q=0.1", "en"),
])
def test_the_language_is_the_browser_s_first_choice_of_ours(header: str, expected: str) -> None:
    assert preferred_locale(header, ("en", "ru")) == expected


# --- bad photos and requests -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_image(face_photo: Path) -> Image.Image:
    return Image.open(face_photo).convert("RGB")


@pytest.mark.parametrize(("make", "status", "problem"), [
    (bad_photos.text_named_jpg, 415, PhotoProblem.NOT_AN_IMAGE),
    (bad_photos.heic, 415, PhotoProblem.UNSUPPORTED_FORMAT),
    (bad_photos.truncated_jpeg, 422, PhotoProblem.CORRUPT),
    (bad_photos.one_pixel, 422, PhotoProblem.TOO_SMALL),
    (bad_photos.animated_gif, 422, PhotoProblem.ANIMATED),
    (bad_photos.declared_20000_px, 413, PhotoProblem.TOO_MANY_PIXELS),
    (lambda face: b"", 400, PhotoProblem.EMPTY),
])
@pytest.mark.parametrize("path", ["/api/lookup", "/api/compare"])
def test_an_unusable_photo_gets_its_status_and_the_true_message(web_pool: InProcessPool, face_image: Image.Image,
                                                                 make: Any, status: int, problem: PhotoProblem,
                                                                 path: str) -> None:
    got, _, answer = post_json(web_pool, path, [("photo.jpg", make(face_image))])

    assert got == status
    assert answer["error"] == {"code": problem.value, "message": page_texts.photo_problem(problem, 20 * 2**20)}


def test_telegram_is_not_mentioned_where_the_bot_s_text_would(face_image: Image.Image) -> None:
    for problem in (PhotoProblem.TOO_LARGE_FILE, PhotoProblem.UNSUPPORTED_FORMAT):
        assert "Telegram" in texts.photo_problem(problem, 2**20)
        assert "Telegram" not in page_texts.photo_problem(problem, 2**20)


def test_a_declared_size_over_the_setting_is_refused(web_pool: InProcessPool, face_image: Image.Image) -> None:
    eight_thousand = bad_photos.declare_size(bad_photos.encode(face_image), 8000, 8000)  # 64 Mpx: below Pillow's limit
    status, _, answer = post_json(web_pool, "/api/lookup", [("big.jpg", eight_thousand)])

    assert status == 413 and answer["error"]["code"] == "too_many_pixels"


def test_a_body_over_the_size_limit_is_refused_from_its_length(web_pool: InProcessPool,
                                                               example_photo: Path) -> None:
    settings = settings_with(inference=InferenceConfig(limits=PhotoLimits(max_bytes=50_000)))
    status, _, answer = post_json(web_pool, "/api/lookup", [("me.jpg", example_photo.read_bytes())], settings)

    assert status == 413
    assert answer["error"] == {"code": "too_large_file",
                               "message": page_texts.photo_problem(PhotoProblem.TOO_LARGE_FILE, 50_000)}


def stalled_post(pool: Any, first: bytes, settings: WebSettings) -> tuple[int, dict[str, Any]]:
    """POST a chunked body that stops after `first` until the answer has come (10 s at most)."""
    async def scenario(client: TestClient) -> tuple[int, dict[str, Any]]:
        resume = asyncio.Event()
        try:
            response = await asyncio.wait_for(
                client.post("/api/lookup", data=stalled_body(first, resume), headers=MULTIPART), timeout=10)
            return response.status, await response.json()
        finally:
            resume.set()

    return asyncio.run(with_client(create_app(pool, settings), scenario))


def test_the_size_limit_is_enforced_while_the_body_is_read(web_pool: InProcessPool, example_photo: Path) -> None:
    """No Content-Length (chunked): the answer comes once the bytes read pass the limit, not at the body's end."""
    settings = settings_with(inference=InferenceConfig(limits=PhotoLimits(max_bytes=100_000)))
    status, answer = stalled_post(web_pool, example_photo.read_bytes() + bytes(60_000), settings)

    assert status == 413 and answer["error"]["code"] == "too_large_file"


def test_the_pixel_limit_is_enforced_from_the_header(web_pool: InProcessPool, face_image: Image.Image) -> None:
    """A header that declares too many pixels is refused from the first bytes read (aiohttp's multipart reader
    reads two chunks ahead: 128 kB), the rest of a 20 MB upload never waited for."""
    jpeg = bad_photos.declare_size(bad_photos.encode(face_image), 8000, 8000)
    status, answer = stalled_post(web_pool, jpeg + bytes(200_000), settings_with())

    assert status == 413 and answer["error"]["code"] == "too_many_pixels"


def test_a_stalled_upload_times_out(web_pool: InProcessPool, example_photo: Path) -> None:
    status, answer = stalled_post(web_pool, example_photo.read_bytes()[:1000], settings_with(upload_timeout_s=0.5))

    assert status == 408 and answer["error"] == {"code": "upload_timeout", "message": page_texts.upload_too_slow()}


@pytest.mark.parametrize(("path", "photos", "code"), [
    ("/api/lookup", [], "no_photo"),
    ("/api/lookup", [("a.jpg", b"1"), ("b.jpg", b"2")], "too_many_photos"),
    ("/api/compare", [("a.jpg", b"1"), ("b.jpg", b"2"), ("c.jpg", b"3")], "too_many_photos"),
])
def test_a_form_without_the_right_photos_is_refused(web_pool: InProcessPool, path: str,
                                                    photos: list[tuple[str, bytes]], code: str) -> None:
    status, _, answer = post_json(web_pool, path, photos or [("", b"")])  # an empty file input

    assert status == 400 and answer["error"]["code"] == code


def test_a_body_that_is_not_a_form_is_refused(web_pool: InProcessPool, example_photo: Path) -> None:
    async def scenario(client: TestClient) -> tuple[int, dict[str, Any]]:
        response = await client.post("/api/lookup", data=example_photo.read_bytes(),
                                     headers={"Content-Type": "image/jpeg"})
        return response.status, await response.json()

    status, answer = asyncio.run(with_client(create_app(web_pool, settings_with()), scenario))
    assert status == 400 and answer["error"]["code"] == "not_a_form"


def test_a_comparison_needs_two_faces(web_pool: InProcessPool, face_photo: Path) -> None:
    grey = bad_photos.encode(Image.new("RGB", (320, 240), (128, 128, 128)))
    one_status, _, one = post_json(web_pool, "/api/compare", [("a.jpg", face_photo.read_bytes())])
    second_status, _, second = post_json(web_pool, "/api/compare", [("a.jpg", face_photo.read_bytes()),
                                                                       ("b.jpg", grey)])

    assert one_status == second_status == 422
    assert one["error"] == {"code": "not_enough_faces", "message": page_texts.compare_need_two_faces(1)}
    assert second["error"]["message"] == texts.compare_no_face(2)


def test_an_error_on_the_page_is_shown_with_its_status(web_pool: InProcessPool, text_file: Path) -> None:
    async def scenario(client: TestClient) -> tuple[int, str]:
        response = await client.post("/", data=form(("notes.txt", text_file.read_bytes())),
                                     headers={"Accept-Language": "ru"})
        return response.status, await response.text()

    status, page = asyncio.run(with_client(create_app(web_pool, settings_with()), scenario))
    message = in_russian(lambda: page_texts.photo_problem(PhotoProblem.NOT_AN_IMAGE, 1))
    assert status == 415 and f'<p class="error" role="alert">{escape(message)}</p>' in page


# --- limits, failures ---------------------------------------------------------------------------------------


def test_a_client_past_its_rate_is_told_how_long_to_wait(web_pool: InProcessPool, example_photo: Path) -> None:
    settings = settings_with(photos_per_minute=6, burst=2)
    photo = example_photo.read_bytes()

    async def scenario(client: TestClient) -> list[tuple[int, str | None, dict[str, Any]]]:
        answers = []
        for _ in range(3):
            response = await client.post("/api/lookup", data=form(("me.jpg", photo)))
            answers.append((response.status, response.headers.get("Retry-After"), await response.json()))
        return answers

    answers = asyncio.run(with_client(create_app(web_pool, settings), scenario))
    assert [status for status, _, _ in answers] == [200, 200, 429]
    _, retry_after, refused = answers[2]
    assert retry_after is not None and 1 <= int(retry_after) <= 10  # one photo every 10 s
    assert refused["error"] == {"code": "rate_limited", "message": page_texts.rate_limited(int(retry_after))}


def test_busy_when_every_admission_place_is_taken_and_free_again_after(web_pool: InProcessPool,
                                                                       example_photo: Path) -> None:
    photo = example_photo.read_bytes()

    async def scenario(client: TestClient) -> list[tuple[int, str | None]]:
        async def post(path: str = "/api/lookup") -> tuple[int, str | None]:
            response = await client.post(path, data=form(("me.jpg", photo)))
            await response.read()
            return response.status, response.headers.get("Retry-After")

        held = [asyncio.create_task(post()) for _ in range(2)]
        while gated.waiting < 2:
            await asyncio.sleep(0.01)
        refused = [await post(), await post("/api/compare")]
        gated.gate.set()
        return [*refused, *[await task for task in held], await post()]

    gated = GatedPool(web_pool)
    answers = asyncio.run(with_client(create_app(gated, settings_with(max_photos=2)), scenario))
    assert answers == [(503, "5"), (503, "5"), (200, None), (200, None), (200, None)]


def test_the_admission_limit_is_shared_with_other_front_ends_through_redis(web_pool: InProcessPool,
                                                                          example_photo: Path, tmp_path: Path) -> None:
    """With REDIS_URL (server.with_admission), places another front-end holds in Redis (here a second app, as the
    bot would) make this page busy, and free it again when they are given back."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (scripts/setup.sh installs it as root)")
    photo = example_photo.read_bytes()

    async def scenario(page: TestClient, other: TestClient) -> list[int]:
        async def post(client: TestClient) -> int:
            response = await client.post("/api/lookup", data=form(("me.jpg", photo)))
            await response.read()
            return response.status

        held = [asyncio.create_task(post(other)) for _ in range(2)]
        while gated.waiting < 2:
            await asyncio.sleep(0.01)
        refused = await post(page)
        gated.gate.set()
        return [refused, *[await task for task in held], await post(page)]

    with RedisServer(tmp_path / "redis") as server:
        settings = settings_with(max_photos=2, redis_url=server.url)
        gated = GatedPool(web_pool)

        async def both() -> list[int]:
            redis = Redis.from_url(server.url)
            other = create_app(gated, settings, RedisAdmission(redis, 2, 60))
            try:
                async with TestClient(TestServer(with_admission(web_pool, settings))) as page, \
                        TestClient(TestServer(other)) as other_client:
                    return await scenario(page, other_client)
            finally:
                await redis.aclose()

        assert asyncio.run(both()) == [503, 200, 200, 200]


def test_a_failure_in_the_reply_path_is_a_500_with_the_bot_s_apology(web_pool: InProcessPool,
                                                                    example_photo: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    gated = GatedPool(web_pool, failure=RuntimeError("model crashed"))
    gated.gate.set()
    photo = example_photo.read_bytes()
    status, _, answer = post_json(gated, "/api/lookup", [("me.jpg", photo)])
    gated.failure = PhotoError(PhotoProblem.CORRUPT)
    corrupt_status, _, _ = post_json(gated, "/api/lookup", [("me.jpg", photo)])

    assert status == 500 and answer["error"] == {"code": "internal_error", "message": texts.something_went_wrong()}
    assert corrupt_status == 422
    assert "model crashed" in caplog.text and base64.b64encode(photo[:300]).decode()[:40] not in caplog.text


# --- the page's files and headers ---------------------------------------------------------------------------


def test_the_page_loads_nothing_from_elsewhere(web_pool: InProcessPool) -> None:
    async def scenario(client: TestClient) -> dict[str, tuple[int, str, dict[str, str]]]:
        pages = {}
        for path in ("/", "/compare", "/static/page.css", "/static/page.js"):
            response = await client.get(path)
            pages[path] = (response.status, await response.text(), dict(response.headers))
        return pages

    pages = asyncio.run(with_client(create_app(web_pool, settings_with()), scenario))
    for path, (status, body, headers) in pages.items():
        assert status == 200, path
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]", body, re.IGNORECASE), path  # no other site
        assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert pages["/static/page.css"][2]["Content-Type"].startswith("text/css")
    page = pages["/"][1]
    assert '<input type="file" name="photo" accept="image/*" required>' in page and "capture" not in page
    assert '<html lang="en">' in page and 'href="/static/page.css"' in page and 'src="/static/page.js"' in page
