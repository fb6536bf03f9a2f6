"""SQLite storage: sessions, the unanswered log, forgetting, retention and damaged files."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import DB_FILENAME, Storage, StorageError

NOW = datetime(2026, 11, 27, 12, 0, 0)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage.open(tmp_path, env={})
    yield store
    store.close()


def test_session_round_trip_and_isolation(storage: Storage) -> None:
    storage.save_session(1, 1, {"schema": 2, "step": "bladder"}, NOW)
    storage.save_session(2, 2, {"schema": 2, "step": None}, NOW)
    storage.save_session(1, 1, {"schema": 2, "step": "fever"}, NOW)
    assert storage.load_session(1, 1) == {"schema": 2, "step": "fever"}
    assert storage.load_session(2, 2) == {"schema": 2, "step": None}
    assert storage.load_session(3, 3) is None


def test_sessions_survive_reopening(tmp_path: Path) -> None:
    first = Storage.open(tmp_path, env={})
    first.save_session(7, 7, {"step": "posture"}, NOW)
    first.close()
    second = Storage.open(tmp_path, env={})
    assert second.load_session(7, 7) == {"step": "posture"}
    second.close()


def test_user_ids_are_not_stored_in_clear(tmp_path: Path) -> None:
    store = Storage.open(tmp_path, env={})
    store.save_session(123456789, 123456789, {}, NOW)
    store.log_unanswered(123456789, "does yoga help", None, None, "unknown", NOW)
    store.close()
    raw = b"".join(path.read_bytes() for path in tmp_path.glob(f"{DB_FILENAME}*"))
    assert b"does yoga help" in raw, "the test must look at the real bytes"
    assert b"123456789" not in raw
    with sqlite3.connect(tmp_path / DB_FILENAME) as db:
        refs = {row[0] for row in db.execute("SELECT user_ref FROM unanswered")}
    assert len(refs) == 1
    assert "123456789" not in refs.pop()


def test_secret_from_environment_changes_the_reference(tmp_path: Path) -> None:
    a = Storage.open(tmp_path / "a", env={"BACKPAIN_BOT_SECRET": "one"})
    b = Storage.open(tmp_path / "b", env={"BACKPAIN_BOT_SECRET": "two"})
    assert a.user_ref(5) != b.user_ref(5)
    assert a.user_ref(5) == a.user_ref(5)
    a.close()
    b.close()


def test_forget_deletes_everything_about_the_user(storage: Storage) -> None:
    storage.save_session(1, 1, {"step": "x"}, NOW)
    storage.log_unanswered(1, "question one", None, None, "unknown", NOW)
    storage.log_unanswered(1, "question two", "posture", 40.0, "none-of-these", NOW)
    storage.log_unanswered(2, "someone else's", None, None, "unknown", NOW)
    forgotten = storage.forget(1)
    assert (forgotten.sessions, forgotten.unanswered) == (1, 2)
    assert storage.load_session(1, 1) is None
    assert [q.question for q in storage.unanswered()] == ["someone else's"]


def test_retention_deletes_old_unanswered_questions(storage: Storage) -> None:
    storage.log_unanswered(1, "old", None, None, "unknown", NOW - timedelta(days=91))
    storage.log_unanswered(1, "recent", None, None, "unknown", NOW - timedelta(days=89))
    assert storage.purge_expired(NOW, retention_days=90) == 1
    assert [q.question for q in storage.unanswered()] == ["recent"]


def test_long_questions_are_truncated(storage: Storage) -> None:
    storage.log_unanswered(1, "x" * 50_000, None, None, "unknown", NOW)
    assert len(storage.unanswered()[0].question) == 1000


def test_sql_in_user_text_is_just_text(storage: Storage) -> None:
    evil = "'); DROP TABLE sessions; --"
    storage.log_unanswered(1, evil, None, None, "unknown", NOW)
    storage.save_session(1, 1, {"last": evil}, NOW)
    assert storage.unanswered()[0].question == evil
    assert storage.load_session(1, 1) == {"last": evil}


def test_corrupt_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StorageError) as caught:
        Storage.open(tmp_path, env={})
    message = str(caught.value)
    assert str(path) in message
    assert "Move it aside" in message
    assert path.read_bytes() == garbage


def test_unusable_data_dir_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StorageError, match="cannot open the database"):
        Storage.open(blocker, env={})


def test_kill_during_writes_leaves_a_database_that_opens(tmp_path: Path) -> None:
    writer = textwrap.dedent(
        f"""
        import sys
        from datetime import datetime
        from pathlib import Path
        from bot.storage import Storage
        store = Storage.open(Path({str(tmp_path)!r}), env={{}})
        print("ready", flush=True)
        i = 0
        while True:
            i += 1
            store.save_session(i % 50, i % 50, {{"n": i, "pad": "x" * 2000}}, datetime.now())
            store.log_unanswered(i, "q" * 500, None, None, "unknown", datetime.now())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    # Let it write for a moment, then kill it without any chance to clean up.
    try:
        proc.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    store = Storage.open(tmp_path, env={})
    assert store.unanswered(), "some writes should have committed before the kill"
    store.save_session(1, 1, {"after": "kill"}, NOW)
    assert store.load_session(1, 1) == {"after": "kill"}
    store.close()
