"""Drives a real InsightBot through discord.py's own interaction handling, against FakeDiscord.

Usage (see tests/bot/conftest.py for the fixture)::

    harness = BotHarness(settings)
    await harness.start(store)                      # create_bot + real bot.login + setup_hook
    exchange = await harness.slash(ALICE, "insight search", query="chips")
    exchange.callback_type                          # 5: deferred with "thinking"
    exchange.last_message                           # the message as Discord stored it
    await harness.click(BOB, exchange.last_message, "ir:save:0123456789abcdef")

Every call waits until the bot has finished with the interaction (all tasks it started are done),
so assertions see everything it sent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from discord.http import Route

from bot.client import InsightBot, create_bot
from config.settings import Settings
from store.service import InsightStore
from tests.bot.fake_discord import (
    BOT_TOKEN,
    EPHEMERAL,
    FakeDiscord,
    Person,
    Recorded,
    command_payload,
    component_payload,
    message_text,
    snowflake,
)

SETTLE_TIMEOUT = 15.0


@dataclass(slots=True)
class Exchange:
    """Everything the bot sent in answer to one interaction (matched by its token)."""

    fake: FakeDiscord
    token: str

    @property
    def requests(self) -> list[Recorded]:
        return self.fake.for_token(self.token)

    @property
    def routes(self) -> list[str]:
        return [request.route.replace(self.token, "{token}") for request in self.requests]

    @property
    def callbacks(self) -> list[Recorded]:
        return [request for request in self.requests if request.is_callback()]

    @property
    def callback(self) -> Recorded:
        assert len(self.callbacks) == 1, f"expected exactly one interaction callback, got {self.routes}"
        return self.callbacks[0]

    @property
    def callback_type(self) -> int:
        return int(self.callback.json["type"])

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Message bodies in order: the callback's message, follow-ups and edits."""
        return [payload for request in self.requests if (payload := request.message_payload) is not None]

    @property
    def last(self) -> dict[str, Any]:
        assert self.sent, f"the bot sent no message; requests: {self.routes}"
        return self.sent[-1]

    @property
    def last_message(self) -> dict[str, Any]:
        """The last message as Discord holds it after this exchange (with its id), for clicks."""
        for request in reversed(self.requests):
            response = request.response
            if isinstance(response, dict):
                message = response.get("resource", {}).get("message") if request.is_callback() else response
                if message and "id" in message:
                    return self.fake.messages.get(int(message["id"]), message)
        raise AssertionError(f"no message was created; requests: {self.routes}")

    @property
    def text(self) -> str:
        return message_text(self.sent)

    @property
    def ephemeral(self) -> bool:
        """Whether what the person finally saw is private: the first answer decides for a
        deferred answer, each follow-up's own flags otherwise."""
        first = self.callback.json
        if first["type"] == 5:
            return bool(int((first.get("data") or {}).get("flags", 0)) & EPHEMERAL)
        flags = [int(payload.get("flags", 0)) for payload in self.sent]
        return bool(flags) and all(flag & EPHEMERAL for flag in flags)

    @property
    def choices(self) -> list[dict[str, Any]]:
        assert self.callback_type == 8, f"not an autocomplete answer: {self.callback.json}"
        return list(self.callback.json["data"]["choices"])

    @property
    def allowed_mentions(self) -> list[Any]:
        return [payload.get("allowed_mentions") for payload in self.sent]

    def dump(self) -> str:
        return json.dumps([{"route": r.route, "json": r.json} for r in self.requests], indent=1, default=str)


class BotHarness:
    def __init__(self, settings: Settings, fake: FakeDiscord | None = None) -> None:
        self.settings = settings
        self.fake = fake or FakeDiscord()
        self._bot: InsightBot | None = None

    @property
    def bot(self) -> InsightBot:
        assert self._bot is not None, "start() the harness first"
        return self._bot

    async def start(self, store: InsightStore | None = None) -> InsightBot:
        """``create_bot`` and the real ``bot.login`` (GET /users/@me, the application, then
        setup_hook), with the HTTP session swapped for the fake before the first request."""
        bot = create_bot(self.settings)
        fake = self.fake

        async def static_login(token: str) -> Any:
            http = bot.http
            http._HTTPClient__session = fake  # type: ignore[attr-defined]
            http._global_over = asyncio.Event()
            http._global_over.set()
            http.token = token
            return await http.request(Route("GET", "/users/@me"))

        bot.http.static_login = static_login  # type: ignore[method-assign]
        await bot.login(BOT_TOKEN)
        if store is not None:
            bot.attach_store(store)
        self._bot = bot
        return bot

    async def close(self) -> None:
        if self._bot is not None:
            await self._bot.close()

    # -- interactions -----------------------------------------------------------------------

    async def slash(self, person: Person, command: str, *, in_guild: bool = True, **options: Any) -> Exchange:
        token, interaction_id = self._new_interaction(2)
        payload = command_payload(token, interaction_id, person, tuple(command.split()), options, in_guild=in_guild)
        return await self._feed(token, payload)

    async def autocomplete(self, person: Person, command: str, focus: str, **options: Any) -> Exchange:
        token, interaction_id = self._new_interaction(4)
        payload = command_payload(token, interaction_id, person, tuple(command.split()), options, autocomplete_focus=focus)
        return await self._feed(token, payload)

    async def click(self, person: Person, message: dict[str, Any], custom_id: str) -> Exchange:
        """Presses a button on ``message``; Discord sends the message as it is now."""
        message_id = int(message["id"])
        current = self.fake.messages.setdefault(message_id, json.loads(json.dumps(message)))
        assert any(
            component.get("custom_id") == custom_id
            for row in current.get("components", [])
            for component in row.get("components", [])
        ), f"no component {custom_id!r} on the message"
        token, interaction_id = self._new_interaction(3, message_id)
        return await self._feed(token, component_payload(token, interaction_id, person, current, custom_id))

    def _new_interaction(self, kind: int, message_id: int | None = None) -> tuple[str, int]:
        token = f"interaction-token-{uuid.uuid4().hex}"
        interaction_id = snowflake()
        self.fake.expect_interaction(token, interaction_id, kind, message_id)
        return token, interaction_id

    async def _feed(self, token: str, payload: dict[str, Any]) -> Exchange:
        before = set(asyncio.all_tasks())
        self.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        await self.settle(before)
        return Exchange(self.fake, token)

    async def settle(self, before: set[asyncio.Task[Any]] | None = None) -> None:
        """Waits for every task the interaction started, and the tasks those started, except the
        idle timers of views (which sleep for minutes by design)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        current = asyncio.current_task()
        ignored = before or set()
        while True:
            await asyncio.sleep(0)
            busy = {
                task
                for task in asyncio.all_tasks()
                if task is not current and task not in ignored and not task.done() and not _idle(task)
            }
            if not busy:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"the bot did not finish within {SETTLE_TIMEOUT} s: {busy}")
            await asyncio.wait(busy, timeout=remaining)


def _idle(task: asyncio.Task[Any]) -> bool:
    """View timers and background loops (the digest scheduler) run for the bot's whole life."""
    coroutine = task.get_coro()
    return getattr(coroutine, "__qualname__", "").endswith("timeout_task_impl") or task.get_name().startswith(
        "discord-ext-tasks:"
    )
