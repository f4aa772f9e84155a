from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
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
from fake_bot_api import FakeBotAPI, Fault

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
    """A network error as aiogram raises it, chained to the aiohttp error behind it (the real ones: below)."""
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


async def real_network_error(fault: Fault | None, base_url: str | None = None) -> TelegramNetworkError:
    """The error aiogram itself raises when a sendMessage meets `fault` at the fake server (or `base_url` is
    closed), without the retry middleware."""
    async with FakeBotAPI() as api:
        session = TelegramSession(api=TelegramAPIServer.from_base(base_url or api.base_url), timeout=0.5)
        if fault is not None:
            api.inject("sendMessage", fault)
        try:
            await Bot(api.token, session=session).send_message(chat_id=1, text="hi")
        except TelegramNetworkError as error:
            return error
        finally:
            await session.close()
    raise AssertionError("the request did not fail")


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize(("fault", "carried_out"), [
    pytest.param(Fault.slow(1.5), True, id="answer-too-late"),
    pytest.param(Fault.disconnect(), False, id="closed-mid-upload"),
    pytest.param(None, False, id="connection-refused"),
])
def test_the_real_aiogram_error_tells_a_lost_answer_from_a_request_that_never_arrived(fault: Fault | None,
                                                                                     carried_out: bool) -> None:
    """The aiogram floor in pyproject.toml (3.25): before it, network errors carried no cause, and a late answer
    looked like a request that never arrived, so a delivered message was sent twice."""
    error = asyncio.run(real_network_error(fault, None if fault is not None else closed_port()))
    assert error.__cause__ is not None  # chained by aiogram itself
    assert retry.may_have_been_carried_out(error) is carried_out


def test_a_message_whose_real_answer_came_too_late_is_sent_once() -> None:
    async def scenario() -> FakeBotAPI:
        async with FakeBotAPI() as api:
            session = TelegramSession(api=TelegramAPIServer.from_base(api.base_url), timeout=0.5)
            session.middleware(RetryMiddleware(first_delay_s=0.01))
            api.inject("sendMessage", Fault.slow(1.5))
            with pytest.raises(OutcomeUnknownError):
                await Bot(api.token, session=session).send_message(chat_id=1, text="hi")
            await session.close()
            return api

    assert len(asyncio.run(scenario()).sent("sendMessage")) == 1
