"""Starting and stopping the bot as a process.

The token is checked before anything heavy is imported or loaded, so a wrong token costs a second,
not a model load. The gateway handshake and the model load then run side by side; commands that
arrive in between get "starting up". SIGTERM and SIGINT close the gateway first, then the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING

from config.exit_codes import ExitCode
from config.settings import DEFAULT_DISCORD_API_BASE, ConfigError, Settings

if TYPE_CHECKING:
    from bot.client import InsightBot
    from store import InsightStore

log = logging.getLogger(__name__)

REJECTED_TOKEN = "error: Discord rejected the token (401): reset it in the developer portal"


class ApiUnreachable(Exception):
    """The configured API base did not answer /gateway/bot usefully; the message is one line."""


class TokenRedactor(logging.Filter):
    """Replaces the token wherever it would appear in a log record, whatever logged it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._token:
            return True
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "[token]")
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters render the traceback only after filters ran; render it now so it can be checked.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.stack_info and self._token in record.stack_info:
            record.stack_info = record.stack_info.replace(self._token, "[token]")
        if record.exc_text and self._token in record.exc_text:
            record.exc_text = record.exc_text.replace(self._token, "[token]")
        return True


def install_redactor(token: str) -> None:
    redactor = TokenRedactor(token)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        handler.addFilter(redactor)
    # discord.py's DEBUG lines carry interaction tokens in URLs; INFO is enough to operate the bot.
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLogger("discord").level))


def check_token(settings: Settings) -> str | None:
    try:
        return settings.require_discord_token()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


async def point_at_api(settings: Settings, token: str, *, gateway: bool = True) -> None:
    """Sends REST calls to the configured base and takes the gateway URL from that same API.

    ``Route`` reads ``BASE`` when each route is built, so setting the class attribute moves every
    REST call. The gateway needs its own override: the non-sharded client connects to
    ``DiscordWebSocket.DEFAULT_GATEWAY`` (also its fallback after an invalidated session) whatever
    the REST base, while AutoShardedClient asks ``/gateway/bot`` through ``Route`` and so follows
    the base by itself. Raises LoginFailure on 401, ApiUnreachable on anything else unusable."""
    if settings.discord_api_base == DEFAULT_DISCORD_API_BASE:
        return
    import discord

    discord.http.Route.BASE = settings.discord_api_base
    if not gateway:
        return
    url = await _bot_gateway_url(settings.discord_api_base, token)
    import yarl

    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    log.info("using the Discord API at %s and its gateway %s", settings.discord_api_base, url)


async def _bot_gateway_url(base: str, token: str) -> str:
    import aiohttp
    import discord

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.get(f"{base}/gateway/bot", headers={"Authorization": f"Bot {token}"}) as response,
        ):
            if response.status == 401:
                raise discord.LoginFailure("Improper token has been passed.")
            if response.status != 200:
                raise ApiUnreachable(f"the Discord API at {base} answered /gateway/bot with HTTP {response.status}")
            answer = await response.json(content_type=None)
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise ApiUnreachable(f"cannot reach the Discord API at {base}: {type(error).__name__}") from None
    except ValueError:
        raise ApiUnreachable(f"the Discord API at {base} answered /gateway/bot with something other than JSON") from None
    url = answer.get("url") if isinstance(answer, dict) else None
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
        raise ApiUnreachable(f"the Discord API at {base} gave no usable gateway URL")
    return url


async def _open_store(settings: Settings) -> InsightStore:
    from store import InsightStore, build_loaded_embedder

    embedder = await asyncio.to_thread(build_loaded_embedder, settings)
    return await InsightStore.open(settings, embedder)


async def _serve(settings: Settings, token: str) -> int:
    import discord

    from bot.client import create_bot

    try:
        await point_at_api(settings, token)
    except discord.LoginFailure:
        print(REJECTED_TOKEN, file=sys.stderr)
        return ExitCode.FAILED
    except ApiUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.FAILED
    bot = create_bot(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stopping.set)

    store_task = asyncio.create_task(_open_store(settings), name="open-store")
    bot_task = asyncio.create_task(bot.start(token), name="discord-client")
    heartbeat_task = asyncio.create_task(_gateway_heartbeat(bot, settings), name="gateway-heartbeat")
    stop_task = asyncio.create_task(stopping.wait(), name="stop-signal")
    exit_code = ExitCode.OK
    store: InsightStore | None = None
    try:
        pending: set[asyncio.Task[object]] = {store_task, bot_task, stop_task}
        while True:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if store_task in done:
                if (failure := store_task.exception()) is not None:
                    reason = str(failure) or type(failure).__name__
                    log.error(
                        "%s",
                        reason
                        if reason.startswith("cannot open the insight store")
                        else f"cannot open the insight store: {reason}",
                    )
                    exit_code = ExitCode.FAILED
                    break
                store = store_task.result()
                bot.attach_store(store)
            if bot_task in done:
                ended = bot_task.exception()
                if isinstance(ended, discord.LoginFailure):
                    print(REJECTED_TOKEN, file=sys.stderr)
                    exit_code = ExitCode.FAILED
                elif ended is not None:
                    log.error("the Discord connection ended: %s", ended)
                    exit_code = ExitCode.FAILED
                break
            if stop_task in done:
                log.info("stopping on signal")
                break
    finally:
        stop_task.cancel()
        heartbeat_task.cancel()
        await asyncio.gather(heartbeat_task, return_exceptions=True)
        await stop_gateway(bot_task)
        await _shutdown(bot, store_task, store)
    return exit_code


async def _gateway_heartbeat(bot: InsightBot, settings: Settings) -> None:
    """Beats while connected to Discord, so `insight-recall health` notices a hung or lost gateway."""
    from store import GATEWAY_HEARTBEAT as GATEWAY
    from store import HEARTBEAT_SECONDS as BEAT_SECONDS
    from store import record_heartbeat as beat

    warned = False
    while True:
        if bot.is_ready() and not bot.is_closed():
            try:
                await asyncio.to_thread(beat, settings.data_dir, GATEWAY)
            except OSError as error:
                if not warned:
                    log.warning("cannot write the heartbeat in %s: %s", settings.data_dir, error)
                    warned = True
        await asyncio.sleep(BEAT_SECONDS)


async def stop_gateway(running: asyncio.Task[None]) -> None:
    """Stops ``bot.start`` before ``bot.close()`` runs. While the non-sharded client's reader waits
    on the socket, aiohttp hands it the close and discord.py answers with code 4000 (a resumable
    close: Discord keeps the bot online a while) instead of the 1000 that close() means to send."""
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)


async def _shutdown(bot: InsightBot, store_task: asyncio.Task[InsightStore], store: InsightStore | None) -> None:
    """The gateway first, so no new work arrives; then the store, once its users are gone."""
    await bot.close()
    if store is None and not store_task.done():
        store_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await store_task
    elif store is None and store_task.done() and not store_task.cancelled() and store_task.exception() is None:
        store = store_task.result()
    if store is not None:
        await store.close()
    # A clean stop leaves no heartbeat behind, so health does not report a bot that was stopped on purpose.
    from store import DIGEST_HEARTBEAT as DIGEST
    from store import GATEWAY_HEARTBEAT as GATEWAY
    from store import clear_heartbeat as stop

    for part in (GATEWAY, DIGEST):
        with contextlib.suppress(OSError):
            stop(bot.settings.data_dir, part)
    log.info("stopped")


def run_bot(settings: Settings) -> int:
    token = check_token(settings)
    if token is None:
        return ExitCode.CONFIG
    install_redactor(token)
    return asyncio.run(_serve(settings, token))


async def _sync(settings: Settings, token: str, guild_id: int | None) -> int:
    import discord

    from bot.client import create_bot

    # REST only: commands are registered over HTTP, no gateway is involved.
    await point_at_api(settings, token, gateway=False)
    # The explicit command decides where commands go; start-up's development sync stays out of it.
    bot = create_bot(settings.model_copy(update={"dev_guild_id": None}))
    try:
        await bot.login(token)
        if guild_id is None:
            synced = await bot.tree.sync()
        else:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
        return len(synced)
    finally:
        await bot.close()


def sync_commands(settings: Settings, guild_id: int | None) -> int:
    """Returns how many commands were registered; raises LoginFailure for a rejected token."""
    token = settings.require_discord_token()
    install_redactor(token)
    return asyncio.run(_sync(settings, token, guild_id))
