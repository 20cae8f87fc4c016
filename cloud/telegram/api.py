"""A thin client of the Telegram Bot API: the methods the bot uses, over one httpx pool.

Every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code",
"description"}``; a refusal raises ``BotApiError`` with Telegram's code (403: the user
blocked the bot; 401/404: the token is wrong)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

Keyboard = list[list[dict[str, Any]]]


class BotApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"telegram {code}: {description}")
        self.code = code
        self.description = description


def reply_keyboard(rows: list[list[str]]) -> dict[str, Any]:
    return {"keyboard": [[{"text": text} for text in row] for row in rows],
            "resize_keyboard": True}  # fmt: skip


def contact_keyboard(label: str) -> dict[str, Any]:
    """One button that shares the user's own phone number (``request_contact``)."""
    return {"keyboard": [[{"text": label, "request_contact": True}]],
            "resize_keyboard": True, "one_time_keyboard": True}  # fmt: skip


@dataclass
class BotApi:
    token: str
    client: httpx.AsyncClient
    url: str = "https://api.telegram.org"

    async def call(self, method: str, **payload: Any) -> Any:
        response = await self.client.post(
            f"{self.url}/bot{self.token}/{method}", json=payload, timeout=15
        )
        return _result(response)

    async def get_me(self) -> dict[str, Any]:
        found: dict[str, Any] = await self.call("getMe")
        return found

    async def send_message(
        self, chat_id: int, text: str, keyboard: dict[str, Any] | None = None
    ) -> Any:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if keyboard is not None:
            payload["reply_markup"] = keyboard
        return await self.call("sendMessage", **payload)

    async def send_photo(
        self, chat_id: int, png: bytes, caption: str, keyboard: dict[str, Any] | None = None
    ) -> Any:
        """``sendPhoto`` as multipart/form-data: the photo is uploaded, not linked."""
        import json

        form = {"chat_id": str(chat_id), "caption": caption}
        if keyboard is not None:
            form["reply_markup"] = json.dumps(keyboard, ensure_ascii=False)
        response = await self.client.post(
            f"{self.url}/bot{self.token}/sendPhoto", data=form,
            files={"photo": ("card.png", png, "image/png")}, timeout=30,
        )  # fmt: skip
        return _result(response)

    async def download(self, file_id: str, max_bytes: int) -> bytes:
        """A file the user sent (``getFile``, then the file itself), refused past
        ``max_bytes`` (``BotApiError`` 413) without reading the rest."""
        found = await self.call("getFile", file_id=file_id)
        path = found.get("file_path") if isinstance(found, dict) else None
        if not isinstance(path, str) or int(found.get("file_size") or 0) > max_bytes:
            raise BotApiError(413, "file too large or without a path")
        body = bytearray()
        async with self.client.stream(
            "GET", f"{self.url}/file/bot{self.token}/{path}", timeout=30
        ) as response:
            if response.status_code != 200:
                raise BotApiError(response.status_code, "file download failed")
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise BotApiError(413, "file too large")
        return bytes(body)

    async def set_webhook(self, url: str, secret: str) -> Any:
        return await self.call(
            "setWebhook", url=url, secret_token=secret,
            allowed_updates=["message", "my_chat_member"],
        )  # fmt: skip

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_updates(self, offset: int | None, wait: int) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"timeout": wait,
                                   "allowed_updates": ["message", "my_chat_member"]}  # fmt: skip
        if offset is not None:
            payload["offset"] = offset
        response = await self.client.post(
            f"{self.url}/bot{self.token}/getUpdates", json=payload, timeout=wait + 10
        )
        found: list[dict[str, Any]] = _result(response)
        return found


def _result(response: httpx.Response) -> Any:
    try:
        answer = response.json()
    except ValueError as exc:
        raise BotApiError(response.status_code, "not JSON") from exc
    if not isinstance(answer, dict) or not answer.get("ok"):
        code = answer.get("error_code") if isinstance(answer, dict) else None
        description = answer.get("description") if isinstance(answer, dict) else None
        raise BotApiError(int(code or response.status_code), str(description or ""))
    return answer.get("result")
