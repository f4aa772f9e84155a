from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot import retry
from bot.retry import RetryMiddleware

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
