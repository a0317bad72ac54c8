"""A stand-in for Discord's side of the wire, so bot tests run discord.py's real interaction code.

The bot is built with ``create_bot`` and logs in for real (``bot.login``), except that its HTTP
client's aiohttp session is :class:`FakeDiscord`: every REST call, interaction callback, webhook
follow-up and attachment download discord.py makes goes through ``session.request``/``session.get``
and is recorded here (method, path, query, JSON body or multipart parts) and answered the way
Discord would (messages with ids, callback responses, command syncs).

Interactions go in as the raw INTERACTION_CREATE payloads the gateway delivers, through
``bot._connection.parse_interaction_create``, the same entry point the gateway uses. The payload
builders below produce what Discord sends: member with its permissions string, app_permissions,
channel, locale, resolved attachments, and for buttons the message the button is on.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from discord.http import Route
from multidict import CIMultiDict, CIMultiDictProxy

APPLICATION_ID = 1100000000000000001
GUILD_ID = 1200000000000000002
CHANNEL_ID = 1300000000000000003
BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.fake00.not-a-real-token-just-a-test-value"
MANAGE_GUILD = 1 << 5
# What a typical member has: view channel, send messages, read history, use application commands.
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31)
APP_PERMISSIONS = MEMBER_PERMISSIONS | (1 << 14) | (1 << 15)
EPHEMERAL = 1 << 6
LOADING = 1 << 7
CDN = "https://cdn.discordapp.com"

_snowflakes = itertools.count(1400000000000000000)


def snowflake() -> int:
    return next(_snowflakes)


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- what was sent ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadedFile:
    field: str
    filename: str | None
    data: bytes


@dataclass(slots=True)
class Recorded:
    """One HTTP request as discord.py sent it."""

    method: str
    url: str
    path: str
    params: dict[str, str]
    json: Any = None
    files: list[UploadedFile] = field(default_factory=list)
    multipart: bool = False
    status: int = 0
    response: Any = None

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    def is_callback(self) -> bool:
        return self.method == "POST" and self.path.startswith("/interactions/") and self.path.endswith("/callback")

    def is_webhook(self) -> bool:
        return self.path.startswith("/webhooks/")

    @property
    def message_payload(self) -> dict[str, Any] | None:
        """The message part of a callback (its ``data``) or a webhook send/edit (the body)."""
        if self.json is None:
            return None
        if self.is_callback():
            return self.json.get("data") if self.json.get("type") in (4, 7) else None
        return self.json if self.is_webhook() and self.method in ("POST", "PATCH") else None


# -- a minimal aiohttp response ---------------------------------------------------------------


class FakeResponse:
    def __init__(
        self, status: int, body: Any = None, *, raw: bytes | None = None, extra_headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.reason = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
        if raw is not None:
            self._bytes = raw
            headers = {"Content-Type": "application/octet-stream"}
        elif body is None:
            self._bytes = b""
            headers = {}
        else:
            self._bytes = json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
        headers |= extra_headers or {}
        self.headers = CIMultiDictProxy(CIMultiDict(headers))

    async def text(self, encoding: str = "utf-8") -> str:
        return self._bytes.decode(encoding)

    async def read(self) -> bytes:
        return self._bytes

    async def json(self) -> Any:
        return json.loads(self._bytes) if self._bytes else None

    def release(self) -> None:
        pass


class _RequestContext:
    def __init__(self, pending: Any) -> None:
        self._pending = pending

    async def __aenter__(self) -> FakeResponse:
        return await self._pending

    async def __aexit__(self, *_exc: object) -> None:
        return None


class _Sink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.chunks.append(bytes(data))


async def _read_form(form: aiohttp.FormData) -> tuple[Any, list[UploadedFile]]:
    """Serialises the form exactly as aiohttp would put it on the wire, then parses it back:
    the test sees the multipart body Discord would receive, not discord.py's intentions."""
    payload = form()
    sink = _Sink()
    await payload.write(sink)
    head = f"Content-Type: {payload.content_type}\r\n\r\n".encode()
    message = email.message_from_bytes(head + b"".join(sink.chunks), policy=email.policy.HTTP)
    body: Any = None
    files: list[UploadedFile] = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            body = json.loads(data)
        else:
            files.append(UploadedFile(str(name), part.get_filename(), data))
    return body, files


# -- the fake Discord -------------------------------------------------------------------------


@dataclass(slots=True)
class _InteractionRecord:
    id: int
    type: int
    # The message the interaction's @original refers to: a button's own message, or the response.
    original_id: int | None = None
    deferred: bool = False


class FakeDiscord:
    """Stands in for aiohttp.ClientSession inside discord.py's HTTPClient."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.interactions: dict[str, _InteractionRecord] = {}
        self.attachments: dict[str, bytes] = {}
        self.bot_user = user_payload(APPLICATION_ID, "insight-recall", bot=True)
        self.closed = False
        # Statuses to answer the next channel posts with, one per attempt (403, 404, 429, 500...).
        self.channel_post_failures: list[int] = []

    # aiohttp.ClientSession's surface, as discord.py uses it

    def request(self, method: str, url: str, **kwargs: Any) -> _RequestContext:
        return _RequestContext(self._handle(method.upper(), url, kwargs))

    def get(self, url: str, **kwargs: Any) -> _RequestContext:
        return _RequestContext(self._handle("GET", url, kwargs))

    async def close(self) -> None:
        self.closed = True

    # registration by the harness

    def expect_interaction(self, token: str, interaction_id: int, interaction_type: int, message_id: int | None = None) -> None:
        self.interactions[token] = _InteractionRecord(interaction_id, interaction_type, message_id)

    def serve_attachment(self, filename: str, data: bytes, content_type: str = "text/plain") -> dict[str, Any]:
        """An attachment payload as in ``data.resolved.attachments``, its URL served by this fake."""
        attachment_id = snowflake()
        url = f"{CDN}/attachments/{CHANNEL_ID}/{attachment_id}/{filename}"
        self.attachments[url] = data
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url.replace(CDN, "https://media.discordapp.net"),
            "content_type": content_type,
            "ephemeral": True,
        }

    def declare_attachment(self, filename: str, size: int, content_type: str = "text/plain") -> dict[str, Any]:
        """An attachment whose bytes are never served: for refusals that must not download."""
        attachment_id = snowflake()
        url = f"{CDN}/attachments/{CHANNEL_ID}/{attachment_id}/{filename}"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": size,
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    def for_token(self, token: str) -> list[Recorded]:
        return [request for request in self.requests if f"/{token}" in request.path]

    def downloads(self) -> list[Recorded]:
        return [request for request in self.requests if request.url.startswith(CDN)]

    # answering

    async def _handle(self, method: str, url: str, kwargs: dict[str, Any]) -> FakeResponse:
        base = Route.BASE
        split = urlsplit(url)
        path = url.split("?", 1)[0]
        path = path[len(base) :] if path.startswith(base) else split.path
        params = {str(key): str(value) for key, value in (kwargs.get("params") or {}).items()}
        recorded = Recorded(method=method, url=url, path=path, params=params)
        data = kwargs.get("data")
        if isinstance(data, aiohttp.FormData):
            recorded.json, recorded.files = await _read_form(data)
            recorded.multipart = True
        elif isinstance(data, (str, bytes)) and data:
            recorded.json = json.loads(data)
        elif kwargs.get("json") is not None:
            recorded.json = kwargs["json"]
        self.requests.append(recorded)
        await asyncio.sleep(0)  # a real request always yields to the loop
        answer = self._answer(recorded)
        recorded.status = answer.status
        recorded.response = await answer.json() if answer.headers.get("Content-Type") == "application/json" else None
        return answer

    def _answer(self, request: Recorded) -> FakeResponse:
        if request.url.startswith(CDN):
            served = self.attachments.get(request.url.split("?", 1)[0])
            return (
                FakeResponse(200, raw=served)
                if served is not None
                else FakeResponse(404, {"message": "404: Not Found", "code": 0})
            )
        method, path = request.method, request.path
        if method == "GET" and path == "/users/@me":
            return FakeResponse(200, self.bot_user)
        if method == "GET" and path == "/oauth2/applications/@me":
            return FakeResponse(200, application_payload(self.bot_user))
        if method == "PUT" and (match := re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)):
            return FakeResponse(200, [_registered_command(command, match.group(2)) for command in request.json or []])
        if method == "DELETE" and (match := re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)):
            removed = self.messages.pop(int(match.group(2)), None)
            return FakeResponse(204) if removed is not None else FakeResponse(404, {"message": "Unknown Message", "code": 10008})
        if match := re.fullmatch(r"/channels/(\d+)/messages", path):
            return self._channel_messages(method, int(match.group(1)), request)
        if match := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            return self._callback(match.group(2), request.json or {})
        if match := re.fullmatch(r"/webhooks/(\d+)/([^/]+)(?:/messages/(@original|\d+))?", path):
            return self._webhook(method, match.group(2), match.group(3), request.json or {}, request.files)
        return FakeResponse(404, {"message": "Unknown route in the fake Discord", "code": 0})

    def _channel_messages(self, method: str, channel_id: int, request: Recorded) -> FakeResponse:
        """A bot's own posts to a channel (the digest), and the channel's recent history."""
        if method == "GET":
            posted = [
                message
                for message in self.messages.values()
                if message["channel_id"] == str(channel_id) and message.get("type") == 0
            ]
            return FakeResponse(200, list(reversed(posted))[: int(request.params.get("limit", 50))])
        if self.channel_post_failures:
            status = self.channel_post_failures.pop(0)
            if status == 429:
                return FakeResponse(
                    429,
                    {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
                    extra_headers={"Via": "1.1 google", "Retry-After": "0"},
                )
            errors = {403: (50013, "Missing Permissions"), 404: (10003, "Unknown Channel")}
            code, text = errors.get(status, (0, "Server error"))
            return FakeResponse(status, {"message": text, "code": code})
        message = self._store_message(request.json or {}, request.files)
        message |= {"channel_id": str(channel_id), "type": 0, "webhook_id": None}
        message.pop("webhook_id")
        return FakeResponse(200, message)

    def _callback(self, token: str, body: dict[str, Any]) -> FakeResponse:
        record = self.interactions.get(token)
        if record is None:
            return FakeResponse(404, {"message": "Unknown interaction", "code": 10062})
        kind = body.get("type")
        data = body.get("data") or {}
        flags = int(data.get("flags", 0))
        answer: dict[str, Any] = {"interaction": {"id": str(record.id), "type": record.type}}
        message: dict[str, Any] | None = None
        if kind == 4:
            message = self._store_message(data, [])
            record.original_id = int(message["id"])
        elif kind == 5:
            message = self._store_message({"flags": flags | LOADING}, [])
            record.original_id = int(message["id"])
            record.deferred = True
            answer["interaction"]["response_message_loading"] = True
        elif kind == 7 and record.original_id in self.messages:
            message = self._update_message(record.original_id, data, [])
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
            answer["interaction"]["response_message_ephemeral"] = bool(int(message.get("flags", 0)) & EPHEMERAL)
            answer["resource"] = {"type": kind, "message": message}
        elif kind is not None:
            answer["resource"] = {"type": kind}
        return FakeResponse(200, answer)

    def _webhook(
        self, method: str, token: str, which: str | None, body: dict[str, Any], files: list[UploadedFile]
    ) -> FakeResponse:
        record = self.interactions.get(token)
        if record is None:
            return FakeResponse(404, {"message": "Unknown webhook", "code": 10015})
        if which is None and method == "POST":
            loading = self.messages.get(record.original_id or 0)
            if loading is not None and int(loading.get("flags", 0)) & LOADING:
                # Discord puts the first follow-up in place of the "thinking…" message, which keeps
                # the visibility the defer chose whatever flags the follow-up asks for.
                kept = int(loading["flags"]) & EPHEMERAL
                message = self._update_message(int(loading["id"]), body, files)
                message["flags"] = (int(body.get("flags", 0)) & ~EPHEMERAL) | kept
                return FakeResponse(200, message)
            if record.deferred and loading is None:
                # What Discord has answered, at times, to a follow-up once the deferred original
                # was deleted: the follow-up never arrives.
                return FakeResponse(404, {"message": "Unknown Message", "code": 10008})
            return FakeResponse(200, self._store_message(body, files))
        message_id = record.original_id if which == "@original" else int(which or 0)
        if message_id not in self.messages:
            return FakeResponse(404, {"message": "Unknown Message", "code": 10008})
        if method == "PATCH":
            return FakeResponse(200, self._update_message(message_id, body, files))
        if method == "DELETE":
            del self.messages[message_id]
            return FakeResponse(204)
        if method == "GET":
            return FakeResponse(200, self.messages[message_id])
        return FakeResponse(405, {"message": "405: Method Not Allowed", "code": 0})

    def _store_message(self, body: dict[str, Any], files: list[UploadedFile]) -> dict[str, Any]:
        message_id = snowflake()
        message = {
            "id": str(message_id),
            "channel_id": str(CHANNEL_ID),
            "guild_id": str(GUILD_ID),
            "type": 20,
            "author": self.bot_user,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": [_attachment_of(upload) for upload in files],
            "flags": int(body.get("flags", 0)),
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "webhook_id": str(APPLICATION_ID),
            "application_id": str(APPLICATION_ID),
        }
        self.messages[message_id] = message
        return message

    def _update_message(self, message_id: int, body: dict[str, Any], files: list[UploadedFile]) -> dict[str, Any]:
        message = self.messages[message_id]
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if files:
            message["attachments"] = [_attachment_of(upload) for upload in files]
        # Editing a "thinking…" message replaces it: it is no longer loading.
        message["flags"] = int(message.get("flags", 0)) & ~LOADING
        message["edited_timestamp"] = _now()
        return message


def _attachment_of(upload: UploadedFile) -> dict[str, Any]:
    attachment_id = snowflake()
    url = f"{CDN}/ephemeral-attachments/{APPLICATION_ID}/{attachment_id}/{upload.filename}"
    return {"id": str(attachment_id), "filename": upload.filename, "size": len(upload.data), "url": url, "proxy_url": url}


def _registered_command(command: dict[str, Any], guild_id: str | None) -> dict[str, Any]:
    registered = {
        "id": str(snowflake()),
        "application_id": str(APPLICATION_ID),
        "version": str(snowflake()),
        "default_member_permissions": None,
        "type": 1,
        **command,
    }
    if guild_id is not None:
        registered["guild_id"] = guild_id
    return registered


# -- payloads as Discord sends them -----------------------------------------------------------


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": None if bot else name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


def application_payload(bot_user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(APPLICATION_ID),
        "name": "insight-recall",
        "icon": None,
        "description": "",
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": user_payload(1000000000000000009, "owner"),
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "bot": bot_user,
    }


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the test guild; ``permissions`` is what Discord computes for them in the channel."""

    id: int
    name: str
    permissions: int = MEMBER_PERMISSIONS

    def member(self) -> dict[str, Any]:
        return {
            "user": user_payload(self.id, self.name),
            "roles": [],
            "nick": None,
            "avatar": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
            "permissions": str(self.permissions),
        }


def _option(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": 5, "name": name, "value": value}
    if isinstance(value, int):
        return {"type": 4, "name": name, "value": value}
    if isinstance(value, float):
        return {"type": 10, "name": name, "value": value}
    if isinstance(value, dict) and "filename" in value:
        return {"type": 11, "name": name, "value": value["id"]}
    if isinstance(value, dict) and "permissions" in value and "type" in value:
        return {"type": 7, "name": name, "value": value["id"]}
    return {"type": 3, "name": name, "value": str(value)}


def _base_interaction(kind: int, token: str, interaction_id: int, person: Person, in_guild: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APPLICATION_ID),
        "type": kind,
        "token": token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
        "app_permissions": str(APP_PERMISSIONS),
    }
    if in_guild:
        payload |= {
            "guild_id": str(GUILD_ID),
            "guild": {"id": str(GUILD_ID), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(CHANNEL_ID),
            "channel": {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "podcast-insights",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
                "permissions": str(person.permissions),
            },
            "member": person.member(),
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
        }
    else:
        payload |= {
            "channel_id": str(CHANNEL_ID + 1),
            "channel": {"id": str(CHANNEL_ID + 1), "type": 1, "recipients": [user_payload(person.id, person.name)], "flags": 0},
            "user": user_payload(person.id, person.name),
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 1,
        }
    return payload


def command_payload(
    token: str,
    interaction_id: int,
    person: Person,
    path: tuple[str, ...],
    options: dict[str, Any],
    *,
    autocomplete_focus: str | None = None,
    in_guild: bool = True,
) -> dict[str, Any]:
    """A slash command (type 2), or its autocomplete (type 4) with ``autocomplete_focus`` focused.
    ``path`` is ("insight", "search"): the top-level command and its subcommand."""
    leaf = []
    for name, value in options.items():
        option = _option(name, value)
        if name == autocomplete_focus:
            option["focused"] = True
        leaf.append(option)
    tree: list[dict[str, Any]] = leaf
    for subcommand in reversed(path[1:]):
        tree = [{"type": 1, "name": subcommand, "options": tree}]
    data: dict[str, Any] = {"id": str(snowflake()), "name": path[0], "type": 1, "options": tree}
    attachments = {value["id"]: value for value in options.values() if isinstance(value, dict) and "filename" in value}
    if attachments:
        data["resolved"] = {"attachments": attachments}
    channels = {
        value["id"]: value for value in options.values() if isinstance(value, dict) and "permissions" in value and "type" in value
    }
    if channels:
        data.setdefault("resolved", {})["channels"] = channels
    kind = 4 if autocomplete_focus is not None else 2
    payload = _base_interaction(kind, token, interaction_id, person, in_guild)
    payload["data"] = data
    return payload


def component_payload(token: str, interaction_id: int, person: Person, message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """A button press (type 3) on ``message``, which Discord includes whole."""
    payload = _base_interaction(3, token, interaction_id, person, in_guild=True)
    payload["data"] = {"custom_id": custom_id, "component_type": 2}
    payload["message"] = json.loads(json.dumps(message))
    return payload


def text_channel(channel_id: int = CHANNEL_ID, name: str = "podcast-insights") -> dict[str, Any]:
    """A text channel as an option value (type 7), resolved the way Discord sends it."""
    return {"id": str(channel_id), "type": 0, "name": name, "permissions": str(APP_PERMISSIONS), "parent_id": None, "flags": 0}


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [
        component["custom_id"]
        for row in message.get("components", [])
        for component in row.get("components", [])
        if "custom_id" in component
    ]


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    for row in message.get("components", []):
        for component in row.get("components", []):
            if component.get("label") == label:
                return component
    raise AssertionError(
        f"no button labelled {label!r} on the message; buttons: {[c.get('label') for c in iter_buttons(message)]}"
    )


def iter_buttons(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for row in message.get("components", []):
        yield from row.get("components", [])


def message_text(payloads: Iterable[dict[str, Any] | None]) -> str:
    """Every visible string of some messages, for assertions about wording."""
    parts: list[str] = []
    for payload in payloads:
        if not payload:
            continue
        parts.append(payload.get("content") or "")
        for embed in payload.get("embeds") or []:
            parts += [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
            for embedded_field in embed.get("fields", []):
                parts += [embedded_field.get("name", ""), embedded_field.get("value", "")]
    return "\n".join(part for part in parts if part)
