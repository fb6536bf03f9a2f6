"""Faults the bot must survive: database locked, read-only or full, a corrupt file at start-up,
knowledge files edited (even half-written) while it serves."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.config import Settings, TelegramSettings
from bot.knowledge import KnowledgeBase
from bot.storage import DB_FILENAME, Storage, StorageError
from tests.botapi import FakeBotApi
from tests.telegram_rig import TOKEN, BotRig

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 27, 12, 0, 0)
USER = 5150
ADMIN = 4242
PRIVATE_TEXT = "my neighbour Ingrid says my disc is slipping"


# --- Storage itself: one error type with the file and a remedy ------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage(tmp_path / DB_FILENAME, busy_timeout=0.05)
    yield store
    store.close()


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another program holding the write lock, as a second bot or a DB browser would."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def fill_up(store: Storage) -> None:
    """Cap the file at its current size, then write until SQLite says the disk is full.

    ``max_page_count`` makes SQLite answer SQLITE_FULL, the very error a full disk gives, without
    needing a tiny filesystem (mounting one takes privileges a test must not assume).
    """
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {int(pages)}")
    n = 0
    for pad in (400, 40, 0):  # big rows, then ever smaller ones into the last gaps
        while n < 20_000:
            n += 1
            try:
                store.save_session(10_000_000 + n, 1, {"pad": "x" * pad}, NOW)
            except StorageError:
                break
    assert n < 20_000, "never filled up"


def test_locked_database_raises_storage_error_naming_file_and_remedy(
    storage: Storage, tmp_path: Path
) -> None:
    other = hold_write_lock(tmp_path / DB_FILENAME)
    try:
        assert storage.load_session(1, 1) is None  # WAL: readers are not blocked
        with pytest.raises(StorageError, match="locked") as caught:
            storage.save_session(1, 1, {"step": "fever"}, NOW)
        message = str(caught.value)
        assert str(tmp_path / DB_FILENAME) in message
        assert "saving a session" in message
        assert "another program" in message
        assert "fever" not in message  # the values written never appear
    finally:
        other.execute("ROLLBACK")
        other.close()
    storage.save_session(1, 1, {"step": "fever"}, NOW)
    assert storage.load_session(1, 1) == {"step": "fever"}


def test_read_only_and_full_database_raise_storage_error(storage: Storage) -> None:
    # query_only is SQLite refusing writes on this connection: what a read-only file gives,
    # which chmod cannot produce here because the tests may run as root.
    storage._db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError, match=r"readonly.*permissions"):
        storage.log_unanswered(1, "does yoga help", None, None, "unknown", NOW)
    with pytest.raises(StorageError, match="forgetting a user"):
        storage.forget(1)
    storage._db.execute("PRAGMA query_only = OFF")
    fill_up(storage)
    with pytest.raises(StorageError, match=r"full.*free some space"):
        storage.save_session(1, 1, {"pad": "y" * 5000}, NOW)


# --- the bot keeps answering -----------------------------------------------------------------


@pytest.fixture
def rig(kb: KnowledgeBase, tmp_path: Path) -> Iterator[BotRig]:
    bot_rig = BotRig(kb, tmp_path)
    bot_rig.run(bot_rig.storage._db.execute, "PRAGMA busy_timeout = 50")
    yield bot_rig
    bot_rig.close()


def say(rig: BotRig, text: str, user: int = USER) -> list[str]:
    mark = rig.api.mark()
    rig.process(rig.api.user_text(user, text))
    return [m.plain_text for m in rig.api.messages_since(mark, user)]


@pytest.mark.parametrize("fault", ["locked", "read-only", "full"])
def test_storage_fault_answers_tells_once_and_logs_without_text(
    rig: BotRig, kb: KnowledgeBase, tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    save_failed = kb.messages.messages.save_failed
    say(rig, "/screen")
    other = None
    if fault == "locked":
        other = hold_write_lock(tmp_path / DB_FILENAME)
    elif fault == "read-only":
        rig.run(rig.storage._db.execute, "PRAGMA query_only = ON")
    else:
        rig.run(fill_up, rig.storage)
    try:
        # A newcomer: their first session needs new room in the file, even when it is full.
        first = say(rig, PRIVATE_TEXT, user=USER + 1)
        assert first[-1] == save_failed
        assert len(first) >= 2, "the question is still answered"
        assert save_failed in say(rig, "/help"), "someone in the middle of the check too"
        second = say(rig, "does physio help sciatica?", user=USER + 1)
        assert save_failed not in second, "told once, not at every message"
        assert "sciatica" in " ".join(second).lower()
    finally:
        if other is not None:
            other.execute("ROLLBACK")
            other.close()
        rig.run(rig.storage._db.execute, "PRAGMA query_only = OFF")
        rig.run(rig.storage._db.execute, "PRAGMA max_page_count = 1073741823")
    assert "a session could not be saved" in caplog.text
    assert str(tmp_path / DB_FILENAME) in caplog.text
    assert PRIVATE_TEXT not in caplog.text
    assert "Ingrid" not in caplog.text
    # Saving works again: no notice, and a later fault would be told again.
    assert save_failed not in say(rig, "/help")


def test_forget_that_cannot_delete_says_so_never_done(rig: BotRig, kb: KnowledgeBase) -> None:
    say(rig, "/screen")
    rig.run(rig.storage._db.execute, "PRAGMA query_only = ON")
    try:
        [reply] = say(rig, "/forget")
    finally:
        rig.run(rig.storage._db.execute, "PRAGMA query_only = OFF")
    assert "went wrong" in reply
    assert not reply.startswith("Done")
    assert rig.run(rig.storage.load_session, USER, USER) is not None


def test_corrupt_database_at_startup_one_line_file_kept(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    data = tmp_path / "data"
    data.mkdir()
    damaged = data / DB_FILENAME
    garbage = b"SQLite format 3\x00" + os.urandom(4000)
    damaged.write_bytes(garbage)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={
            **env,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1
    assert len(output.splitlines()) == 1, output
    assert str(Path("data") / DB_FILENAME) in output
    assert "Move it aside" in output
    assert "Traceback" not in output
    assert damaged.read_bytes() == garbage, "the damaged file must be left exactly as it was"


# --- knowledge edited while serving ------------------------------------------------------------


@pytest.fixture
async def polling(kb: KnowledgeBase, tmp_path: Path) -> AsyncIterator[tuple[FakeBotApi, Path]]:
    """The bot polling FakeBotApi with its knowledge watcher on, over a copy of the knowledge."""
    from bot.adapters.telegram import TelegramBot

    knowledge = tmp_path / "knowledge"
    shutil.copytree(kb.directory, knowledge)
    with FakeBotApi(TOKEN, bot_username="clinic_pt_bot") as api:
        settings = Settings(
            telegram=TelegramSettings(api_base_url=api.base_url, admin_ids=[ADMIN]),
            data_dir=tmp_path / "data",
            knowledge_dir=knowledge,
        )
        storage = Storage.open(settings.data_dir, env={})
        bot = TelegramBot(settings, TOKEN, kb, storage)
        app = bot.build(rate_limit=False)
        async with app:
            assert app.post_init is not None
            await app.post_init(app)
            assert app.updater is not None
            await app.updater.start_polling(timeout=5)
            await app.start()
            try:
                yield api, knowledge
            finally:
                await app.updater.stop()
                await app.stop()
                assert app.post_shutdown is not None
                await app.post_shutdown(app)
        storage.close()


async def test_half_written_knowledge_file_never_breaks_the_bot(
    polling: tuple[FakeBotApi, Path], kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    api, knowledge = polling
    caplog.set_level(logging.INFO)
    faq = knowledge / "faq.yaml"
    text = faq.read_text(encoding="utf-8")
    new = text.replace("title: Sciatica\n", "title: Sciatica and leg pain\n", 1)
    assert new != text
    question = "Does physical therapy help sciatica?"

    async def ask(user: int) -> str:
        api.user_text(user, question)
        return "\n".join(m.plain_text for m in await api.async_wait_for_messages(user, 1))

    api.user_text(ADMIN, "/help")  # Telegram lets a bot write only to people who wrote first
    await api.async_wait_for_messages(ADMIN, 1)
    mark = api.mark()
    faq.write_text(new[: len(new) // 2], encoding="utf-8")  # the editor's first write
    # The watcher reads it once it has settled, refuses it and tells the admin, once.
    [report] = await api.async_wait_for_messages(ADMIN, 1, timeout=8, since=mark)
    assert "kept the previous knowledge" in report.plain_text
    assert "faq.yaml:" in report.plain_text
    assert kb.topic("sciatica").answer[:40] in await ask(USER)
    await asyncio.sleep(2.5)
    assert len(api.messages_since(mark, ADMIN)) == 1, "a broken file is reported once"
    mark = api.mark()
    faq.write_text(new, encoding="utf-8")  # the rest
    [report] = await api.async_wait_for_messages(ADMIN, 1, timeout=8, since=mark)
    assert "reloaded" in report.plain_text
    answer = await ask(USER + 1)
    assert "Sciatica and leg pain" in answer or kb.topic("sciatica").answer[:40] in answer
    api.user_text(USER + 2, "/topics")
    [menu] = await api.async_wait_for_messages(USER + 2, 1)
    assert "Sciatica and leg pain" in [b["text"] for b in menu.buttons]
    # Logged with file and line, and nothing the users wrote.
    assert "faq.yaml:" in caplog.text
    assert question not in caplog.text
