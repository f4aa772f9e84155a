"""A small fake Telegram Bot API server for end-to-end tests: aiohttp on 127.0.0.1, a random port.

It serves what the bot uses (getMe, getUpdates with scripted updates, getFile and file downloads,
deleteWebhook/setWebhook) and records sendMessage, sendPhoto (multipart uploads) and sendChatAction.
`fail_next` makes the next call of a method fail once with a chosen status (429 with retry_after, 500).
Every wait is bounded, so a test that goes wrong fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:fake-token-for-tests"
BOT_ID = 123456
LONG_POLL_CAP_S = 0.5  # getUpdates answers at least this often, so that shutdown never waits long


@dataclass
class Call:
    """One successful request to the server: its method, plain form fields and uploaded files."""

    method: str
    fields: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def chat_id(self) -> int:
        return int(self.fields["chat_id"])

    def upload(self, name: str) -> bytes:
        """The file sent for field `name`: aiogram posts it as a separate part named in "attach://<part>"."""
        return self.files[self.fields[name].removeprefix("attach://")]


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


class FakeBotAPI:
    """Use as `async with FakeBotAPI() as api:`; then point the bot at `api.base_url` with `api.token`."""

    token = TOKEN

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failed: list[tuple[str, int]] = []  # (method, status) of each injected failure served
        self.downloads: list[str] = []  # file paths downloaded
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.failures: dict[str, list[Failure]] = defaultdict(list)
        self.ids = itertools.count(1)
        self.base_url = ""
        self.answers = {"getUpdates": self.get_updates, "getMe": self.get_me, "getFile": self.get_file,
                        "sendMessage": self.send_message, "sendPhoto": self.send_photo,
                        "sendChatAction": self.send_chat_action, "deleteWebhook": self.set_webhook,
                        "setWebhook": self.set_webhook}
        self.runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeBotAPI:
        app = web.Application()
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
        await self.runner.cleanup()

    # --- scripting -------------------------------------------------------------------------------

    def add_file(self, data: bytes) -> str:
        file_id = f"file-{next(self.ids)}"
        self.files[file_id] = data
        return file_id

    def message(self, user_id: int, **content: Any) -> dict[str, Any]:
        """A private-chat message from `user_id`; `content` holds text, photo, document, caption, ..."""
        return {
            "message_id": next(self.ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"},
            **content,
        }

    def text_message(self, user_id: int, text: str, **content: Any) -> dict[str, Any]:
        command = text.split()[0] if text.startswith("/") else ""
        entities = [{"type": "bot_command", "offset": 0, "length": len(command)}] if command else []
        return self.message(user_id, text=text, entities=entities, **content)

    def photo_message(self, user_id: int, data: bytes, caption: str | None = None) -> dict[str, Any]:
        file_id = self.add_file(data)
        photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 640, "height": 480,
                  "file_size": len(data)}]
        return self.message(user_id, photo=photo, **({"caption": caption} if caption else {}))

    def document_message(self, user_id: int, data: bytes, file_name: str, mime_type: str,
                         file_size: int | None = None) -> dict[str, Any]:
        file_id = self.add_file(data)
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(data) if file_size is None else file_size}
        return self.message(user_id, document=document)

    def send(self, *messages: dict[str, Any]) -> None:
        """Queue updates; the bot's next getUpdates receives them together."""
        for message in messages:
            self.updates.append({"update_id": next(self.ids), "message": message})

    def fail_next(self, method: str, status: int, retry_after: int | None = None) -> None:
        self.failures[method].append(Failure(status, f"injected {status}", retry_after))

    # --- observing -------------------------------------------------------------------------------

    def sent(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [call for call in self.calls
                if call.method == method and (chat_id is None or call.chat_id == chat_id)]

    def texts(self, chat_id: int) -> list[str]:
        return [call.fields["text"] for call in self.sent("sendMessage", chat_id)]

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
        """Wait until `condition()` holds; fail the test after `timeout_s` seconds."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s; calls so far: {self.summary()}")
            await asyncio.sleep(0.02)

    def summary(self) -> list[tuple[str, str]]:
        return [(call.method, call.fields.get("text") or call.fields.get("caption", "")[:40])
                for call in self.calls if call.method != "getUpdates"]

    # --- the HTTP side ---------------------------------------------------------------------------

    async def handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != TOKEN:
            return self.fail(method, Failure(401, "Unauthorized"))
        fields, files = await read_form(request)
        if self.failures[method]:
            return self.fail(method, self.failures[method].pop(0))
        answer = self.answers.get(method)
        if answer is None:
            return self.fail(method, Failure(404, "Not Found: method"))
        self.calls.append(Call(method, fields, files))
        return web.json_response({"ok": True, "result": await answer(fields)})

    def fail(self, method: str, failure: Failure) -> web.Response:
        self.failed.append((method, failure.status))
        body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
        if failure.retry_after is not None:
            body["parameters"] = {"retry_after": failure.retry_after}
        return web.json_response(body, status=failure.status)

    async def handle_download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        file_id = path.removeprefix("files/")
        if request.match_info["token"] != TOKEN or file_id not in self.files:
            return web.Response(status=404)
        self.downloads.append(path)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    async def get_updates(self, fields: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(fields.get("offset", 0))
        deadline = time.monotonic() + min(float(fields.get("timeout", 0)), LONG_POLL_CAP_S)
        while True:
            pending = [update for update in self.updates if update["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending
            await asyncio.sleep(0.02)

    async def get_me(self, fields: dict[str, str]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Lookalike", "username": "lookalike_test_bot"}

    async def get_file(self, fields: dict[str, str]) -> dict[str, Any]:
        file_id = fields["file_id"]
        return {"file_id": file_id, "file_unique_id": file_id, "file_size": len(self.files[file_id]),
                "file_path": f"files/{file_id}"}

    async def send_message(self, fields: dict[str, str]) -> dict[str, Any]:
        return sent_message(fields, text=fields["text"])

    async def send_photo(self, fields: dict[str, str]) -> dict[str, Any]:
        photo = [{"file_id": f"sent-{next(self.ids)}", "file_unique_id": "sent", "width": 1, "height": 1}]
        return sent_message(fields, photo=photo, caption=fields.get("caption", ""))

    async def send_chat_action(self, fields: dict[str, str]) -> bool:
        return True

    async def set_webhook(self, fields: dict[str, str]) -> bool:
        """setWebhook and deleteWebhook: accepted and recorded."""
        return True


def sent_message(fields: dict[str, str], **content: Any) -> dict[str, Any]:
    """The Message object Telegram returns for a message the bot sent."""
    chat = {"id": int(fields["chat_id"]), "type": "private"}
    return {"message_id": 1, "date": int(time.time()), "chat": chat, **content}


async def read_form(request: web.Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """aiogram posts every method as a form (multipart when it uploads files): split fields from files."""
    form = await request.post()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    files = {name: value.file.read() for name, value in form.items() if isinstance(value, web.FileField)}
    return fields, files
