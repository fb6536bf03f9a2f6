"""Property tests: the engine survives any sequence of commands, texts and button presses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import COMMANDS, MAX_ACTION_BYTES, Command, Engine, NonText, Press, Text, migrate
from bot.knowledge import KnowledgeBase, load_knowledge

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
START = datetime(2026, 11, 27, 9, 0)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE)


texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "yes",
            "no",
            "not sure",
            "1",
            "2",
            "9",
            "",
            "   ",
            "back",
            "cancel",
            "hi",
            "thanks",
            "does physio help sciatica",
            "I can't pee and my back hurts",
            "what is the capital of France",
            "🙂🙂🙂",
            "<b>&amp;</b>",
            "/screen@OtherBot",
            "y",
            "nope",
            "\x00\u202e",
        ]
    ),
    st.builds(
        lambda s, n: s * n, st.sampled_from(["back pain ", "ж", "🙂"]), st.integers(1, 3000)
    ),
)
# What a user can do next. Button presses pick from what the bot offered ("valid"), from any
# earlier message ("stale"), or are made up ("forged").
steps = st.lists(
    st.one_of(
        st.tuples(st.just("text"), texts),
        st.tuples(st.just("command"), st.sampled_from([*COMMANDS, "unknown", "reload"])),
        st.tuples(st.just("valid"), st.integers(0, 20)),
        st.tuples(st.just("stale"), st.integers(0, 200)),
        st.tuples(st.just("forged"), st.text(max_size=70)),
        st.tuples(st.just("nontext"), st.sampled_from(["sticker", "photo", "voice"])),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps)
def test_engine_never_fails_whatever_the_user_does(
    kb: KnowledgeBase, script: list[tuple[str, Any]]
) -> None:
    engine = Engine(kb)
    session: dict[str, Any] | None = None
    seen_actions: list[str] = []
    offered: list[str] = []
    now = START
    for kind, value in script:
        if kind == "text":
            event: Any = Text(value)
        elif kind == "command":
            event = Command(value)
        elif kind == "valid":
            event = Press(offered[value % len(offered)]) if offered else Text("hello")
        elif kind == "stale":
            event = Press(seen_actions[value % len(seen_actions)]) if seen_actions else Press("x")
        elif kind == "forged":
            event = Press(value)
        else:
            event = NonText(value)
        now += timedelta(seconds=7)
        session, replies, _effects = engine.handle(session, event, now)
        assert replies, f"no reply to {event!r}"
        assert all(reply.text.strip() for reply in replies), f"an empty message for {event!r}"
        assert all(len(reply.text) <= 4096 for reply in replies)
        offered = [option.action for reply in replies for option in reply.options]
        assert all(len(action.encode()) <= MAX_ACTION_BYTES for action in offered)
        seen_actions.extend(offered)
        # What the adapter stores must come back as the same session.
        stored = json.loads(json.dumps(session))
        assert migrate(stored, kb) == session


@settings(max_examples=80, deadline=None)
@given(
    garbage=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
        ),
        max_leaves=20,
    )
)
def test_a_damaged_stored_session_never_breaks_the_chat(kb: KnowledgeBase, garbage: Any) -> None:
    engine = Engine(kb)
    for base in (
        garbage,
        {"schema": 2, "screening": garbage, "offered": garbage},
        {"schema": 1, "state": "screening", "step_index": garbage, "answers": garbage},
    ):
        session, replies, _ = engine.handle(base, Text("yes"), START)
        assert replies
        assert json.loads(json.dumps(session)) == session
