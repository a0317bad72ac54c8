"""A local stand-in for Discord's REST API and gateway, on 127.0.0.1, for end-to-end tests of the
real `insight-recall run` process.

REST answers come from the same model of Discord the in-process bot tests use
(:class:`tests.bot.fake_discord.FakeDiscord`), served over real HTTP here; the gateway speaks the
real protocol: HELLO, IDENTIFY, heartbeats, READY, GUILD_CREATE, and the INTERACTION_CREATE
dispatches a test pushes. Bodies are sent with a Content-Type of exactly ``application/json``,
because discord.py reads a body as JSON only then. When the client asks for ``compress=zlib-stream``
(discord.py does unless zstandard is installed), every frame after the upgrade is one shared zlib
stream, each message ending in a Z_SYNC_FLUSH, as Discord sends it: a client that only handled plain
text frames would pass against a simpler fake and fail against the real gateway.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from discord.http import Route

from tests.bot.fake_discord import APPLICATION_ID, CHANNEL_ID, GUILD_ID, FakeDiscord, Recorded

API_PREFIX = "/api/v10"
HEARTBEAT_INTERVAL_MS = 41_250


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}


def _json(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


@dataclass
class GatewaySession:
    socket: web.WebSocketResponse
    sequence: int = 0
    identify: dict[str, Any] | None = None
    # One compressor for the whole connection: zlib-stream is a single stream across messages.
    compressor: Any = None
    # The heartbeat reply and a test's dispatch may be sent at once; the stream must stay in order.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, frame: dict[str, Any]) -> None:
        text = json.dumps(frame)
        async with self.lock:
            if self.compressor is None:
                await self.socket.send_str(text)
            else:
                await self.socket.send_bytes(self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH))


@dataclass
class DiscordStandIn:
    port: int = field(default_factory=free_port)
    fake: FakeDiscord = field(default_factory=FakeDiscord)
    gateway_queries: list[dict[str, str]] = field(default_factory=list)
    identifies: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    # Every gateway frame in order, as ("sent" | "received", frame): what tests wait on.
    gateway_frames: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # How each gateway connection ended, as the client's close code (1000: a clean close).
    gateway_closes: list[int | None] = field(default_factory=list)
    # Answer every REST call with 401, as Discord does for a reset or wrong token.
    reject_token: bool = False
    _sessions: list[GatewaySession] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def requests(self) -> list[Recorded]:
        return self.fake.requests

    async def start(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get(f"{API_PREFIX}/gateway/bot", self._gateway_bot)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        for session in self._sessions:
            await session.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- REST ---------------------------------------------------------------------------------

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        self.fake.requests.append(Recorded(method="GET", url=str(request.url), path="/gateway/bot", params={}))
        if self.reject_token:
            return _json(401, UNAUTHORIZED)
        return _json(
            200,
            {
                "url": f"ws://127.0.0.1:{self.port}/gateway",
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
            },
        )

    async def _rest(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        if self.reject_token:
            self.fake.requests.append(
                Recorded(method=request.method, url=str(request.url), path=f"/{tail}", params=dict(request.query), status=401)
            )
            return _json(401, UNAUTHORIZED)
        kwargs: dict[str, Any] = {"params": dict(request.query)}
        if request.content_type.startswith("multipart/"):
            kwargs["data"] = await self._form(request)
        else:
            body = await request.read()
            if body:
                kwargs["data"] = body
        # FakeDiscord reads paths relative to discord.py's default REST base.
        answer = await self.fake._handle(request.method, f"{Route.BASE}/{tail}", kwargs)
        raw = await answer.read()
        headers = {"Content-Type": answer.headers["Content-Type"]} if "Content-Type" in answer.headers else {}
        return web.Response(status=answer.status, body=raw, headers=headers)

    async def _form(self, request: web.Request) -> aiohttp.FormData:
        """Re-packs an upload (an export file) so the shared Discord model can read its parts."""
        form = aiohttp.FormData()
        reader = await request.multipart()
        async for part in reader:
            if part.filename:
                form.add_field(part.name or "file", await part.read(), filename=part.filename)
            else:
                form.add_field(part.name or "payload_json", await part.text())
        return form

    # -- gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        self.gateway_queries.append(dict(request.query))
        socket_response = web.WebSocketResponse()
        await socket_response.prepare(request)
        session = GatewaySession(socket_response)
        if request.query.get("compress") == "zlib-stream":
            session.compressor = zlib.compressobj()
        self._sessions.append(session)
        await self._send(session, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None})
        async for message in socket_response:
            if message.type != WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            self.gateway_frames.append(("received", frame))
            if frame["op"] == 1:
                self.heartbeats += 1
                await self._send(session, {"op": 11, "d": None, "s": None, "t": None})
            elif frame["op"] == 2:
                session.identify = frame["d"]
                self.identifies.append(frame["d"])
                await self._send_dispatch(session, "READY", self._ready(frame["d"]))
                await self._send_dispatch(session, "GUILD_CREATE", self._guild())
        self.gateway_closes.append(socket_response.close_code)
        return socket_response

    async def _send(self, session: GatewaySession, frame: dict[str, Any]) -> None:
        self.gateway_frames.append(("sent", frame))
        await session.send(frame)

    async def _send_dispatch(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        session.sequence += 1
        await self._send(session, {"op": 0, "t": event, "s": session.sequence, "d": data})

    def _ready(self, identify: dict[str, Any]) -> dict[str, Any]:
        ready: dict[str, Any] = {
            "v": 10,
            "user": self.fake.bot_user,
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": "standin-session",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
            "application": {"id": str(APPLICATION_ID), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        if "shard" in identify:
            # Discord echoes the shard a sharded client identified as; AutoShardedClient reads it.
            ready["shard"] = identify["shard"]
        return ready

    def _guild(self) -> dict[str, Any]:
        return {
            "id": str(GUILD_ID),
            "name": "Podcast listeners",
            "owner_id": "1000000000000000009",
            "unavailable": False,
            "member_count": 3,
            "large": False,
            "features": [],
            "roles": [
                {
                    "id": str(GUILD_ID),
                    "name": "@everyone",
                    "permissions": "2147551232",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "channels": [
                {
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "name": "podcast-insights",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                    "guild_id": str(GUILD_ID),
                }
            ],
            "members": [],
            "threads": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "joined_at": "2024-01-01T00:00:00+00:00",
        }

    # -- what tests use -----------------------------------------------------------------------

    async def dispatch_interaction(self, payload: dict[str, Any], message_id: int | None = None) -> None:
        """Delivers an interaction to the connected bot, as the gateway would."""
        self.fake.expect_interaction(payload["token"], int(payload["id"]), int(payload["type"]), message_id)
        session = next(session for session in reversed(self._sessions) if session.identify is not None)
        await self._send_dispatch(session, "INTERACTION_CREATE", payload)

    async def wait_for(self, condition: Callable[[], Any], timeout: float, what: str = "the condition") -> Any:
        """Polls ``condition`` (which reads ``requests``, ``identifies`` or ``gateway_frames``) and
        returns its first truthy value, so a test can both wait and pick out what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
