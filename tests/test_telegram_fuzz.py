"""Malformed updates from the Bot API server never stop the bot: after a barrage, it still answers.

The updates go through the real polling path (getUpdates, PTB's parsing, the handlers), where a
single update PTB cannot parse would otherwise be fetched again and again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings, TelegramSettings
from bot.knowledge import KnowledgeBase
from bot.storage import Storage
from tests.botapi import FakeBotApi
from tests.telegram_rig import TOKEN

USER = 9001
DATE = 1_700_000_000
PRIVATE = {"id": USER, "type": "private", "first_name": "Fuzz"}
FROM = {"id": USER, "is_bot": False, "first_name": "Fuzz"}
# Lone surrogates are left out: the server encodes UTF-8 like Telegram, which cannot carry them.
# fmt: off
NASTY: list[dict[str, Any]] = [
    {},  # no update type at all
    {"unknown_update_type": {"x": 1}},
    {"message": {"message_id": 1, "date": DATE, "chat": PRIVATE}},  # no text, no from
    {"message": {"message_id": 2, "date": DATE, "chat": PRIVATE, "text": "no from_user"}},
    {"message": {"message_id": 3, "date": DATE, "chat": PRIVATE, "from": FROM, "text": ""}},
    {
        "message": {
            "message_id": 5,
            "date": DATE,
            "chat": PRIVATE,
            "from": FROM,
            "text": "x" * 100_000,
        }
    },
    {
        "channel_post": {
            "message_id": 6,
            "date": DATE,
            "text": "/start",
            "chat": {"id": -1001, "type": "channel", "title": "c"},
        }
    },
    {"callback_query": {"id": "1", "from": FROM, "chat_instance": "c", "data": "x" * 10_000}},
    {
        "callback_query": {
            "id": "2",
            "from": FROM,
            "chat_instance": "c",
            "data": "s:a:y",
            "message": {"message_id": 99, "date": DATE, "chat": PRIVATE},
        }
    },
    {"callback_query": {"id": "3", "from": FROM, "chat_instance": "c"}},  # no data, no message
    {"edited_message": {"message_id": 7, "date": DATE, "chat": PRIVATE, "from": FROM}},
    {
        "message": {
            "message_id": 8,
            "date": DATE,
            "chat": {"id": USER, "type": "weird"},
            "from": FROM,
            "text": "/start@",
        }
    },
    # Fields PTB cannot parse at all: before PollingBot, one of these failed every getUpdates
    # and the bot never got past it (found by hypothesis below).
    {"message": "not an object"},
    {"callback_query": ["a", "list"]},
    {"message": {"message_id": "nine", "date": DATE, "chat": "x", "text": "bad types"}},
    {"edited_message": 42},
    {"message": {"message_id": 9, "date": DATE, "chat": PRIVATE, "from": FROM, "entities": 1}},
]
# fmt: on

# Any character JSON in UTF-8 can carry (not lone surrogates, as above).
CHARS = st.characters(exclude_categories=["Cs"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(CHARS, max_size=50),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(CHARS, max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
message_like = st.fixed_dictionaries(
    {},
    optional={
        "message_id": st.integers(),
        "date": st.integers(),
        "chat": st.fixed_dictionaries({"id": st.integers(), "type": st.text(CHARS, max_size=10)}),
        "from": st.fixed_dictionaries({"id": st.integers(), "is_bot": st.booleans()}),
        "text": st.text(CHARS, max_size=300),
        "data": st.text(CHARS, max_size=100),
        "extra": json_values,
    },
)
updates = st.dictionaries(
    st.sampled_from(["message", "edited_message", "callback_query", "channel_post", "poll", "x"]),
    message_like | json_values,
    max_size=2,
)


@pytest.fixture
async def api(kb: KnowledgeBase, tmp_path: Path) -> AsyncIterator[FakeBotApi]:
    from bot.adapters.telegram import TelegramBot

    with FakeBotApi(TOKEN, bot_username="clinic_pt_bot") as server:
        settings = Settings(
            telegram=TelegramSettings(api_base_url=server.base_url), data_dir=tmp_path
        )
        storage = Storage.open(tmp_path, env={})
        app = TelegramBot(settings, TOKEN, kb, storage).build(rate_limit=False)
        async with app:
            assert app.updater is not None
            await app.updater.start_polling(timeout=2)
            await app.start()
            try:
                yield server
            finally:
                await app.updater.stop()
                await app.stop()
        storage.close()


async def still_answers(api: FakeBotApi, user: int) -> None:
    api.user_text(user, "/help")
    [reply] = await api.async_wait_for_messages(user, 1, timeout=10)
    assert "/topics" in reply.plain_text


async def all_confirmed(api: FakeBotApi, timeout: float = 5.0) -> None:
    """Every update was confirmed (none fetched forever); the bot confirms the last ones with
    its next getUpdates, just after its reply, so this waits a moment for that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while api.pending_updates():
        assert loop.time() < deadline, f"never confirmed: {api.pending_updates()}"
        await asyncio.sleep(0.02)


async def test_nasty_updates_do_not_stop_the_bot(api: FakeBotApi) -> None:
    for update in NASTY:
        api.raw_update(update)
    await still_answers(api, USER + 1)
    await all_confirmed(api)


async def test_unreadable_updates_are_skipped_and_confirmed(
    api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "private words about my back"
    bad = api.raw_update({"message": {"message_id": 1, "chat": secret, "text": secret}})
    # Alone in its getUpdates answer, the bad update is the last one: it must still be confirmed.
    await still_answers(api, USER + 2)
    await all_confirmed(api)
    skipped = [r.getMessage() for r in caplog.records if "skipped update" in r.getMessage()]
    assert any(m.startswith(f"skipped update {bad.update_id}:") for m in skipped), skipped
    assert secret not in caplog.text


# The bot keeps running across examples: what one batch breaks, the next one would show.
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(updates, max_size=6))
async def test_generated_updates_do_not_stop_the_bot(
    api: FakeBotApi, batch: list[dict[str, Any]]
) -> None:
    for update in batch:
        api.raw_update(update)
    await still_answers(api, USER + 3)
    await all_confirmed(api)
