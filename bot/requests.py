"""A request, as handlers accept it, and the one interface that takes it from there: `Requests`.

A handler finds the photos an update is about, then

    async with requests.accepting(sender, photos=len(files), update_id=update_id) as submit:
        inputs = [await download_input(...) for ...]     # the photos' bytes, or why there are none
        await submit(Request(...))

`accepting` refuses at once when the sender already has too many requests unanswered (QueueFullError) or when
the bot holds too many photos (serving's Busy: the global admission limit), before anything is downloaded.
What `submit` does is the implementation's:

- `LocalRequests` (embedded, the default): the request is answered here and now, in the sender's turn (their
  earlier requests first), by `answer` (bot/answer.py) over local worker processes. The handler returns once the
  answer is sent, so waiting for the handlers is waiting for every accepted request (shutdown drains them).
- `RedisRequests` (distributed, bot/distributed.py): the request is stored in Redis as a job for any worker; the
  handler returns once it is stored, and a worker answers it in the sender's turn with the same `answer`.

The handlers do not know which one runs. A request is plain data (messages, bytes, flags) so that it can travel
to a worker; its photos are answered in order, each on its own (one failing does not stop the others).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from aiogram.types import Message

from bot.queue import UserQueue
from bot.retry import DownloadError
from pipeline.photo import PhotoError, PhotoProblem
from serving.admission import AdmissionLimit, admitted


class RequestKind(StrEnum):
    LOOKUP = "lookup"  # each photo's faces and their look-alikes
    COMPARE = "compare"  # two faces compared


class Unavailable(StrEnum):
    """Why a photo of an accepted request has no bytes to answer from."""

    DOWNLOAD_FAILED = "download_failed"  # Telegram did not serve it (after retries)
    EXPIRED = "expired"  # distributed: its bytes waited in Redis past JOB_TTL_SECONDS


class PhotoExpiredError(Exception):
    """The photo's bytes were dropped before a worker reached it (JOB_TTL_SECONDS)."""


@dataclass(frozen=True)
class PhotoInput:
    """One photo of a request: where its answer goes (the photo's message; None for the first photo of a
    /compare waited for) and its bytes, or why there are none."""

    message: Message | None
    data: bytes | None = None
    problem: PhotoProblem | None = None  # found before downloading (a file too large)
    unavailable: Unavailable | None = None

    def read(self) -> bytes:
        """The bytes; raises PhotoError, DownloadError or PhotoExpiredError, as the reply explains them."""
        if self.problem is not None:
            raise PhotoError(self.problem)
        if self.unavailable is Unavailable.DOWNLOAD_FAILED:
            raise DownloadError("the download failed")
        if self.unavailable is Unavailable.EXPIRED or self.data is None:
            raise PhotoExpiredError()
        return self.data


@dataclass(frozen=True)
class Request:
    """What a handler accepted: `message` asked (a /compare's answer replies to it), `photos` in order."""

    kind: RequestKind
    update_id: int
    sender: int  # whose turn it takes (sender_of)
    message: Message
    photos: list[PhotoInput]
    language: str  # of the answer's texts
    third_person: bool  # in groups: "this face", not "your"


def sender_of(message: Message) -> int:
    """Whose requests wait for each other: the user; for a message sent on behalf of a chat (an anonymous group
    admin, a channel's post in its discussion group: Telegram gives them all one placeholder user) that chat."""
    if message.sender_chat is not None:
        return message.sender_chat.id
    return message.from_user.id if message.from_user is not None else message.chat.id


Submit = Callable[[Request], Awaitable[None]]


class Requests(Protocol):
    def accepting(self, sender: int, photos: int, update_id: int) -> AbstractAsyncContextManager[Submit]:
        """Make room for a request of `photos` photos from `sender` (raises QueueFullError or Busy at once), and
        yield the function that hands it on once its photos are downloaded. Leaving the block without submitting
        gives the room back."""
        ...


Answer = Callable[[Request], Awaitable[None]]


class LocalRequests:
    """Embedded: in the sender's turn (`queue`), within the admission limit, `answer` answers the request."""

    def __init__(self, queue: UserQueue, admission: AdmissionLimit, answer: Answer) -> None:
        self.queue, self.admission, self.answer = queue, admission, answer

    @asynccontextmanager
    async def accepting(self, sender: int, photos: int, update_id: int) -> AsyncIterator[Submit]:
        async with self.queue.turn(sender), admitted(self.admission, photos):
            yield self.answer
