"""A small fake Telegram Bot API server for end-to-end tests: aiohttp on 127.0.0.1, a random port.

It serves what the bot uses (getMe, getUpdates with scripted updates, getFile and file downloads,
deleteWebhook/setWebhook, setMyCommands) and records sendMessage, sendPhoto and sendMediaGroup (multipart
uploads) and sendChatAction. Scripted messages come from private chats or groups (`group_chat`), alone or as
albums (`album`: messages sharing a media_group_id), from users with a language_code.

Webhook delivery: `push_to(urls, secret)` makes `send` post each update to one of `urls` in turn (a proxy in
front of front-end replicas), with the secret header, as Telegram does: an update whose post fails (no 200: an
error, a refused connection, no answer within PUSH_TIMEOUT_S) is posted again, to the next url, until it is
taken; `pushes` records (update_id, url, status) of every attempt.

Fault injection: `inject(target, fault)` queues a Fault for the next call of a method (or for the next file
download, target DOWNLOAD); each fault is served once, in order. `fail_next(method, status, retry_after)`
is the JSON error case. A fault either stops the call before it is carried out (a JSON error, an HTML
gateway page, a connection closed mid-upload) or spoils the answer of a call that was carried out (a slow
answer, a malformed one): `calls` lists every call carried out, so a test can tell a repeated message
from one delivered once. Every wait is bounded, so a test that goes wrong fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

TOKEN = "123456:fake-token-for-tests"
BOT_ID = 123456
BOT_USERNAME = "lookalike_test_bot"
UPLOAD_LIMIT = 50 * 1024 * 1024  # a request's size, as the Bot API's for uploads (aiohttp's default: 1 MB)
LONG_POLL_CAP_S = 0.5  # getUpdates answers at least this often, so that shutdown never waits long
DOWNLOAD = "download"  # the `inject` target for file downloads (GET /file/bot<token>/<file_path>)
PUSH_TIMEOUT_S = 30.0  # Telegram waits for a webhook's answer, then delivers the update again
PUSH_RETRY_S = 0.5
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BAD_GATEWAY_PAGE = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
                    "</center><hr><center>nginx/1.18.0</center></body></html>")


@dataclass
class Call:
    """One successful request to the server: its method, plain form fields and uploaded files."""

    method: str
    fields: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def chat_id(self) -> int:
        return int(self.fields["chat_id"])

    @property
    def chat_id_or_none(self) -> int | None:
        return int(self.fields["chat_id"]) if "chat_id" in self.fields else None

    def captions(self) -> list[str]:
        """The caption of each photo sent: one for sendPhoto, one per photo for sendMediaGroup."""
        if self.method == "sendMediaGroup":
            return [item.get("caption", "") for item in json.loads(self.fields["media"])]
        return [self.fields.get("caption", "")] if self.method == "sendPhoto" else []

    def shown(self) -> list[str]:
        """A sent message as the user sees it, in short: its text, or "card: " and each caption's first line."""
        if "text" in self.fields:
            return [self.fields["text"]]
        return ["card: " + caption.partition("\n")[0] for caption in self.captions()]

    @property
    def reply_to(self) -> int | None:
        """The message id this message replies to, if any."""
        if "reply_parameters" not in self.fields:
            return None
        return int(json.loads(self.fields["reply_parameters"])["message_id"])

    def photos(self) -> list[bytes]:
        """The uploaded photos, in order (sendPhoto's one, or each of an album's)."""
        if self.method == "sendMediaGroup":
            return [self.files[item["media"].removeprefix("attach://")] for item in json.loads(self.fields["media"])]
        return [self.upload("photo")]

    def upload(self, name: str) -> bytes:
        """The file sent for field `name`: aiogram posts it as a separate part named in "attach://<part>"."""
        return self.files[self.fields[name].removeprefix("attach://")]


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


class FaultKind(StrEnum):
    ERROR = "error"  # a Bot API error answer (JSON): status, description, optional retry_after; not carried out
    GATEWAY = "gateway"  # an HTML error page from the front server (nginx's 502), not JSON; not carried out
    DISCONNECT = "disconnect"  # the connection is closed while the request (or a download) is under way
    SLOW = "slow"  # carried out, answered after `delay_s` (beyond the client's timeout)
    MALFORMED = "malformed"  # carried out, answered 200 with a body cut short (not JSON, not the whole file)


CARRIED_OUT = (FaultKind.SLOW, FaultKind.MALFORMED)  # faults that spoil the answer, not the call


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 200
    retry_after: int | None = None
    delay_s: float = 0.0
    description: str | None = None  # of an error answer; default "injected <status>"

    @classmethod
    def error(cls, status: int, retry_after: int | None = None, description: str | None = None) -> Fault:
        return cls(FaultKind.ERROR, status, retry_after, description=description)

    @classmethod
    def bad_gateway(cls) -> Fault:
        return cls(FaultKind.GATEWAY, 502)

    @classmethod
    def disconnect(cls) -> Fault:
        return cls(FaultKind.DISCONNECT)

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        return cls(FaultKind.SLOW, delay_s=delay_s)

    @classmethod
    def malformed(cls) -> Fault:
        return cls(FaultKind.MALFORMED)


class FakeBotAPI:
    """Use as `async with FakeBotAPI() as api:`; then point the bot at `api.base_url` with `api.token`."""

    token = TOKEN

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failed: list[tuple[str, int]] = []  # (method, status) of each error answer served
        self.injected: list[tuple[str, FaultKind]] = []  # (target, kind) of each injected fault served
        self.downloads: list[str] = []  # file paths downloaded in full
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.pathless: set[str] = set()  # file ids whose getFile answer has no file_path (too big to serve)
        self.file_paths: dict[str, str] = {}  # file_path handed out by getFile -> file_id
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.ids = itertools.count(1)
        self.base_url = ""
        self.answers = {"getUpdates": self.get_updates, "getMe": self.get_me, "getFile": self.get_file,
                        "sendMessage": self.send_message, "sendPhoto": self.send_photo,
                        "sendMediaGroup": self.send_media_group, "sendChatAction": self.send_chat_action,
                        "deleteWebhook": self.set_webhook, "setWebhook": self.set_webhook,
                        "setMyCommands": self.set_webhook}
        self.runner: web.AppRunner | None = None
        self.webhook_urls: list[str] = []
        self.webhook_secret = ""
        self.pushes: list[tuple[int, str, int | None]] = []
        self.pushing: set[asyncio.Task[None]] = set()
        self.client: ClientSession | None = None

    async def __aenter__(self) -> FakeBotAPI:
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_post("/bot{token}/{method}", self.handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self.handle_download)
        self.runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)  # its URLs hold the token
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.runner is not None
        for task in self.pushing:
            task.cancel()
        await asyncio.gather(*self.pushing, return_exceptions=True)
        if self.client is not None:
            await self.client.close()
        await self.runner.cleanup()

    # --- scripting -------------------------------------------------------------------------------

    def add_file(self, data: bytes) -> str:
        file_id = f"file-{next(self.ids)}"
        self.files[file_id] = data
        return file_id

    def message(self, user_id: int, chat: dict[str, Any] | None = None, language: str | None = None,
                **content: Any) -> dict[str, Any]:
        """A message from `user_id` in `chat` (default: their private chat), whose Telegram app is set to
        `language` (a language_code such as "ru"; none by default); `content` holds text, photo, caption, ..."""
        user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        if language is not None:
            user["language_code"] = language
        return {
            "message_id": next(self.ids),
            "date": int(time.time()),
            "chat": chat or {"id": user_id, "type": "private"},
            "from": user,
            **content,
        }

    @staticmethod
    def group_chat(chat_id: int, kind: str = "supergroup") -> dict[str, Any]:
        """A group ("group" or "supergroup") to pass as `chat=`; group chat ids are negative."""
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def album(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        """The messages as one album: they share a media_group_id, as clients send several photos at once."""
        group_id = f"album-{next(self.ids)}"
        return [{**message, "media_group_id": group_id} for message in messages]

    def text_message(self, user_id: int, text: str, **content: Any) -> dict[str, Any]:
        return self.message(user_id, text=text, entities=command_entities(text), **content)

    def photo_message(self, user_id: int, data: bytes, caption: str | None = None, **content: Any) -> dict[str, Any]:
        """A photo; a caption starting with a command gets its bot_command entity, as Telegram sends it."""
        file_id = self.add_file(data)
        photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 640, "height": 480,
                  "file_size": len(data)}]
        if caption:
            content.update(caption=caption, caption_entities=command_entities(caption))
        return self.message(user_id, photo=photo, **content)

    def document_message(self, user_id: int, data: bytes, file_name: str, mime_type: str,
                         file_size: int | None = None, **content: Any) -> dict[str, Any]:
        file_id = self.add_file(data)
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(data) if file_size is None else file_size}
        return self.message(user_id, document=document, **content)

    def animation_message(self, user_id: int, data: bytes, mime_type: str = "video/mp4") -> dict[str, Any]:
        """A GIF as Telegram delivers it: an animation (converted to MP4), with a `document` field too."""
        file_id = self.add_file(data)
        file = {"file_id": file_id, "file_unique_id": file_id, "file_name": "animation.mp4", "mime_type": mime_type,
                "file_size": len(data)}
        animation = {**file, "width": 320, "height": 240, "duration": 1}
        return self.message(user_id, animation=animation, document=file)

    def send(self, *messages: dict[str, Any]) -> None:
        """Queue updates; the bot's next getUpdates receives them together (or, after `push_to`, each is posted
        to a webhook, all at once)."""
        for message in messages:
            update = {"update_id": next(self.ids), "message": message}
            if self.webhook_urls:
                task = asyncio.create_task(self.push(update))
                self.pushing.add(task)
                task.add_done_callback(self.pushing.discard)
            else:
                self.updates.append(update)

    def push_to(self, urls: list[str], secret: str) -> None:
        """Deliver updates by webhook from now on, to `urls` in turn."""
        self.webhook_urls, self.webhook_secret = urls, secret
        self.client = ClientSession(timeout=ClientTimeout(total=PUSH_TIMEOUT_S))

    async def push(self, update: dict[str, Any]) -> None:
        """Post the update until a webhook takes it (200), to the next url after each failure."""
        assert self.client is not None
        for attempt in itertools.count(update["update_id"]):
            url = self.webhook_urls[attempt % len(self.webhook_urls)]
            status: int | None = None
            try:
                async with self.client.post(url, json=update, headers={SECRET_HEADER: self.webhook_secret}) as answer:
                    status = answer.status
            except (ClientError, TimeoutError):
                pass
            self.pushes.append((update["update_id"], url, status))
            if status == 200:
                return
            await asyncio.sleep(PUSH_RETRY_S)

    def inject(self, target: str, fault: Fault) -> None:
        """Queue `fault` for the next call of method `target` (or the next download, target DOWNLOAD)."""
        self.faults[target].append(fault)

    def fail_next(self, method: str, status: int, retry_after: int | None = None) -> None:
        self.inject(method, Fault.error(status, retry_after))

    def take_fault(self, target: str, carried_out: bool) -> Fault | None:
        """The next fault queued for `target` if it applies at this stage (before or after carrying out)."""
        queue = self.faults[target]
        if not queue or (queue[0].kind in CARRIED_OUT) != carried_out:
            return None
        fault = queue.pop(0)
        self.injected.append((target, fault.kind))
        return fault

    # --- observing -------------------------------------------------------------------------------

    def sent(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [call for call in self.calls
                if call.method == method and (chat_id is None or call.chat_id == chat_id)]

    def texts(self, chat_id: int) -> list[str]:
        return [call.fields["text"] for call in self.sent("sendMessage", chat_id)]

    def cards(self, chat_id: int) -> list[str]:
        """The caption of every photo sent to the chat, in order, whether alone or in albums."""
        return [caption for call in self.calls if call.chat_id_or_none == chat_id for caption in call.captions()]

    def received(self, chat_id: int) -> list[str]:
        """What the chat received, in order: a message as its text, a card as "card: <caption's first line>"."""
        return [shown for call in self.calls if call.chat_id_or_none == chat_id for shown in call.shown()]

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
        """Wait until `condition()` holds; fail the test after `timeout_s` seconds."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s; calls so far: {self.summary()}")
            await asyncio.sleep(0.02)

    def summary(self) -> list[tuple[str, str]]:
        return [(call.method, (call.fields.get("text") or call.fields.get("caption", ""))[:40])
                for call in self.calls if call.method != "getUpdates"]

    # --- the HTTP side ---------------------------------------------------------------------------

    async def handle_method(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != TOKEN:
            return self.fail(method, Failure(401, "Unauthorized"))
        fault = self.take_fault(method, carried_out=False)
        if fault is not None and fault.kind is FaultKind.DISCONNECT:
            await request.content.read(1024)  # part of the upload, then the line drops
            return hang_up(request)
        fields, files = await read_form(request)
        if fault is not None:
            return self.refuse(method, fault)
        answer = self.answers.get(method)
        if answer is None:
            return self.fail(method, Failure(404, "Not Found: method"))
        self.calls.append(Call(method, fields, files))
        body = {"ok": True, "result": await answer(fields)}
        return await spoil(self.take_fault(method, carried_out=True), web.json_response(body))

    def refuse(self, target: str, fault: Fault) -> web.Response:
        """The answer to a call a fault stops: a Bot API error, or the front server's HTML error page."""
        if fault.kind is FaultKind.GATEWAY:
            self.failed.append((target, fault.status))
            return web.Response(status=fault.status, text=BAD_GATEWAY_PAGE, content_type="text/html")
        description = fault.description or f"injected {fault.status}"
        return self.fail(target, Failure(fault.status, description, fault.retry_after))

    def fail(self, method: str, failure: Failure) -> web.Response:
        self.failed.append((method, failure.status))
        body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
        if failure.retry_after is not None:
            body["parameters"] = {"retry_after": failure.retry_after}
        return web.json_response(body, status=failure.status)

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        file_id = self.file_paths.get(path)
        if request.match_info["token"] != TOKEN or file_id is None:
            return web.Response(status=404)
        data = self.files[file_id]
        fault = self.take_fault(DOWNLOAD, carried_out=False)
        if fault is not None and fault.kind is FaultKind.DISCONNECT:  # half the file, then the line drops
            response = web.StreamResponse(headers={"Content-Length": str(len(data))})
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
            return hang_up(request, response)
        if fault is not None:
            return self.refuse(DOWNLOAD, fault)
        self.downloads.append(path)
        response = web.Response(body=data, content_type="application/octet-stream")
        return await spoil(self.take_fault(DOWNLOAD, carried_out=True), response)

    async def get_updates(self, fields: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(fields.get("offset", 0))
        deadline = time.monotonic() + min(float(fields.get("timeout", 0)), LONG_POLL_CAP_S)
        while True:
            pending = [update for update in self.updates if update["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending
            await asyncio.sleep(0.02)

    async def get_me(self, fields: dict[str, str]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Lookalike", "username": BOT_USERNAME}

    async def get_file(self, fields: dict[str, str]) -> dict[str, Any]:
        """Like Telegram, a file path unlike the file id (so that tests can look for either in logs)."""
        file_id = fields["file_id"]
        answer = {"file_id": file_id, "file_unique_id": file_id, "file_size": len(self.files[file_id])}
        if file_id in self.pathless:
            return answer
        path = f"photos/file_{len(self.file_paths)}.jpg"
        self.file_paths[path] = file_id
        return {**answer, "file_path": path}

    async def send_message(self, fields: dict[str, str]) -> dict[str, Any]:
        return sent_message(fields, text=fields["text"])

    async def send_photo(self, fields: dict[str, str]) -> dict[str, Any]:
        photo = [{"file_id": f"sent-{next(self.ids)}", "file_unique_id": "sent", "width": 1, "height": 1}]
        return sent_message(fields, photo=photo, caption=fields.get("caption", ""))

    async def send_media_group(self, fields: dict[str, str]) -> list[dict[str, Any]]:
        media = json.loads(fields["media"])
        assert 2 <= len(media) <= 10, f"sendMediaGroup takes 2 to 10 items, not {len(media)}"
        return [await self.send_photo({**fields, "caption": item.get("caption", "")}) for item in media]

    async def send_chat_action(self, fields: dict[str, str]) -> bool:
        return True

    async def set_webhook(self, fields: dict[str, str]) -> bool:
        """setWebhook, deleteWebhook and setMyCommands: accepted and recorded."""
        return True


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a text or caption that starts with a command."""
    command = text.split()[0] if text.startswith("/") else ""
    return [{"type": "bot_command", "offset": 0, "length": len(command)}] if command else []


def sent_message(fields: dict[str, str], **content: Any) -> dict[str, Any]:
    """The Message object Telegram returns for a message the bot sent."""
    chat = {"id": int(fields["chat_id"]), "type": "private"}
    return {"message_id": 1, "date": int(time.time()), "chat": chat, **content}


def hang_up(request: web.Request, started: web.StreamResponse | None = None) -> web.StreamResponse:
    """Close the connection before the answer is complete; returns the (unfinished) answer for aiohttp."""
    assert request.transport is not None
    request.transport.close()
    return started if started is not None else web.Response(status=499)


async def spoil(fault: Fault | None, response: web.Response) -> web.Response:
    """The answer of a call that was carried out, delayed or made unreadable as `fault` says."""
    if fault is None:
        return response
    if fault.kind is FaultKind.SLOW:
        await asyncio.sleep(fault.delay_s)
        return response
    assert isinstance(response.body, bytes)
    return web.Response(body=response.body[: len(response.body) // 2], content_type=response.content_type)


async def read_form(request: web.Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """aiogram posts every method as a form (multipart when it uploads files): split fields from files."""
    form = await request.post()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    files = {name: value.file.read() for name, value in form.items() if isinstance(value, web.FileField)}
    return fields, files
