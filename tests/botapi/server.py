"""FakeBotApi: an offline Telegram Bot API server on 127.0.0.1 for tests (asyncio in a thread)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .http11 import DROP, HttpServer, Request, Response, UploadedFile
from .markup import EntityParseError, parse_html, utf16_len

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TOKEN = "123456789:TEST-token-for-offline-tests"
FAULT_KINDS = ("429", "500", "502", "drop", "timeout", "403")
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
INLINE_ACTION_FIELDS = (
    "url",
    "callback_data",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)")
_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class ApiCall:
    """One request the bot made: decoded params and what the server answered."""

    seq: int
    method: str
    params: dict[str, Any]
    time: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int = 200
    description: str | None = None
    fault: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    def __str__(self) -> str:
        outcome = "ok" if self.ok else f"{self.status} {self.description or self.fault}"
        shown = {k: v for k, v in self.params.items() if k != "reply_markup"}
        args = json.dumps(shown, ensure_ascii=False)[:160]
        return f"#{self.seq} {self.method}({args}) -> {outcome}"


@dataclass
class SentMessage:
    """A message the bot sent (kept up to date by edits and deletes)."""

    seq: int
    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    plain_text: str
    entities: list[dict[str, Any]]
    date: int
    time: float
    params: dict[str, Any]
    reply_to_message_id: int | None = None
    deleted: bool = False
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, flattened row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b for row in rows for b in row if isinstance(b, dict)]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def button(self, text_contains: str) -> dict[str, Any]:
        """The first inline button whose text contains ``text_contains``."""
        for b in self.buttons:
            if text_contains in str(b.get("text", "")):
                return b
        raise AssertionError(f"no button containing {text_contains!r} in {self.buttons!r}")

    def __str__(self) -> str:
        return f"[{self.chat_id}/{self.message_id}] {self.plain_text[:200]!r}"


@dataclass
class Queued:
    """What a simulated user action queued: the update and the message/callback query in it."""

    update_id: int
    update: dict[str, Any]
    message: dict[str, Any] | None = None
    callback_query: dict[str, Any] | None = None

    @property
    def chat_id(self) -> int | None:
        msg = self.message or (self.callback_query or {}).get("message")
        return msg["chat"]["id"] if msg else None

    @property
    def message_id(self) -> int | None:
        return self.message["message_id"] if self.message else None


@dataclass
class _Fault:
    method: str
    kind: str
    remaining: int
    retry_after: int
    hold: float
    match: Callable[[dict[str, Any]], bool] | None


@dataclass
class _Chat:
    data: dict[str, Any]
    next_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    sent_by_id: dict[int, SentMessage] = field(default_factory=dict)
    user_mark: int = 0

    @property
    def id(self) -> int:
        return int(self.data["id"])


@dataclass(eq=False)
class _Poll:
    event: asyncio.Event
    conflicted: bool = False


_UNSET: Any = object()


class FakeBotApi:
    """A Telegram Bot API look-alike: run it, point the bot at ``base_url``, play users."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "test_pt_bot",
        bot_first_name: str = "Test Bot",
        extra_methods: Mapping[str, Any] | Iterable[str] = (),
        port: int = 0,
        max_long_poll: float = 50.0,
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 1
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.port = port
        self.max_long_poll = max_long_poll
        # Re-entrant: a wait_until condition may call the server's own accessors (messages(),
        # calls()), which take the lock again; a plain Lock deadlocks there.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._seq = 0
        self._last_mark = 0
        self._calls: list[ApiCall] = []
        self.unknown_calls: list[ApiCall] = []
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._updates: collections.deque[dict[str, Any]] = collections.deque()
        self._next_update_id = 100_000
        self._allowed_updates: set[str] | None = None
        self._queries: dict[str, bool] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._faults: list[_Fault] = []
        self.faults_injected = 0
        self._extra: dict[str, Any] = {}
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "deleteWebhook": lambda p: True,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
        }
        self._canonical = {name.lower(): name for name in self._methods}
        self._canonical["getupdates"] = "getUpdates"
        if isinstance(extra_methods, Mapping):
            for name, result in extra_methods.items():
                self.allow(name, result)
        else:
            for name in extra_methods:
                self.allow(name)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._polls: set[_Poll] = set()
        self._active_poll: _Poll | None = None
        self._stopping = False
        self._start_error: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeBotApi:
        """Start serving on 127.0.0.1 in a background thread (idempotent)."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="FakeBotApi", daemon=True
        )
        self._thread.start()
        ready.wait(10)
        if self._start_error is not None or not ready.is_set():
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"FakeBotApi failed to start: {self._start_error!r}")
        return self

    def stop(self) -> None:
        """Close the server, answer waiting long polls and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._stopping = True
        stop_event = self._stop_event
        if stop_event is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(15)
        self._thread = None
        with self._cond:
            self._cond.notify_all()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._loop = None
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        self._stop_event = asyncio.Event()
        http = HttpServer(self._handle, "127.0.0.1", self.port)
        try:
            await http.start()
        except OSError as exc:
            self._start_error = exc
            ready.set()
            return
        self.port = http.port
        ready.set()
        await self._stop_event.wait()
        self._wake_polls()
        await asyncio.sleep(0.05)  # let woken long polls write their (empty) answers
        await http.close()

    @property
    def base_url(self) -> str:
        """Give this as ``base_url`` to telegram.Bot / ApplicationBuilder (token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def api_url(self) -> str:
        """``base_url`` plus the token: append ``/sendMessage`` etc. for raw HTTP calls."""
        return f"{self.base_url}{self.token}"

    # ------------------------------------------------------------------ configuration
    def allow(self, method: str, result: Any = True) -> None:
        """Accept and record ``method`` (any params); answer ``result`` or ``result(params)``."""
        self._extra[method] = result
        self._canonical.setdefault(method.lower(), method)

    def fail(
        self,
        method: str,
        kind: str,
        times: int = 1,
        retry_after: int = 1,
        *,
        hold: float = 30.0,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any) fail with ``kind``.

        kinds: "429" (retry_after), "500", "502" (nginx HTML), "403" (bot blocked),
        "drop" (connection closed, no answer), "timeout" (held ``hold`` s, then dropped).
        A faulted request has no effect. ``match(params)`` narrows which requests hit it.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        with self._lock:
            self._faults.append(_Fault(method.lower(), kind, times, retry_after, hold, match))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        """Make sends to this private chat answer 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            (self._blocked.add if blocked else self._blocked.discard)(user_id)

    # ------------------------------------------------------------------ HTTP entry
    async def _handle(self, request: Request) -> Response:
        path = request.path
        if not path.startswith("/bot"):
            return _error(404, "Not Found")
        token, sep, method = path[4:].partition("/")
        if token != self.token:
            return _error(401, "Unauthorized")
        if not sep or not method or "/" in method:
            return _error(404, "Not Found")
        name = self._canonical.get(method.lower())
        params = request.params
        if name is None:
            with self._cond:
                call = self._record(method, params, request.files, 404, "Not Found")
                self.unknown_calls.append(call)
            log.warning("FakeBotApi: unknown method %s(%s) -> 404", method, params)
            return _error(404, "Not Found")
        fault = self._take_fault(name, params)
        if fault is not None:
            return await self._apply_fault(fault, name, params, request)
        if request.body_error is not None:
            return self._finish(name, params, request, ApiError(400, request.body_error))
        if name == "getUpdates":
            return await self._get_updates(params, request)
        with self._cond:
            try:
                if name in self._extra:
                    extra = self._extra[name]
                    result = extra(params) if callable(extra) else extra
                else:
                    result = self._methods[name](params)
            except ApiError as exc:
                return self._finish_locked(name, params, request, exc)
            return self._finish_locked(name, params, request, result)

    def _finish(
        self, name: str, params: dict[str, Any], request: Request, result: Any
    ) -> Response:
        with self._cond:
            return self._finish_locked(name, params, request, result)

    def _finish_locked(
        self, name: str, params: dict[str, Any], request: Request, result: Any
    ) -> Response:
        if isinstance(result, ApiError):
            self._record(name, params, request.files, result.status, result.description)
            return _error(result.status, result.description, result.parameters)
        self._record(name, params, request.files, 200, None, result=result)
        return Response(200, _dumps({"ok": True, "result": result}))

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        status: int,
        description: str | None,
        *,
        fault: str | None = None,
        result: Any = None,
    ) -> ApiCall:
        self._seq += 1
        call = ApiCall(self._seq, method, params, time.time(), files, status, description, fault)
        call.result = result
        self._calls.append(call)
        self._cond.notify_all()
        return call

    def _take_fault(self, name: str, params: dict[str, Any]) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method not in ("*", name.lower()):
                    continue
                if fault.match is not None and not fault.match(params):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                self.faults_injected += 1
                return fault
        return None

    async def _apply_fault(
        self, fault: _Fault, name: str, params: dict[str, Any], request: Request
    ) -> Response:
        kind = fault.kind
        status = {"429": 429, "500": 500, "502": 502, "403": 403}.get(kind, 0)
        with self._cond:
            self._record(name, params, request.files, status, f"fault {kind}", fault=kind)
        log.info("FakeBotApi: injecting %s into %s", kind, name)
        if kind == "429":
            n = fault.retry_after
            return _error(429, f"Too Many Requests: retry after {n}", {"retry_after": n})
        if kind == "500":
            return _error(500, "Internal Server Error")
        if kind == "403":
            return _error(403, "Forbidden: bot was blocked by the user")
        if kind == "502":
            return Response(502, BAD_GATEWAY_HTML, "text/html")
        if kind == "timeout":
            await self._sleep_or_stop(fault.hold)
        return DROP

    async def _sleep_or_stop(self, seconds: float) -> None:
        assert self._stop_event is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)

    # ------------------------------------------------------------------ getUpdates
    async def _get_updates(self, params: dict[str, Any], request: Request) -> Response:
        try:
            timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_long_poll)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            offset = int(params.get("offset") or 0)
        except (TypeError, ValueError):
            return self._finish("getUpdates", params, request, ApiError(400, "Bad Request"))
        allowed = params.get("allowed_updates")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        poll = _Poll(asyncio.Event())
        if self._active_poll is not None:
            self._active_poll.conflicted = True
            self._active_poll.event.set()
        self._active_poll = poll
        try:
            while True:
                if poll.conflicted:
                    conflict = ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                    return self._finish("getUpdates", params, request, conflict)
                with self._lock:
                    updates = self._select_updates(offset, limit, allowed)
                remaining = deadline - loop.time()
                if updates or remaining <= 0 or self._stopping:
                    return self._finish("getUpdates", params, request, updates)
                poll.event.clear()
                self._polls.add(poll)
                try:
                    await asyncio.wait_for(poll.event.wait(), remaining)
                except TimeoutError:
                    pass
                finally:
                    self._polls.discard(poll)
        finally:
            if self._active_poll is poll:
                self._active_poll = None

    def _select_updates(self, offset: int, limit: int, allowed: Any) -> list[dict[str, Any]]:
        if isinstance(allowed, list):
            self._allowed_updates = set(allowed) if allowed else None
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        result: list[dict[str, Any]] = []
        for update in self._updates:
            kind = next((k for k in update if k != "update_id"), "")
            if self._allowed_updates is None:
                if kind in NOT_DEFAULT_UPDATES:
                    continue
            elif kind not in self._allowed_updates:
                continue
            result.append(update)
            if len(result) >= limit:
                break
        return result

    def _wake_polls(self) -> None:
        for poll in list(self._polls):
            poll.event.set()

    def _notify_pollers(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_polls)

    # ------------------------------------------------------------------ method handlers
    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _COMMAND_NAME_RE.match(str(cmd.get("command"))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not str(cmd.get("description") or "").strip():
                raise ApiError(400, "Bad Request: command description is empty")
        self._commands[self._scope_key(params)] = commands
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._commands.get(self._scope_key(params), [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._scope_key(params), None)
        return True

    def _chat(self, params: dict[str, Any]) -> _Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat: _Chat | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            chat = next(
                (c for c in self._chats.values() if c.data.get("username") == raw[1:]), None
            )
        else:
            try:
                chat = self._chats.get(int(raw))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat.data["type"] == "private" and chat.id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    @staticmethod
    def _text(params: dict[str, Any], key: str = "text") -> tuple[str, list[dict[str, Any]]]:
        text = params.get(key)
        if text is None or not str(text).strip():
            raise ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        mode = str(params.get("parse_mode") or "").lower()
        entities: list[dict[str, Any]] = []
        if mode == "":
            plain = text.strip()
            given = params.get("entities")
            if isinstance(given, list):
                entities = given
        elif mode == "html":
            try:
                plain, entities = parse_html(text)
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif mode in ("markdownv2", "markdown"):
            raise ApiError(
                400,
                f"Bad Request: FakeBotApi does not implement parse_mode {params['parse_mode']}"
                " (use HTML, which it checks like Telegram)",
            )
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if not plain:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return plain, entities

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an '
                "Array of Arrays",
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse InlineKeyboardButton: "
                        "InlineKeyboardButton must be an Object",
                    )
                if not isinstance(button.get("text"), str) or not button["text"].strip():
                    raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or len(data.encode("utf-8")) > 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not any(button.get(k) not in (None, "") for k in INLINE_ACTION_FIELDS):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse InlineKeyboardButton: "
                        "Text buttons are not allowed in the inline keyboard",
                    )
        return markup

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        plain, entities = self._text(params)
        markup = self._markup(params)
        reply_id: int | None = None
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            reply_id = int(reply["message_id"])
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") not in (None, ""):
            reply_id = int(params["reply_to_message_id"])
        replied = chat.messages.get(reply_id) if reply_id is not None else None
        if reply_id is not None and replied is None and not allow_missing:
            raise ApiError(400, "Bad Request: message to be replied not found")
        message_id = chat.next_id
        chat.next_id += 1
        now = time.time()
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat.data,
            "date": int(now),
            "text": plain,
        }
        if entities:
            message["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if replied is not None:
            message["reply_to_message"] = {
                k: v for k, v in replied.items() if k != "reply_to_message"
            }
        chat.messages[message_id] = message
        self._seq += 1
        sent = SentMessage(
            seq=self._seq,
            chat_id=chat.id,
            message_id=message_id,
            text=str(params.get("text")),
            parse_mode=params.get("parse_mode") or None,
            reply_markup=markup,
            plain_text=plain,
            entities=entities,
            date=int(now),
            time=now,
            params=params,
            reply_to_message_id=reply_id if replied is not None else None,
        )
        chat.sent.append(sent)
        chat.sent_by_id[message_id] = sent
        return message

    def _own_message(self, params: dict[str, Any], verb: str) -> tuple[_Chat, dict[str, Any]]:
        chat = self._chat(params)
        try:
            message_id = int(params.get("message_id") or 0)
        except (TypeError, ValueError):
            message_id = 0
        if not message_id:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        if verb == "edit" and message["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat, message

    def _apply_edit(
        self, chat: _Chat, old: dict[str, Any], new: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        same_markup = new.get("reply_markup") == old.get("reply_markup")
        if (
            new["text"] == old["text"]
            and new.get("entities") == old.get("entities")
            and same_markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        chat.messages[new["message_id"]] = new
        sent = chat.sent_by_id.get(new["message_id"])
        if sent is not None:
            sent.edits.append(
                {
                    "text": sent.text,
                    "parse_mode": sent.parse_mode,
                    "reply_markup": sent.reply_markup,
                    "plain_text": sent.plain_text,
                }
            )
            if "text" in params:
                sent.text = str(params["text"])
                sent.parse_mode = params.get("parse_mode") or None
            sent.plain_text = new["text"]
            sent.entities = new.get("entities", [])
            sent.reply_markup = new.get("reply_markup")
        return new

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            self._text(params)
            self._markup(params)
            return True
        chat, old = self._own_message(params, "edit")
        plain, entities = self._text(params)
        markup = self._markup(params)
        new = {k: v for k, v in old.items() if k not in ("entities", "reply_markup")}
        new["text"] = plain
        if entities:
            new["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        return self._apply_edit(chat, old, new, params)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = self._markup(params)
        if params.get("inline_message_id"):
            return True
        chat, old = self._own_message(params, "edit")
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        if markup is not None and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        return self._apply_edit(chat, old, new, params)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat, message = self._own_message(params, "delete")
        del chat.messages[message["message_id"]]
        sent = chat.sent_by_id.get(message["message_id"])
        if sent is not None:
            sent.deleted = True
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if self._queries.get(query_id, True):
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._queries[query_id] = True
        self.callback_answers[query_id] = params
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    # ------------------------------------------------------------------ playing users
    def _user(
        self,
        user_id: int,
        username: str | None,
        first_name: str | None,
        last_name: str | None,
        language_code: str | None,
    ) -> dict[str, Any]:
        profile = self._users.setdefault(
            user_id,
            {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User{user_id}",
                "username": f"user{user_id}",
            },
        )
        for key, value in (
            ("username", username),
            ("first_name", first_name),
            ("last_name", last_name),
            ("language_code", language_code),
        ):
            if value is not None:
                profile[key] = value
        return dict(profile)

    def _chat_for(
        self, user: dict[str, Any], chat_id: int | None, chat_type: str, title: str | None
    ) -> _Chat:
        if chat_id is None:
            if chat_type != "private":
                raise ValueError(f"chat_id is required for a {chat_type} chat")
            chat_id = user["id"]
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_type == "private":
                data = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
                for key in ("last_name", "username"):
                    if key in user:
                        data[key] = user[key]
            else:
                data = {"id": chat_id, "type": chat_type, "title": title or f"Chat {chat_id}"}
            chat = _Chat(data)
            self._chats[chat_id] = chat
        return chat

    def _queue(self, payload: dict[str, Any], chat: _Chat | None) -> Queued:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **payload}
        self._updates.append(update)
        self._seq += 1
        self._last_mark = self._seq
        if chat is not None:
            chat.user_mark = self._seq
        self._cond.notify_all()
        self._notify_pollers()
        message = next(
            (v for k, v in payload.items() if k.endswith("message") or k.endswith("post")), None
        )
        return Queued(update_id, update, message, payload.get("callback_query"))

    def _user_message(
        self,
        user_id: int,
        fields: dict[str, Any],
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        title: str | None = None,
        reply_to_bot: bool = False,
        reply_to: int | SentMessage | None = None,
    ) -> Queued:
        with self._cond:
            user = self._user(user_id, username, first_name, last_name, language_code)
            chat = self._chat_for(user, chat_id, chat_type, title)
            message_id = chat.next_id
            chat.next_id += 1
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": user,
                "chat": chat.data,
                "date": int(time.time()),
                **fields,
            }
            replied: dict[str, Any] | None = None
            if reply_to_bot:
                alive = [s for s in chat.sent if not s.deleted]
                if not alive:
                    raise AssertionError(f"no bot message to reply to in chat {chat.id}")
                replied = chat.messages[alive[-1].message_id]
            elif reply_to is not None:
                rid = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
                replied = chat.messages.get(rid)
                if replied is None:
                    raise AssertionError(f"message {rid} not found in chat {chat.id}")
            if replied is not None:
                message["reply_to_message"] = {
                    k: v for k, v in replied.items() if k != "reply_to_message"
                }
            chat.messages[message_id] = message
            return self._queue({"message": message}, chat)

    @staticmethod
    def auto_entities(text: str) -> list[dict[str, Any]]:
        """bot_command and mention entities the way Telegram marks them in user text."""
        found: list[dict[str, Any]] = []
        for regex, kind in ((_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
            for m in regex.finditer(text):
                offset = utf16_len(text[: m.start()])
                found.append({"type": kind, "offset": offset, "length": utf16_len(m.group())})
        return sorted(found, key=lambda e: e["offset"])

    def user_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        title: str | None = None,
        reply_to_bot: bool = False,
        reply_to: int | SentMessage | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> Queued:
        """Queue a text message from a user (private chat by default)."""
        fields: dict[str, Any] = {"text": text}
        ents = self.auto_entities(text) if entities is None else entities
        if ents:
            fields["entities"] = ents
        return self._user_message(
            user_id,
            fields,
            chat_id=chat_id,
            chat_type=chat_type,
            username=username,
            first_name=first_name,
            last_name=last_name,
            language_code=language_code,
            title=title,
            reply_to_bot=reply_to_bot,
            reply_to=reply_to,
        )

    def user_command(
        self, user_id: int, command: str, args: str = "", *, mention_bot: bool = False, **kw: Any
    ) -> Queued:
        """Queue ``/command[@bot] args``."""
        text = "/" + command.lstrip("/")
        if mention_bot:
            text += f"@{self.bot_username}"
        if args:
            text += f" {args}"
        return self.user_text(user_id, text, **kw)

    def group_message(
        self,
        user_id: int,
        chat_id: int,
        text: str,
        *,
        title: str = "Test group",
        chat_type: str = "supergroup",
        **kw: Any,
    ) -> Queued:
        """Queue a text message from ``user_id`` in a group chat."""
        return self.user_text(
            user_id, text, chat_id=chat_id, chat_type=chat_type, title=title, **kw
        )

    def _file(self, prefix: str) -> tuple[str, str]:
        n = next(self._file_ids)
        return f"{prefix}-file-{n:06d}", f"{prefix}-uniq-{n:06d}"

    def user_sticker(self, user_id: int, emoji: str = "👍", **kw: Any) -> Queued:
        file_id, unique = self._file("sticker")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(user_id, {"sticker": sticker}, **kw)

    def user_photo(self, user_id: int, caption: str | None = None, **kw: Any) -> Queued:
        file_id, unique = self._file("photo")
        sizes = [
            {"file_id": f"{file_id}-{w}", "file_unique_id": f"{unique}-{w}", "width": w,
             "height": w * 3 // 4, "file_size": w * 40}
            for w in (90, 320, 1280)
        ]  # fmt: skip
        fields: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        return self._user_message(user_id, fields, **kw)

    def user_location(
        self, user_id: int, latitude: float = 52.52, longitude: float = 13.405, **kw: Any
    ) -> Queued:
        return self._user_message(
            user_id, {"location": {"latitude": latitude, "longitude": longitude}}, **kw
        )

    def user_voice(self, user_id: int, duration: int = 3, **kw: Any) -> Queued:
        file_id, unique = self._file("voice")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4000 * duration,
        }
        return self._user_message(user_id, {"voice": voice}, **kw)

    def user_document(
        self,
        user_id: int,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        **kw: Any,
    ) -> Queued:
        file_id, unique = self._file("document")
        doc = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": 12345,
        }
        fields: dict[str, Any] = {"document": doc}
        if caption is not None:
            fields["caption"] = caption
        return self._user_message(user_id, fields, **kw)

    def edit_user_message(
        self, user_id: int, message: Queued | int, text: str, *, chat_id: int | None = None
    ) -> Queued:
        """Queue an ``edited_message`` update for a message the user sent earlier."""
        if isinstance(message, Queued):
            chat_id = message.chat_id if chat_id is None else chat_id
            message_id = message.message_id
        else:
            message_id = message
        with self._cond:
            chat = self._chats.get(user_id if chat_id is None else chat_id)
            old = chat.messages.get(message_id or 0) if chat else None
            if chat is None or old is None or old["from"]["id"] != user_id:
                raise AssertionError(f"user {user_id} has no message {message_id} to edit")
            new = {k: v for k, v in old.items() if k != "entities"}
            new["text"] = text
            new["edit_date"] = int(time.time())
            ents = self.auto_entities(text)
            if ents:
                new["entities"] = ents
            chat.messages[new["message_id"]] = new
            return self._queue({"edited_message": new}, chat)

    def press_button(
        self,
        user_id: int,
        message: SentMessage | int,
        data: str,
        *,
        chat_id: int | None = None,
        strict: bool = True,
        username: str | None = None,
        first_name: str | None = None,
        language_code: str | None = "en",
    ) -> Queued:
        """Queue a callback_query for pressing the button with ``data`` on a bot message.

        ``strict`` asserts the message still exists and has a button with that callback_data.
        """
        if isinstance(message, SentMessage):
            chat_id = message.chat_id if chat_id is None else chat_id
            message_id = message.message_id
        else:
            message_id = message
        with self._cond:
            user = self._user(user_id, username, first_name, None, language_code)
            chat = self._chats.get(user_id if chat_id is None else chat_id)
            msg = chat.messages.get(message_id) if chat else None
            if chat is None or msg is None:
                raise AssertionError(f"no message {message_id} in chat {chat_id or user_id}")
            if strict:
                rows = (msg.get("reply_markup") or {}).get("inline_keyboard") or []
                datas = [b.get("callback_data") for row in rows for b in row]
                if data not in datas:
                    raise AssertionError(
                        f"message {message_id} has no button with callback_data {data!r}; "
                        f"it has {datas!r}"
                    )
            query_id = str(next(self._query_ids))
            self._queries[query_id] = False
            query = {
                "id": query_id,
                "from": user,
                "message": msg,
                "chat_instance": str(-(abs(chat.id) * 7919 + 13)),
                "data": data,
            }
            return self._queue({"callback_query": query}, chat)

    def raw_update(self, update: dict[str, Any]) -> Queued:
        """Queue any update as given (``update_id`` is added unless present)."""
        with self._cond:
            payload = {k: v for k, v in update.items() if k != "update_id"}
            chat: _Chat | None = None
            for value in payload.values():
                if isinstance(value, dict) and isinstance(value.get("chat"), dict):
                    data = value["chat"]
                    if isinstance(data.get("id"), int) and isinstance(data.get("type"), str):
                        chat = self._chats.setdefault(data["id"], _Chat(dict(data)))
            queued = self._queue(payload, chat)
            if "update_id" in update:
                queued.update["update_id"] = update["update_id"]
                queued.update_id = update["update_id"]
            return queued

    # ------------------------------------------------------------------ inspection
    def mark(self) -> int:
        """A point in time: pass it as ``since`` / to ``messages_since``."""
        with self._lock:
            self._last_mark = self._seq
            return self._seq

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method.lower() == method.lower()]

    def calls_since(self, mark: int, method: str | None = None) -> list[ApiCall]:
        return [c for c in self.calls(method) if c.seq > mark]

    def messages(self, chat_id: int) -> list[SentMessage]:
        """All messages the bot sent to ``chat_id``."""
        with self._lock:
            chat = self._chats.get(chat_id)
            return list(chat.sent) if chat else []

    def last_message(self, chat_id: int) -> SentMessage:
        msgs = self.messages(chat_id)
        if not msgs:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return msgs[-1]

    def messages_since(self, mark: int, chat_id: int | None = None) -> list[SentMessage]:
        with self._lock:
            chats = [self._chats[chat_id]] if chat_id in self._chats else []
            if chat_id is None:
                chats = list(self._chats.values())
            found = [m for c in chats for m in c.sent if m.seq > mark]
        return sorted(found, key=lambda m: m.seq)

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """The commands set with setMyCommands for that scope/language."""
        with self._lock:
            params = {"scope": scope, "language_code": language_code}
            return list(self._commands.get(self._scope_key(params), []))

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by an offset."""
        with self._lock:
            return list(self._updates)

    def _describe(self, chat_id: int | None, mark: int) -> str:
        lines: list[str] = []
        if chat_id is not None:
            chat = self._chats.get(chat_id)
            got = [m for m in chat.sent if m.seq > mark] if chat else []
            lines.append(f"messages to chat {chat_id} since mark {mark}: {len(got)}")
            lines += [f"  {m}" for m in got[-10:]]
        recent = [c for c in self._calls if c.method != "getUpdates" or not c.ok][-15:]
        lines.append("last calls (getUpdates omitted):")
        lines += [f"  {c}" for c in recent] or ["  (none)"]
        polls = sum(1 for c in self._calls if c.method == "getUpdates")
        lines.append(f"getUpdates calls: {polls}; unconfirmed updates: {len(self._updates)}")
        if self.unknown_calls:
            lines.append(f"unknown methods called: {[c.method for c in self.unknown_calls]}")
        return "\n".join(lines)

    def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0, *, since: int | None = None
    ) -> list[SentMessage]:
        """Block until the bot sent ``count`` messages to ``chat_id`` since ``since``.

        ``since`` defaults to the last simulated user action in that chat. Returns all the
        messages since then (maybe more than ``count``); raises AssertionError on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            chat = self._chats.get(chat_id)
            mark = since if since is not None else (chat.user_mark if chat else 0)
            while True:
                chat = self._chats.get(chat_id)
                got = [m for m in chat.sent if m.seq > mark] if chat else []
                if len(got) >= count:
                    return got
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {count} bot message(s) to chat "
                        f"{chat_id}, got {len(got)}\n{self._describe(chat_id, mark)}"
                    )
                self._cond.wait(remaining)

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> ApiCall:
        """Block until a ``method`` call (matching ``predicate``) arrives after ``since``.

        ``since`` defaults to the last ``mark()`` or simulated user action.
        """
        deadline = time.monotonic() + timeout
        wanted = method.lower()
        with self._cond:
            mark = self._last_mark if since is None else since
            index = 0
            while True:
                while index < len(self._calls):
                    call = self._calls[index]
                    index += 1
                    if (
                        call.seq > mark
                        and call.method.lower() == wanted
                        and (predicate is None or predicate(call))
                    ):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for a {method} call since mark "
                        f"{mark}\n{self._describe(None, mark)}"
                    )
                self._cond.wait(remaining)

    def wait_until(
        self, condition: Callable[[], T], timeout: float = 5.0, message: str = "condition"
    ) -> T:
        """Block until ``condition()`` (called under the server's lock) is truthy; return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {message}\n"
                        f"{self._describe(None, 0)}"
                    )
                self._cond.wait(remaining)

    async def async_wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0, *, since: int | None = None
    ) -> list[SentMessage]:
        if since is None:
            with self._lock:
                chat = self._chats.get(chat_id)
                since = chat.user_mark if chat else 0
        return await asyncio.to_thread(
            self.wait_for_messages, chat_id, count, timeout, since=since
        )

    async def async_wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> ApiCall:
        if since is None:
            with self._lock:
                since = self._last_mark
        return await asyncio.to_thread(self.wait_for_call, method, predicate, timeout, since=since)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(status, _dumps(body))
