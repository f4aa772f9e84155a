from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetFile, SendMessage
from aiohttp import ConnectionTimeoutError, ServerDisconnectedError, SocketTimeoutError

from bot import retry
from bot.retry import OutcomeUnknownError, RetryMiddleware, TelegramSession

METHOD = SendMessage(chat_id=1, text="hi")


class ScriptedRequests:
    """make_request that raises the scripted errors in turn, then answers "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, bot: Any, method: Any) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the middleware's waits instead of waiting."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(retry.asyncio, "sleep", fake_sleep)
    return recorded


def call(middleware: RetryMiddleware, requests: ScriptedRequests) -> Any:
    return asyncio.run(middleware(requests, None, METHOD))


def test_flood_control_waits_the_seconds_telegram_asks_for(sleeps: list[float]) -> None:
    requests = ScriptedRequests(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=7))
    assert call(RetryMiddleware(), requests) == "done"
    assert sleeps == [7.0]


def test_server_and_network_errors_back_off_exponentially(sleeps: list[float]) -> None:
    requests = ScriptedRequests(TelegramServerError(METHOD, "Bad Gateway"),
                                TelegramNetworkError(METHOD, "connection reset"))
    assert call(RetryMiddleware(first_delay_s=0.5), requests) == "done"
    assert sleeps == [0.5, 1.0]


def test_gives_up_after_the_last_attempt(sleeps: list[float]) -> None:
    requests = ScriptedRequests(*[TelegramServerError(METHOD, "down")] * 5)
    with pytest.raises(TelegramServerError):
        call(RetryMiddleware(attempts=3), requests)
    assert requests.calls == 3


@pytest.mark.parametrize("error", [TelegramBadRequest(METHOD, "chat not found"),
                                   TelegramEntityTooLarge(METHOD, "Request Entity Too Large")])
def test_errors_that_would_repeat_are_not_retried(error: Exception, sleeps: list[float]) -> None:
    requests = ScriptedRequests(error)
    with pytest.raises(type(error)):
        call(RetryMiddleware(), requests)
    assert requests.calls == 1
    assert sleeps == []


def after(cause: Exception) -> TelegramNetworkError:
    """A network error as aiogram raises it, chained to the aiohttp error behind it."""
    error = TelegramNetworkError(METHOD, type(cause).__name__)
    error.__cause__ = cause
    return error


UNREADABLE = ClientDecodeError("Failed to decode object", ValueError("not JSON"), "<html>")


@pytest.mark.parametrize("error", [after(TimeoutError()), after(SocketTimeoutError()), UNREADABLE])
def test_a_message_whose_answer_was_lost_is_not_sent_again(error: Exception, sleeps: list[float]) -> None:
    requests = ScriptedRequests(error)
    with pytest.raises(OutcomeUnknownError):
        call(RetryMiddleware(), requests)
    assert requests.calls == 1


@pytest.mark.parametrize("error", [after(TimeoutError()), UNREADABLE])
def test_a_read_only_request_whose_answer_was_lost_is_sent_again(error: Exception, sleeps: list[float]) -> None:
    requests = ScriptedRequests(error)
    assert asyncio.run(RetryMiddleware()(requests, None, GetFile(file_id="f"))) == "done"
    assert requests.calls == 2


@pytest.mark.parametrize("error", [after(ConnectionTimeoutError()), after(ServerDisconnectedError())])
def test_a_message_that_did_not_get_through_is_sent_again(error: Exception, sleeps: list[float]) -> None:
    requests = ScriptedRequests(error)
    assert call(RetryMiddleware(), requests) == "done"
    assert requests.calls == 2


def test_an_html_error_page_is_a_server_error_and_unreadable_success_is_not() -> None:
    session = TelegramSession()
    with pytest.raises(TelegramServerError):
        session.check_response(None, METHOD, 502, "<html>502 Bad Gateway</html>")  # type: ignore[arg-type]
    with pytest.raises(ClientDecodeError):
        session.check_response(None, METHOD, 200, '{"ok": true, "res')  # type: ignore[arg-type]
