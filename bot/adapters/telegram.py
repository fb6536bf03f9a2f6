"""python-telegram-bot wiring: Telegram updates in, the engine's replies rendered out.

Every conversation decision is the engine's. This module only translates:

- an update becomes an engine event (``Text``, ``Command``, ``Press``, ``NonText``);
- the session is loaded from and saved to :class:`~bot.storage.Storage`;
- replies become HTML messages (every text escaped, long ones split on paragraphs) with
  their options as inline keyboards, and effects become storage calls.

What is Telegram's own and so lives here:

- **Button data** is the engine's action behind an HMAC tag over (chat, user, action), keyed
  by the bot token so buttons keep working after a restart. A press whose tag does not verify
  (another member of a group pressing someone else's button, a forged value) or whose data is
  not on the pressed message is refused with the short ``stale_button`` toast; in a private
  chat the engine is also asked (with an action it cannot know) so it shows where the
  conversation stands. A press on an old screening step passes here and is refused by the
  engine, which knows the current step; that gets the toast too. Every callback query is
  answered exactly once.
- **Sending**: a typing indicator first, HTML parse mode, link previews off; a send that fails
  on the network is retried with back-off, and a 429 is waited out by PTB's rate limiter.
- **Group chats**: only commands, mentions of the bot and replies to the bot are read. The
  engine is told the chat is not private, so it never walks the screening (health questions)
  or takes a call back (a phone number) there; the ``screen`` and ``cb`` options it gives
  instead are drawn as link buttons into the private chat (``t.me/<bot>?start=screen`` /
  ``?start=callback``, see ``PRIVATE_ACTIONS``), where ``/start <payload>`` begins them.
- **Edited messages are ignored on purpose**: an edit of an old message would otherwise be
  taken as the answer to whatever screening step is current, which would be wrong.
- **Admin commands** (``/reload``, ``/stats``, ``/unanswered``) for ``telegram.admin_ids``;
  everyone else gets exactly the engine's reply to an unknown command.
- **Ordering**: updates run concurrently across chats and strictly in order within a chat
  (:class:`PerChatUpdateProcessor`), so one user's messages are never answered out of order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import html
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.constants import (
    CallbackQueryLimit,
    ChatAction,
    ChatType,
    InlineKeyboardButtonLimit,
    MessageLimit,
    ParseMode,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.helpers import create_deep_linked_url
from telegram.request import BaseRequest

from bot.adapters.telegram_admin import ClinicDesk, contact_event, is_admin_action, reply_markup
from bot.adapters.telegram_http import AiohttpRequest
from bot.config import ConfigError, Settings
from bot.engine import (
    COMMANDS,
    START_CALLBACK,
    START_SCREEN,
    Command,
    Count,
    Engine,
    Event,
    ForgetUser,
    LogUnanswered,
    NonText,
    Press,
    RequestCallback,
    parse_input,
)
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.problems import Problem
from bot.reloader import KnowledgeReloader, ReloadOutcome
from bot.replies import Option, Reply
from bot.schema import Messages
from bot.storage import Storage, StorageError

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

ADMIN_COMMANDS: Final = ("reload", "stats", "unanswered")
# Shown in Telegram's command menu; Telegram wants 1-256 characters per description.
COMMAND_DESCRIPTIONS: Final[dict[str, str]] = {
    "start": "Start: what I can do",
    "help": "How to ask me questions",
    "topics": "Everything I can tell you about",
    "screen": "Should I consider physical therapy? A short check",
    "cancel": "Stop what we are doing",
    "forget": "Delete what I keep about you",
    "language": "Languages I speak",
    "reload": "Admin: reload the knowledge files",
    "stats": "Admin: usage figures",
    "unanswered": "Admin: questions I could not answer",
}
# /start payloads of the deep links into the private chat (t.me/<bot>?start=<payload>).
DEEP_LINK_SCREEN: Final = START_SCREEN
DEEP_LINK_CALLBACK: Final = START_CALLBACK
# In a group, the engine actions that continue in the private chat, by deep link payload.
PRIVATE_ACTIONS: Final[dict[str, str]] = {"screen": DEEP_LINK_SCREEN, "cb": DEEP_LINK_CALLBACK}
# Telegram counts message length in UTF-16 code units after entity parsing.
MAX_MESSAGE: Final = MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_BYTES: Final = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
MAX_QUERY_ANSWER: Final = CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH
# Buttons whose labels fit share a row (Yes / No / Not sure); long labels get a row each.
ROW_CHARS: Final = 30
ROW_BUTTONS: Final = 3
# Sends that fail on the network are retried this many times (429s are the rate limiter's).
SEND_RETRIES: Final = 3
SEND_BACKOFF: Final = 0.5
RATE_LIMIT_RETRIES: Final = 5
PURGE_EVERY_SECONDS: Final = 6 * 3600
# How often the knowledge folder is checked for edits (a stat per file: cheap). The reloader
# waits until the folder has looked the same for a second before reading it.
WATCH_EVERY_SECONDS: Final = 1.0
MAX_PROBLEMS_SHOWN: Final = 15
POLL_TIMEOUT_SECONDS: Final = 10
# Updates handled at once (across chats). Over the Internet each Bot API call waits ~50-150 ms,
# so 16 in flight allow ~100 replies/s, more than Telegram's ~30/s; higher values only add
# httpcore's per-request scan of its connection pool (measured: benchmarks/bench_telegram.py).
CONCURRENT_UPDATES: Final = 16
# Edited messages are asked for so that ignoring them is a decision (on_edit), not an accident.
ALLOWED_UPDATES: Final = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


# --- rendering -------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut ``text`` into messages of at most ``limit`` UTF-16 units, on paragraph boundaries.

    A paragraph longer than a message is cut at line breaks, then sentence ends, then spaces,
    and only as a last resort inside a word.
    """
    text = text.strip()
    if not text:
        return []
    if utf16_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for separator in ("\n\n", "\n", ". ", " "):
        pieces = _split_keep(text, separator)
        if len(pieces) > 1:
            break
    else:
        cut = _utf16_prefix(text, limit)
        return [text[:cut], *split_text(text[cut:], limit)]
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if utf16_len(piece) > limit:
            chunks += [current, *split_text(piece, limit)]
            current = ""
        elif current and utf16_len(current + piece) > limit:
            chunks.append(current)
            current = piece
        else:
            current += piece
    chunks.append(current)
    return [c.strip() for c in chunks if c.strip()]


def _utf16_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units (never half a pair)."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return max(index, 1)
    return len(text)


def _split_keep(text: str, separator: str) -> list[str]:
    """Split after each ``separator``, keeping it on the left piece."""
    parts = text.split(separator)
    return [p + separator for p in parts[:-1]] + [parts[-1]]


def to_html(text: str) -> str:
    """Text as Telegram HTML: ``<``, ``>`` and ``&`` escaped, so any text shows as written."""
    return html.escape(text, quote=False)


_Item = TypeVar("_Item")


def keyboard_rows(options: Sequence[tuple[str, _Item]]) -> list[list[tuple[str, _Item]]]:
    """Pack (label, data) pairs into rows: short labels side by side, long ones alone."""
    rows: list[list[tuple[str, _Item]]] = []
    row: list[tuple[str, _Item]] = []
    width = 0
    for label, data in options:
        size = len(label) + 2
        if row and (width + size > ROW_CHARS or len(row) >= ROW_BUTTONS):
            rows.append(row)
            row, width = [], 0
        row.append((label, data))
        width += size
    if row:
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send: HTML text and an optional inline keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None


class CallbackSigner:
    """Button data ``<tag><action>``: the tag is an HMAC over chat, user and action.

    Telegram gives 64 bytes; engine actions stay within 40, the tag takes 8 (48 bits, and a
    forger gets one guess per press).
    """

    TAG_CHARS: Final = 8

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_token(cls, token: str) -> CallbackSigner:
        # Derived from the token, so it survives restarts (buttons on the last message keep
        # working) and changes if the token is revoked.
        return cls(hashlib.sha256(b"backpain-bot callback key\0" + token.encode()).digest())

    def _tag(self, chat_id: int, user_id: int, action: str) -> str:
        message = f"{chat_id}:{user_id}:{action}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:6]).decode()

    def sign(self, action: str, chat_id: int, user_id: int) -> str:
        data = self._tag(chat_id, user_id, action) + action
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"button action too long for Telegram: {action!r}")
        return data

    def verify(self, data: str, chat_id: int, user_id: int) -> str | None:
        """The action in ``data`` if it was made for this chat and user, else None."""
        tag, action = data[: self.TAG_CHARS], data[self.TAG_CHARS :]
        if not action or not hmac.compare_digest(tag, self._tag(chat_id, user_id, action)):
            return None
        return action


def render(
    reply: Reply, keyboard: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
) -> list[Outgoing]:
    """A reply as Telegram messages; the keyboard goes under the last part."""
    parts = split_text(reply.text) or ["…"]
    last = len(parts) - 1
    return [
        Outgoing(to_html(part), keyboard if i == last else None) for i, part in enumerate(parts)
    ]


def make_keyboard(
    options: Iterable[Option],
    signer: CallbackSigner,
    chat_id: int,
    user_id: int,
    links: Mapping[str, str] | None = None,
) -> InlineKeyboardMarkup | None:
    """Options as signed callback buttons; an action found in ``links`` opens that URL."""
    links = links or {}
    pairs = [
        (
            o.label,
            InlineKeyboardButton(o.label, url=links[o.action])
            if o.action in links
            else InlineKeyboardButton(
                o.label, callback_data=signer.sign(o.action, chat_id, user_id)
            ),
        )
        for o in options
    ]
    if not pairs:
        return None
    return InlineKeyboardMarkup([[button for _, button in row] for row in keyboard_rows(pairs)])


def private_link(username: str, payload: str) -> str:
    """The deep link into the private chat with the bot that sends ``/start <payload>``."""
    return create_deep_linked_url(username, payload)


# --- ordering --------------------------------------------------------------------------------


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Many chats at once, one update at a time within a chat, in arrival order.

    PTB starts one task per update in the order getUpdates returned them; each task takes its
    chat's lock on its first step, and asyncio locks are FIFO, so a chat's updates run in
    order while other chats proceed.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _ordering_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody queued: drop the lock so the dict stays small
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _ordering_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


# --- polling ---------------------------------------------------------------------------------


class PollingBot(ExtBot[Any]):
    """An ExtBot whose getUpdates survives updates that python-telegram-bot cannot parse.

    PTB parses a whole getUpdates result at once: one update it cannot read (a field that is
    not an object, say) fails the call, the offset never moves past it, and every poll after
    fails the same way, so the bot hears nothing ever again. It also logs the raw result,
    message text included, at CRITICAL. Here each update is parsed on its own; one that fails
    is logged by id only and skipped, and its id is confirmed on the next call so Telegram stops
    sending it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The offset that confirms the last update skipped (0: none skipped yet). PTB's Updater
        # only confirms updates it was given, so a skipped one must be confirmed here.
        self._confirm_from = 0

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        # A negative offset means "the last n updates" (dropping pending ones): left alone.
        if offset is None or 0 <= offset < self._confirm_from:
            offset = self._confirm_from or offset
        # As Bot.get_updates does: the long-poll timeout is added to the read timeout, or the
        # request would time out while Telegram is still (rightly) holding it open.
        base = read_timeout if not isinstance(read_timeout, DefaultValue) else None
        base_timeout = base if base is not None else (self._request[0].read_timeout or 0)
        if isinstance(timeout, timedelta):
            total_timeout = base_timeout + timeout.total_seconds()
        else:
            total_timeout = base_timeout + (timeout or 0)
        data: JSONDict = {
            "timeout": timeout.total_seconds() if isinstance(timeout, timedelta) else timeout,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        result = await self._post(
            "getUpdates",
            data,
            read_timeout=total_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        if not isinstance(result, list):
            raise TelegramError("getUpdates answered something other than a list of updates")
        return tuple(self._parse_updates(result))

    def _parse_updates(self, result: list[Any]) -> Iterable[Update]:
        for raw in result:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            try:
                update = Update.de_json(raw, self)
                self.insert_callback_data(update)
            except Exception as exc:
                # The id and the error's type only: the update may hold what a person wrote.
                log.warning(
                    "skipped update %s: python-telegram-bot cannot read it (%s)",
                    update_id,
                    type(exc).__name__,
                )
            else:
                yield update
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                self._confirm_from = max(self._confirm_from, update_id + 1)


# --- the bot ---------------------------------------------------------------------------------


class TelegramBot:
    """The handlers and the services they use; :meth:`build` makes the PTB Application."""

    def __init__(
        self,
        settings: Settings,
        token: str,
        kb: KnowledgeBase,
        storage: Storage,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.token = token
        self.storage = storage
        self.engine = Engine(kb)
        self.signer = CallbackSigner.from_token(token)
        self.admin_ids = frozenset(settings.telegram.admin_ids)
        self.desk = ClinicDesk(self)  # /stats, /unanswered and call-back delivery
        # The time now (tests pass their own clock); the clinic desk reads it too.
        self.now: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        # /reload and the watcher share the reloader; the lock keeps them from interleaving.
        self.reload_lock = asyncio.Lock()
        self.reloader = KnowledgeReloader(
            settings.knowledge_dir,
            functools.partial(
                load_knowledge, settings.knowledge_dir, settings.clinic, settings.matching
            ),
            kb,
        )
        self._purge_task: asyncio.Task[None] | None = None
        self._transports: list[BaseRequest] = []
        self._watch_task: asyncio.Task[None] | None = None
        # Users already told that their progress may not be kept, so they are told once per
        # outage; an id leaves the set when one of their saves succeeds again.
        self._unsaved: set[int] = set()

    @property
    def engine(self) -> Engine:
        return self._engine

    @engine.setter
    def engine(self, engine: Engine) -> None:
        # Call backs are offered only where they can be delivered, whatever code swaps the
        # engine (start, /reload, the watcher, an admin's edit).
        wanted = self.settings.telegram.admin_chat_id is not None
        self._engine = (
            engine if engine.callbacks == wanted else Engine(engine.kb, callbacks=wanted)
        )

    # --- application -----------------------------------------------------------------------

    def build(self, *, rate_limit: bool = True, concurrency: int = CONCURRENT_UPDATES) -> App:
        """The PTB Application: handlers, error handler, rate limiter and update ordering."""
        # max_retries: a 429 is waited out (retry_after) and the request sent again, so a
        # burst never drops a reply.
        limiter = AIORateLimiter(max_retries=RATE_LIMIT_RETRIES) if rate_limit else None
        # Our own bot class (unreadable updates skipped, see PollingBot). The builder refuses
        # token, base_url, requests and rate_limiter next to .bot(), so they are set here.
        bot = PollingBot(
            self.token,
            base_url=self.settings.telegram.api_base_url,
            # Updates beyond the pool wait for a connection rather than fail after 1 s.
            request=self._transport(pool=concurrency, pool_timeout=30.0),
            get_updates_request=self._transport(pool=1, pool_timeout=1.0),
            rate_limiter=limiter,
        )
        app = (
            ApplicationBuilder()
            .bot(bot)
            .concurrent_updates(PerChatUpdateProcessor(concurrency))
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
            .build()
        )
        self.desk.attach(app.bot)
        app.add_handler(CallbackQueryHandler(self.on_press))
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, self.on_text))
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT, self.on_other))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self.on_edit))
        # Channel posts and other update types match no handler: the bot does not take part.
        app.add_error_handler(self.on_error)
        return app

    def _transport(self, pool: int, pool_timeout: float) -> BaseRequest:
        # aiohttp, not PTB's default httpx: a third of the CPU per Bot API call (telegram_http).
        transport = AiohttpRequest(connection_pool_size=pool, pool_timeout=pool_timeout)
        self._transports.append(transport)
        return transport

    async def close_transports(self) -> None:
        """Close the HTTP sessions; PTB skips this when start-up failed (a refused token)."""
        await asyncio.gather(*(transport.shutdown() for transport in self._transports))

    async def _post_init(self, app: App) -> None:
        await self._set_commands(app)
        self.desk.start()
        self._purge_task = asyncio.create_task(self._purge_loop(), name="purge-expired")
        self._watch_task = asyncio.create_task(self._watch_loop(app), name="watch-knowledge")

    async def _post_shutdown(self, app: App) -> None:
        await self.desk.stop()
        for task in (self._purge_task, self._watch_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._purge_task = self._watch_task = None

    async def _set_commands(self, app: App) -> None:
        public = [BotCommand(name, COMMAND_DESCRIPTIONS[name]) for name in COMMANDS]
        admin = public + [BotCommand(name, COMMAND_DESCRIPTIONS[name]) for name in ADMIN_COMMANDS]
        try:
            await app.bot.set_my_commands(public, scope=BotCommandScopeDefault())
        except TelegramError as exc:
            # The menu is a convenience; the bot works without it.
            log.warning("could not register the command menu: %s", type(exc).__name__)
        for admin_id in sorted(self.admin_ids):
            try:
                await app.bot.set_my_commands(admin, scope=BotCommandScopeChat(admin_id))
            except TelegramError as exc:
                # Telegram refuses a chat scope until that admin has opened a chat with the bot.
                log.info("admin command menu not set for one admin: %s", exc.message)

    async def _purge_loop(self) -> None:
        retention = self.settings.privacy.retention_days
        while True:
            try:
                removed = self.storage.purge_expired(self.now(), retention)
                if removed:
                    log.info("deleted %d unanswered question(s) past retention", removed)
            except Exception:
                log.exception("purging expired unanswered questions failed")
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    async def _watch_loop(self, app: App) -> None:
        """Reload edited knowledge files on our own; tell the admins what happened."""
        while True:
            await asyncio.sleep(WATCH_EVERY_SECONDS)
            try:
                async with self.reload_lock:
                    # In a thread: a load takes ~100 ms, which would stall every chat.
                    outcome = await asyncio.to_thread(self.reloader.poll, time.monotonic())
                if outcome is not None:
                    report = self.apply_reload(outcome, automatic=True)
                    await self._tell_admins(app, report)
            except Exception:
                # Never let the watcher die: the next edit deserves a try too.
                log.exception("checking the knowledge files for edits failed")

    def apply_reload(self, outcome: ReloadOutcome, *, automatic: bool) -> str:
        """Swap in the new knowledge, or log why the old one keeps serving; return a report."""
        how = "changed on disk" if automatic else "/reload"
        if outcome.knowledge is None:
            # Problems name a knowledge file, a line and what is wrong: no user text.
            for problem in outcome.problems:
                log.warning("knowledge reload (%s) refused: %s", how, problem)
            return _reload_failed(outcome.problems, automatic=automatic)
        kb = outcome.knowledge
        self.engine = Engine(kb)
        warnings = len(kb.warnings)
        log.info("knowledge reloaded (%s): %d topics", how, len(kb.topics))
        lead = "The knowledge files changed; reloaded" if automatic else "Knowledge reloaded"
        return (
            f"{lead}: {len(kb.topics)} topics, {kb.question_count} questions, "
            f"{warnings} warning{'s' if warnings != 1 else ''}."
        )

    async def _tell_admins(self, app: App, text: str) -> None:
        for admin_id in sorted(self.admin_ids):
            try:
                for part in render(Reply(text), None):
                    await app.bot.send_message(admin_id, part.html, parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                # An admin who never opened a chat with the bot cannot be written to.
                log.warning("could not tell an admin about the reload: %s", type(exc).__name__)

    @property
    def messages(self) -> Messages:
        return self.engine.kb.messages.messages

    # --- handlers --------------------------------------------------------------------------

    async def on_text(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or message.text is None or message.from_user is None:
            return
        text = message.text
        if message.chat.type != ChatType.PRIVATE:
            addressed = self._addressed_text(message, context.bot.username)
            if addressed is None:
                return
            text = addressed
        event = parse_input(text)
        if isinstance(event, Command):
            target = _command_target(text)
            if target is not None and target.casefold() != context.bot.username.casefold():
                return  # "/help@OtherBot" in a group is for another bot
            known = event.name in COMMANDS or event.name in ADMIN_COMMANDS
            if target is None and not known and message.chat.type != ChatType.PRIVATE:
                return  # a bare "/other" in a group is most likely another bot's command
            if event.name in ADMIN_COMMANDS and message.from_user.id in self.admin_ids:
                await self._admin(update, context, event.name)
                return
        await self._converse(update, context, event)

    async def on_other(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or message.from_user is None:
            return
        if message.chat.type != ChatType.PRIVATE:
            return  # a group's photos and stickers are not for the bot
        event = contact_event(message) or NonText(_kind_of(message))
        await self._converse(update, context, event)

    async def on_edit(self, update: Update, context: Context) -> None:
        """Edits are ignored on purpose: see the module docstring."""
        log.debug("ignored an edited message (update %s)", update.update_id)

    async def on_press(self, update: Update, context: Context) -> None:
        query, chat = update.callback_query, update.effective_chat
        if query is None:
            return
        if chat is None or query.message is None:
            # A button on an inline-mode message: the bot never sends those.
            await self._answer_query(query, self.messages.stale_button)
            return
        action = self._verified_action(query)
        if action is not None and is_admin_action(action):
            if query.from_user.id in self.admin_ids:
                await self._typing(context, chat.id)  # adding a phrasing takes about a second
                await self.desk.press(update, context, query, action)
            else:  # signed for this user, who is no longer an admin
                await self._answer_query(query, self.messages.stale_button)
            return
        private = chat.type == ChatType.PRIVATE
        if action is None and not private:
            # Someone else's button in a group (or forged): a toast for the presser only,
            # nothing in the conversation of the person the button was for.
            await self._answer_query(query, self.messages.stale_button)
            return
        # In a private chat a refused press still goes to the engine, as an action it cannot
        # know (""), so it answers the way it answers any stale button: saying so and showing
        # where the conversation stands.
        await self._converse(update, context, Press(action or ""), query=query)

    async def on_error(self, update: object, context: Context) -> None:
        """Log the failure (no token, no user text) and tell the person; the bot keeps going."""
        error = context.error
        if error is None:
            return
        if update is None and isinstance(error, NetworkError):
            # Polling hiccups (5xx, dropped connections) are retried by PTB with back-off; a
            # line each is enough, a traceback each would bury everything else.
            log.warning("polling Telegram failed (%s); retrying", type(error).__name__)
            return
        update_id = update.update_id if isinstance(update, Update) else None
        frames = "".join(traceback.format_tb(error.__traceback__)) if error.__traceback__ else ""
        # Only the exception's type: its message could quote what the person wrote.
        log.error(
            "handling update %s failed: %s\n%s", update_id, type(error).__name__, frames.rstrip()
        )
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        if update.callback_query is not None:
            await self._answer_query(update.callback_query, None)
        if isinstance(error, Forbidden):
            return  # the person blocked the bot; telling them is impossible
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                update.effective_chat.id, to_html(self.messages.error), parse_mode=ParseMode.HTML
            )

    # --- the one conversation path ---------------------------------------------------------

    async def _converse(
        self,
        update: Update,
        context: Context,
        event: Event,
        *,
        query: CallbackQuery | None = None,
    ) -> None:
        """Load the session, let the engine answer, save, perform effects, send the replies."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        # No typing indicator here: the turn is ready in about a millisecond, so the indicator
        # would never be seen, yet it cost a Bot API round trip before every reply (a third of
        # the bot's CPU under load). Slow work (admin commands, below) does show it.
        now = self.now()
        engine = self.engine  # one knowledge base for the whole turn, even if /reload swaps it
        # A database fault (locked, read-only, full) must not cost the answer: the turn goes on
        # without the stored session, and the person is told their progress may not be kept.
        try:
            session = self.storage.load_session(user.id, chat.id)
            loaded = True
        except StorageError as exc:
            log.warning("a session could not be loaded; answering without it: %s", exc)
            session, loaded = None, False
        private = chat.type == ChatType.PRIVATE
        turn = engine.handle(session, event, now, user.language_code, private=private)
        spoken = engine.language_of(turn.session, user.language_code).messages.messages
        forgot = any(isinstance(e, ForgetUser) for e in turn.effects)
        # Not saved after a failed load: that would overwrite the stored session, which may be
        # fine, with a fresh one.
        saved = forgot or (loaded and self._save(user.id, chat.id, turn.session, now))
        self._perform(turn.effects, user.id, now, chat_id=chat.id)
        replies = turn.replies
        if saved:
            self._unsaved.discard(user.id)
        elif user.id not in self._unsaved:
            self._unsaved.add(user.id)
            replies = (*replies, Reply(spoken.save_failed))
        if query is not None:
            # Answered once the engine has spoken, so a refused press also gets a toast.
            refused = spoken.stale_button
            stale = any(r.text.startswith(refused) for r in turn.replies)
            await self._answer_query(query, refused if stale else None)
        reply_to = update.message.message_id if update.message is not None else None
        await self._send(context, chat.id, user.id, replies, reply_to=reply_to, chat=chat.type)

    def _save(self, user_id: int, chat_id: int, session: dict[str, Any], now: datetime) -> bool:
        try:
            self.storage.save_session(user_id, chat_id, session, now)
        except StorageError as exc:
            # The error names the file and the step, never the session's content.
            log.warning("a session could not be saved: %s", exc)
            return False
        return True

    def _perform(
        self, effects: Iterable[object], user_id: int, now: datetime, *, chat_id: int | None = None
    ) -> None:
        """Effects as storage calls. A failed /forget raises (on_error tells the person it
        went wrong, never "done"); the log and the counts are best effort and only logged."""
        for effect in effects:
            if isinstance(effect, LogUnanswered):
                closest = effect.suggestions[0] if effect.suggestions else None
                try:
                    self.storage.log_unanswered(
                        user_id, effect.question, closest, None, effect.reason, now
                    )
                except StorageError as exc:
                    log.warning("an unanswered question could not be logged: %s", exc)
            elif isinstance(effect, ForgetUser):
                forgotten = self.storage.forget(user_id)
                log.info(
                    "forgot a user: %d session(s), %d question(s)",
                    forgotten.sessions,
                    forgotten.unanswered,
                )
            elif isinstance(effect, RequestCallback):
                # Raises if it cannot be stored: the person must not be told it is on its way.
                chat = user_id if chat_id is None else chat_id
                self.desk.request_callback(effect, user_id, chat, now)
            elif isinstance(effect, Count):
                try:
                    self.storage.count(effect.name, now)
                except StorageError as exc:
                    log.warning("a usage figure could not be counted: %s", exc)

    async def _send(
        self,
        context: Context,
        chat_id: int,
        user_id: int,
        replies: Iterable[Reply],
        *,
        reply_to: int | None = None,
        chat: str = ChatType.PRIVATE,
    ) -> None:
        first = True
        links: dict[str, str] = {}
        if chat != ChatType.PRIVATE:
            # What must not happen in front of the group opens the private chat instead.
            username = context.bot.username
            links = {a: private_link(username, p) for a, p in PRIVATE_ACTIONS.items()}
        for reply in replies:
            keyboard = make_keyboard(reply.options, self.signer, chat_id, user_id, links)
            for part in render(reply, keyboard or reply_markup(reply, self)):
                # In a group, the first message answers the person's message so others can see
                # whom it is for.
                quote = None
                if first and reply_to is not None and chat != ChatType.PRIVATE:
                    quote = ReplyParameters(reply_to, allow_sending_without_reply=True)
                await self._send_one(context, chat_id, part, quote)
                first = False

    async def _send_one(
        self,
        context: Context,
        chat_id: int,
        part: Outgoing,
        quote: ReplyParameters | None,
    ) -> Message:
        delay = SEND_BACKOFF
        for attempt in range(SEND_RETRIES + 1):
            try:
                return await context.bot.send_message(
                    chat_id,
                    part.html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=part.keyboard,
                    reply_parameters=quote,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except NetworkError as exc:
                # A dropped connection or a 502 on the way to Telegram: try again, or the reply
                # is lost. (429s are retried by the rate limiter; 400s would fail again.)
                if attempt == SEND_RETRIES:
                    raise
                log.warning("sending failed (%s), retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    async def _typing(self, context: Context, chat_id: int) -> None:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            # Only a nicety: never let it cost the reply.
            log.debug("typing indicator failed: %s", type(exc).__name__)

    async def _answer_query(self, query: CallbackQuery, text: str | None) -> None:
        try:
            await query.answer(text[:MAX_QUERY_ANSWER] if text else None)
        except BadRequest as exc:
            # Already answered, or older than Telegram keeps queries: nothing left to do.
            log.debug("callback query not answered: %s", exc.message)
        except TelegramError as exc:
            # A 502 or a dropped connection: the toast is lost, but the reply that follows
            # must not be (an exception here would skip it).
            log.warning("callback query not answered: %s", type(exc).__name__)

    # --- Telegram-only concerns ------------------------------------------------------------

    def _verified_action(self, query: CallbackQuery) -> str | None:
        data = query.data
        message = query.message
        if not data or message is None:
            return None
        action = self.signer.verify(data, message.chat.id, query.from_user.id)
        if action is None:
            return None
        if isinstance(message, Message) and message.reply_markup is not None:
            # The data must be a button of the pressed message, not a value made up elsewhere.
            offered = {
                b.callback_data for row in message.reply_markup.inline_keyboard for b in row
            }
            if data not in offered:
                return None
        return action

    def _addressed_text(self, message: Message, username: str) -> str | None:
        """In a group: the text meant for the bot (mention removed), or None if not for it."""
        text = message.text or ""
        if text.startswith("/"):
            return text
        bot_id = message.get_bot().id
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
            return text
        mention = f"@{username}".casefold()
        for entity, value in message.parse_entities(
            [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        ).items():
            is_bot = (
                value.casefold() == mention
                if entity.type == MessageEntity.MENTION
                else entity.user is not None and entity.user.id == bot_id
            )
            if is_bot:
                stripped = (text.replace(value, " ", 1)).strip()
                return re.sub(r"\s+", " ", stripped) if stripped else stripped
        return None

    async def _admin(self, update: Update, context: Context, name: str) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        # Reloading, grouping questions and drawing charts take up to a few seconds.
        await self._typing(context, chat.id)
        if name != "reload":
            await self.desk.command(update, context, name)
            return
        text = await self.reload()
        for part in render(Reply(text), None):
            await self._send_one(context, chat.id, part, None)

    async def reload(self) -> str:
        """Load the knowledge files again; swap them in only if valid. Returns the report."""
        async with self.reload_lock:
            outcome = await asyncio.to_thread(self.reloader.reload)
            return self.apply_reload(outcome, automatic=False)


def _reload_failed(problems: Sequence[Problem], *, automatic: bool) -> str:
    errors = sum(1 for p in problems if p.severity == "error")
    then = (
        "Fix these and save again; I reload on my own."
        if automatic
        else "Fix these and send /reload again:"
    )
    lines = [
        f"The knowledge files have {errors} error{'s' if errors != 1 else ''}, so I kept "
        f"the previous knowledge (it is still serving). {then}",
        "",
    ]
    shown = [str(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
    lines += shown
    if len(problems) > len(shown):
        lines.append(
            f"… and {len(problems) - len(shown)} more; `backpain-bot check` lists them all."
        )
    return "\n".join(lines)


def _command_target(text: str) -> str | None:
    head = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    return head.partition("@")[2] or None


def _kind_of(message: Message) -> str:
    for kind in ("sticker", "photo", "voice", "audio", "video", "video_note", "location",
                 "document", "contact", "animation", "poll", "venue", "dice"):  # fmt: skip
        if getattr(message, kind, None):
            return kind
    return "other"


# --- running ---------------------------------------------------------------------------------


def _drop_invalid_token(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))


def _drop_unparsable_reply(record: logging.LogRecord) -> bool:
    # A 502 from Telegram's front end is an HTML page: PTB logs it at ERROR with a traceback,
    # then raises NetworkError, which the bot retries and logs as one warning line itself.
    return not str(record.msg).startswith("Can not load invalid JSON data")


def run(settings: Settings, token: str, kb: KnowledgeBase, storage: Storage) -> None:
    """Long-poll Telegram until SIGINT/SIGTERM; raise ConfigError if Telegram refuses the token."""
    bot = TelegramBot(settings, token, kb, storage)
    app = bot.build()
    # PTB logs a refused token with a traceback before raising it; the CLI's one line says it.
    logging.getLogger("telegram.ext").addFilter(_drop_invalid_token)
    logging.getLogger("telegram.request.BaseRequest").addFilter(_drop_unparsable_reply)
    # A fresh loop: run_polling's get_event_loop() would otherwise warn about an implicit one.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        app.run_polling(
            timeout=POLL_TIMEOUT_SECONDS,
            # -1: a network blip while starting is retried until it passes, not fatal.
            bootstrap_retries=-1,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            # Kept open so the HTTP sessions can be closed below even when start-up failed.
            close_loop=False,
        )
    except InvalidToken:
        raise ConfigError(
            "Telegram refused the bot token (unauthorized): copy it again from BotFather "
            "into TELEGRAM_BOT_TOKEN"
        ) from None
    finally:
        # PTB shuts the transports down after a normal run, but not when start-up failed.
        loop.run_until_complete(bot.close_transports())
        loop.close()
