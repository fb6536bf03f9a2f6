"""SQLite storage: sessions, the unanswered-question log and daily usage totals."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

DB_FILENAME = "bot.sqlite3"
SECRET_ENV = "BACKPAIN_BOT_SECRET"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    user_ref TEXT NOT NULL,
    chat_ref TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_ref, chat_ref)
);
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_ref TEXT NOT NULL,
    question TEXT NOT NULL,
    closest_topic TEXT,
    score REAL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS unanswered_created ON unanswered (created_at);
CREATE INDEX IF NOT EXISTS unanswered_user ON unanswered (user_ref);
-- Questions an admin reviewed and set aside; the cascade makes retention and forget cover them.
CREATE TABLE IF NOT EXISTS unanswered_dismissed (
    unanswered_id INTEGER PRIMARY KEY REFERENCES unanswered (id) ON DELETE CASCADE
);
-- Usage figures for /stats: one total per day and event name, never who or what was said.
CREATE TABLE IF NOT EXISTS events (
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, name)
);
-- Call-back requests: stored before delivery to the clinic's chat so none is lost; deleted by
-- forget, and after the retention period once delivered (or never deliverable).
CREATE TABLE IF NOT EXISTS callback_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_ref TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    summary TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS callback_status ON callback_requests (status);
CREATE INDEX IF NOT EXISTS callback_user ON callback_requests (user_ref);
"""
# Unanswered questions are for improving the knowledge base, not for reading people's
# stories: keep at most this much of each.
MAX_QUESTION_CHARS = 1000
# Event names come from the engine (``answer:<topic-id>`` and the like); a cap keeps a bug
# from filling the table with long strings.
MAX_EVENT_NAME_CHARS = 100
# Daily usage totals are kept this long, so a year can be compared with the one before.
EVENTS_KEPT_DAYS = 400
# How long a write waits for another connection's lock before giving up with "locked".
BUSY_TIMEOUT = 5.0


class StorageError(Exception):
    """The database cannot be used; the message names the file and what to do.

    Every :class:`Storage` method raises this (never a bare ``sqlite3.Error``), so callers
    catch one type. The message never holds the values written: only what was being done.
    """


@dataclass(frozen=True)
class UnansweredQuestion:
    id: int
    question: str
    closest_topic: str | None
    score: float | None
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class DailyCount:
    """How many times an event (``answer:sciatica``, ``conversation``...) happened on a day."""

    day: date
    name: str
    count: int


@dataclass(frozen=True)
class CallbackRequest:
    """A person's request to be called back by the clinic (with their consent)."""

    id: int
    chat_id: int  # where to confirm delivery to the person
    name: str
    phone: str
    summary: str
    status: str  # "pending" until the clinic's chat has it, then "delivered"
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Forgotten:
    """What ``forget`` deleted, so the bot can tell the person."""

    sessions: int
    unanswered: int


P = ParamSpec("P")
R = TypeVar("R")


def _guarded(
    doing: str,
) -> Callable[[Callable[Concatenate[Storage, P], R]], Callable[Concatenate[Storage, P], R]]:
    """A Storage method whose SQLite errors become a StorageError saying ``doing``."""

    def decorate(
        method: Callable[Concatenate[Storage, P], R],
    ) -> Callable[Concatenate[Storage, P], R]:
        @functools.wraps(method)
        def guarded(self: Storage, /, *args: P.args, **kwargs: P.kwargs) -> R:
            with self._errors(doing):
                return method(self, *args, **kwargs)

        return guarded

    return decorate


class Storage:
    """One SQLite file under ``data_dir``; every query is parameterised."""

    def __init__(
        self, path: Path, secret: str | None = None, *, busy_timeout: float = BUSY_TIMEOUT
    ) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"cannot open the database {path}: {exc}; check that data_dir exists and the "
                "bot may write to it"
            ) from None
        try:
            # WAL keeps readers and the writer apart and survives a kill -9 mid-write;
            # synchronous=NORMAL is durable across process crashes in WAL mode.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            check = self._db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(str(check[0] if check else "no answer"))
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StorageError(
                f"the database {path} is damaged or not a database ({exc}); the bot did not "
                "change it. Move it aside (keep a copy for recovery) and start the bot again "
                "to create a new one"
            ) from None
        with self._errors("reading the key for user references"):
            self._secret = (secret or self._stored_secret()).encode()

    @classmethod
    def open(cls, data_dir: Path, env: Mapping[str, str] | None = None) -> Storage:
        """The bot's database in ``data_dir``, keyed with the secret from the environment."""
        env = os.environ if env is None else env
        return cls(data_dir / DB_FILENAME, env.get(SECRET_ENV) or None)

    def close(self) -> None:
        with self._errors("closing"):
            self._db.close()

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's errors into a StorageError naming the file, the step and a remedy."""
        try:
            yield
        except sqlite3.Error as exc:
            # SQLite's own text ("database is locked", "attempt to write a readonly database",
            # "database or disk is full") never quotes the values bound to a query.
            raise StorageError(
                f"{doing} failed on the database {self.path}: {exc} ({_remedy(exc)})"
            ) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _stored_secret(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        if row:
            return str(row[0])
        value = secrets.token_hex(32)
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)", (value,))
        row = self._db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        return str(row[0])

    def user_ref(self, user_id: int) -> str:
        """A keyed hash of a Telegram id: rows are linkable to a person only with the key."""
        return hmac.new(self._secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]

    # --- sessions -------------------------------------------------------------------------

    @_guarded("loading a session")
    def load_session(self, user_id: int, chat_id: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT data FROM sessions WHERE user_ref = ? AND chat_ref = ?",
            (self.user_ref(user_id), self.user_ref(chat_id)),
        ).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
        except ValueError:
            return None  # an unreadable session starts afresh rather than breaking the chat
        return data if isinstance(data, dict) else None

    @_guarded("saving a session")
    def save_session(
        self, user_id: int, chat_id: int, session: dict[str, Any], now: datetime
    ) -> None:
        self._db.execute(
            "INSERT INTO sessions (user_ref, chat_ref, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_ref, chat_ref) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (self.user_ref(user_id), self.user_ref(chat_id), json.dumps(session), now.isoformat()),
        )

    # --- unanswered questions -------------------------------------------------------------

    @_guarded("logging an unanswered question")
    def log_unanswered(
        self,
        user_id: int,
        question: str,
        closest_topic: str | None,
        score: float | None,
        reason: str,
        now: datetime,
    ) -> None:
        self._db.execute(
            "INSERT INTO unanswered (user_ref, question, closest_topic, score, reason, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.user_ref(user_id),
                question[:MAX_QUESTION_CHARS],
                closest_topic,
                score,
                reason,
                now.isoformat(),
            ),
        )

    @_guarded("reading the unanswered questions")
    def unanswered(
        self, since: datetime | None = None, *, include_dismissed: bool = False
    ) -> list[UnansweredQuestion]:
        """Logged questions, oldest first; those an admin dismissed are left out by default."""
        rows = self._db.execute(
            "SELECT id, question, closest_topic, score, reason, created_at FROM unanswered u "
            "WHERE created_at >= ? AND (? OR NOT EXISTS "
            "(SELECT 1 FROM unanswered_dismissed d WHERE d.unanswered_id = u.id)) ORDER BY id",
            ((since or datetime.min).isoformat(), include_dismissed),
        ).fetchall()
        return [
            UnansweredQuestion(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]))
            for r in rows
        ]

    @_guarded("dismissing unanswered questions")
    def dismiss_unanswered(self, ids: Iterable[int]) -> int:
        """Hide these questions from :meth:`unanswered`; return how many were newly hidden."""
        with self._transaction() as db:
            # INSERT ... SELECT skips ids that no longer exist (purged or forgotten meanwhile).
            return sum(
                db.execute(
                    "INSERT OR IGNORE INTO unanswered_dismissed (unanswered_id) "
                    "SELECT id FROM unanswered WHERE id = ?",
                    (int(i),),
                ).rowcount
                for i in ids
            )

    @_guarded("deleting unanswered questions")
    def delete_unanswered(self, ids: Iterable[int]) -> int:
        """Delete these questions (e.g. now answered by a new phrasing); return how many."""
        with self._transaction() as db:
            return sum(
                db.execute("DELETE FROM unanswered WHERE id = ?", (int(i),)).rowcount for i in ids
            )

    @_guarded("deleting expired unanswered questions")
    def purge_expired(self, now: datetime, retention_days: int) -> int:
        """Delete unanswered questions older than the retention period; return how many."""
        cutoff = (now - timedelta(days=retention_days)).isoformat()
        cursor = self._db.execute("DELETE FROM unanswered WHERE created_at < ?", (cutoff,))
        return cursor.rowcount

    # --- usage figures ---------------------------------------------------------------------

    @_guarded("counting an event")
    def count(self, name: str, now: datetime, amount: int = 1) -> None:
        """Add ``amount`` to today's total for the event ``name`` (the day of ``now``).

        Only per-day totals are stored, with no user reference, so the figures stay after
        ``forget`` and cannot be traced back to anyone. Pass ``now`` in UTC, as for the rest.
        """
        if not name or amount < 1:
            raise ValueError(f"cannot count {amount} of event {name!r}")
        self._db.execute(
            "INSERT INTO events (day, name, count) VALUES (?, ?, ?) "
            "ON CONFLICT (day, name) DO UPDATE SET count = count + excluded.count",
            (now.date().isoformat(), name[:MAX_EVENT_NAME_CHARS], amount),
        )

    @_guarded("reading the usage figures")
    def counts(self, since: date, until: date | None = None) -> list[DailyCount]:
        """Daily totals from ``since`` to ``until`` (both included), by day, then name."""
        rows = self._db.execute(
            "SELECT day, name, count FROM events WHERE day >= ? AND day <= ? ORDER BY day, name",
            (since.isoformat(), (until or date.max).isoformat()),
        ).fetchall()
        return [DailyCount(date.fromisoformat(r[0]), r[1], r[2]) for r in rows]

    @_guarded("deleting old usage figures")
    def purge_counts(self, now: datetime, keep_days: int = EVENTS_KEPT_DAYS) -> int:
        """Delete daily totals older than ``keep_days``; return how many rows went."""
        cutoff = (now.date() - timedelta(days=keep_days)).isoformat()
        return self._db.execute("DELETE FROM events WHERE day < ?", (cutoff,)).rowcount

    # --- call-back requests ----------------------------------------------------------------

    def add_callback_request(
        self, user_id: int, chat_id: int, name: str, phone: str, summary: str, now: datetime
    ) -> int:
        """Store a pending request; return its id."""
        cursor = self._db.execute(
            "INSERT INTO callback_requests (user_ref, chat_id, name, phone, summary, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self.user_ref(user_id), chat_id, name, phone, summary, now.isoformat()),
        )
        return int(cursor.lastrowid or 0)

    def pending_callback_requests(self) -> list[CallbackRequest]:
        """Requests not yet delivered, oldest first."""
        rows = self._db.execute(
            "SELECT id, chat_id, name, phone, summary, status, attempts, created_at "
            "FROM callback_requests WHERE status = 'pending' ORDER BY id"
        ).fetchall()
        return [
            CallbackRequest(r[0], r[1], r[2], r[3], r[4], r[5], r[6], datetime.fromisoformat(r[7]))
            for r in rows
        ]

    def callback_attempted(self, request_id: int) -> None:
        """Count a failed delivery attempt."""
        self._db.execute(
            "UPDATE callback_requests SET attempts = attempts + 1 WHERE id = ?", (request_id,)
        )

    def callback_delivered(self, request_id: int, now: datetime) -> None:
        """Mark delivered: the clinic has it; the row stays until retention ends."""
        self._db.execute(
            "UPDATE callback_requests SET status = 'delivered', attempts = attempts + 1, "
            "delivered_at = ? WHERE id = ?",
            (now.isoformat(), request_id),
        )

    def purge_callback_requests(self, now: datetime, retention_days: int) -> int:
        """Delete requests older than the retention period, delivered or not; return how many."""
        cutoff = (now - timedelta(days=retention_days)).isoformat()
        return self._db.execute(
            "DELETE FROM callback_requests WHERE created_at < ?", (cutoff,)
        ).rowcount

    # --- the right to be forgotten --------------------------------------------------------

    @_guarded("forgetting a user")
    def forget(self, user_id: int) -> Forgotten:
        ref = self.user_ref(user_id)
        with self._transaction() as db:
            sessions = db.execute("DELETE FROM sessions WHERE user_ref = ?", (ref,)).rowcount
            unanswered = db.execute("DELETE FROM unanswered WHERE user_ref = ?", (ref,)).rowcount
            db.execute("DELETE FROM callback_requests WHERE user_ref = ?", (ref,))
        return Forgotten(sessions=sessions, unanswered=unanswered)


def _remedy(exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "another program holds a lock on it; close it or stop the second bot"
    if "readonly" in text or "read-only" in text:
        return "the bot may not write to it; check the file's and data_dir's permissions"
    if "full" in text:
        return "the disk is full; free some space"
    return "check the disk and the file; `backpain-bot stats` shows whether it opens"
