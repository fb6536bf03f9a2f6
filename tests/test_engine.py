"""The conversation engine: scenarios through every driver, safety, effects, sessions, purity."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import (
    MAX_ACTION_BYTES,
    SCHEMA,
    Command,
    Count,
    Engine,
    Event,
    ForgetUser,
    LogUnanswered,
    NonText,
    Press,
    Text,
    migrate,
    parse_input,
    topic_action,
)
from bot.knowledge import KnowledgeBase
from tests.harness import CoreDriver, Driver, Scenario, load_scenarios, play

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RED_FLAG = "since this morning I can't control my bladder"
SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.file}:{s.name}" for s in SCENARIOS])
def test_scenario(chat: Driver, scenario: Scenario) -> None:
    play(chat, scenario)


def test_scenarios_cover_every_kind_of_step() -> None:
    kinds = {key for s in SCENARIOS for step in s.steps for key in step}
    assert {"user", "press", "press_earlier", "press_action", "bot_contains"} <= kinds
    assert len(SCENARIOS) >= 30


# --- safety ----------------------------------------------------------------------------------


def _answer_no_until(chat: Driver, kb: KnowledgeBase, step_id: str) -> None:
    shown = chat.say("/screen")
    for step in kb.screening.steps:
        if step.id == step_id:
            break
        shown = chat.press("No")
    assert kb.screening.steps[[s.id for s in kb.screening.steps].index(step_id)].question[:30] in (
        " ".join(shown.text.split())
    )


@pytest.mark.parametrize("step_index", range(13))
def test_red_flag_typed_at_every_screening_step(
    chat: Driver, kb: KnowledgeBase, step_index: int
) -> None:
    assert len(kb.screening.steps) == 13, "update the range above to the number of steps"
    step = kb.screening.steps[step_index]
    _answer_no_until(chat, kb, step.id)
    shown = chat.say(RED_FLAG)
    assert shown.urgent in (True, None)
    assert "Call 911" in " ".join(shown.text.split())
    assert shown.options == []
    assert step.question[:30] not in shown.text
    # The screening is over: a yes/no now is not taken as an answer to any step.
    after = chat.say("no")
    assert "Yes" not in after.options
    # And the advice comes back first when the screening is started again.
    again = chat.say("/screen")
    assert "earlier you mentioned a symptom" in " ".join(again.text.split())


@pytest.mark.parametrize("answer", ["Yes", "Not sure"])
def test_each_red_flag_step_ends_urgently(kb: KnowledgeBase, answer: str) -> None:
    red_flag_steps = [s for s in kb.screening.steps if s.group == "red-flags"]
    assert len(red_flag_steps) == 8
    for step in red_flag_steps:
        chat = CoreDriver(kb)
        _answer_no_until(chat, kb, step.id)
        shown = chat.press(answer)
        assert shown.urgent, step.id
        assert shown.options == []
        assert f"{step.summary}: {answer}" in shown.text
        assert chat.session["screening"] is None
        assert chat.session["red_flag"] is not None


def test_safety_runs_before_everything_even_option_labels(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    session = engine.handle(None, Command("topics"), NOW).session
    turn = engine.handle(session, Text("Sciatica and I wet myself"), NOW)
    assert [r.urgent for r in turn.replies] == [True]
    assert turn.session["red_flag"]["category"] == "cauda-equina"
    assert turn.session["red_flag"]["at"] == NOW.isoformat()
    assert Count("red-flag:cauda-equina") in turn.effects


# --- effects ---------------------------------------------------------------------------------


def test_none_of_these_logs_the_question_with_the_suggestions(kb: KnowledgeBase) -> None:
    chat = CoreDriver(kb)
    shown = chat.say("back pain")
    offered = shown.options[:-1]
    chat.press("None of these")
    logged = [e for e in chat.effects if isinstance(e, LogUnanswered)]
    assert len(logged) == 1
    assert logged[0].question == "back pain"
    assert logged[0].reason == "none-of-these"
    assert [kb.topic(t).title for t in logged[0].suggestions] == offered
    assert chat.session["pending_question"] is None
    # Pressing it again (an old button) logs nothing more.
    chat.press_earlier("None of these", 1)
    assert len([e for e in chat.effects if isinstance(e, LogUnanswered)]) == 1


def test_unknown_question_is_logged_but_small_talk_and_declines_are_not(
    kb: KnowledgeBase,
) -> None:
    chat = CoreDriver(kb)
    chat.say("what is the capital of france")
    chat.say("thanks")
    chat.say("what's wrong with me?")
    logged = [e for e in chat.effects if isinstance(e, LogUnanswered)]
    assert [(e.question, e.reason) for e in logged] == [
        ("what is the capital of france", "unknown")
    ]


def test_forget_resets_the_session_and_asks_the_adapter_to_delete(kb: KnowledgeBase) -> None:
    chat = CoreDriver(kb)
    chat.say("/screen")
    chat.press("No")
    chat.say("/forget")
    assert ForgetUser() in chat.effects
    assert chat.session["screening"] is None
    assert chat.history[-1].text == "Done. I deleted your answers to the check."


def test_answers_and_outcomes_are_counted(kb: KnowledgeBase) -> None:
    chat = CoreDriver(kb)
    chat.say("does physio help sciatica?")
    chat.say("/screen")
    chat.press("Not sure")
    assert Count("answer:sciatica") in chat.effects
    assert Count("screening:urgent-unsure") in chat.effects


# --- sessions --------------------------------------------------------------------------------


def test_v1_session_migrates_index_to_step_id(kb: KnowledgeBase) -> None:
    v1 = {
        "schema": 1,
        "state": "screening",
        "step_index": 3,
        "answers": ["no", "no", "not-sure"],
        "urgent": False,
        "last_question": "is physio any good",
    }
    session = migrate(v1, kb)
    ids = [s.id for s in kb.screening.steps]
    assert session["schema"] == SCHEMA == 3
    assert session["screening"] == {
        "step": ids[3],
        "answers": [[ids[0], "no"], [ids[1], "no"], [ids[2], "not-sure"]],
    }
    assert session["pending_question"] == "is physio any good"
    assert json.loads(json.dumps(session)) == session


@pytest.mark.parametrize(
    "broken",
    [
        {"schema": 1, "state": "screening", "step_index": 999, "answers": []},
        {"schema": 1, "state": "screening", "step_index": 1, "answers": ["maybe"]},
        {"schema": 1, "state": "screening", "step_index": 0, "answers": ["no", "no"]},
        {"schema": 1},
    ],
)
def test_unusable_v1_screening_is_dropped_not_misapplied(
    kb: KnowledgeBase, broken: dict[str, object]
) -> None:
    assert migrate(broken, kb)["screening"] is None


def test_a_step_removed_by_a_reload_restarts_the_screening(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    session = engine.new_session()
    session["screening"] = {"step": "no-longer-there", "answers": [["gone-too", "yes"]]}
    turn = engine.handle(session, Text("no"), NOW)
    assert "updated since you started" in turn.replies[0].text
    assert turn.session["screening"] == {"step": kb.screening.steps[0].id, "answers": []}


def test_handle_does_not_mutate_the_session_it_is_given(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    session = engine.handle(None, Command("screen"), NOW).session
    frozen = json.dumps(session, sort_keys=True)
    engine.handle(session, Text("yes"), NOW)
    assert json.dumps(session, sort_keys=True) == frozen


# --- actions, commands, events ---------------------------------------------------------------


def test_every_action_fits_telegram_callback_data(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    session = None
    actions: set[str] = set()
    events: list[Event] = [
        Command("start"),
        Command("topics"),
        Text("back pain"),
        Command("screen"),
    ]
    for event in events:
        turn = engine.handle(session, event, NOW)
        session = turn.session
        actions |= {o.action for r in turn.replies for o in r.options}
    assert len(actions) > 20
    assert all(0 < len(a.encode()) <= MAX_ACTION_BYTES for a in actions), sorted(actions)
    long_id = "a" * 40
    assert len(topic_action(long_id).encode()) <= MAX_ACTION_BYTES


@pytest.mark.parametrize(
    ("typed", "event"),
    [
        ("/start", Command("start")),
        ("/screen@ClinicBot", Command("screen")),
        ("/START screen", Command("start", "screen")),
        ("/", Text("/")),
        ("/ hello", Text("/ hello")),
        ("does /help work?", Text("does /help work?")),
    ],
)
def test_parse_input(typed: str, event: Event) -> None:
    assert parse_input(typed) == event


def test_deep_link_start_opens_the_screening(kb: KnowledgeBase) -> None:
    turn = Engine(kb).handle(None, Command("start", "screen"), NOW)
    assert turn.session["screening"]["step"] == kb.screening.steps[0].id


def test_stickers_and_photos_get_text_only(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    turn = engine.handle(None, NonText("sticker"), NOW)
    assert "only read text" in turn.replies[0].text
    screening = engine.handle(None, Command("screen"), NOW).session
    turn = engine.handle(screening, NonText("photo"), NOW)
    assert "bladder or bowels" in turn.replies[-1].text


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=60).map(Text),
            st.sampled_from(["yes", "no", "not sure", "1", "3", "back", "/screen", "hi"]).map(
                parse_input
            ),
            st.text(max_size=45).map(Press),
            st.sampled_from(["menu", "none", "topics", "s:fever:y", "t:sciatica"]).map(Press),
            st.sampled_from(["start", "cancel", "forget", "xyz"]).map(Command),
        ),
        max_size=12,
    )
)
def test_no_sequence_of_events_crashes_or_breaks_the_session(
    shipped_kb: KnowledgeBase, events: list[Event]
) -> None:
    engine = Engine(shipped_kb)
    session: dict[str, object] | None = None
    for event in events:
        turn = engine.handle(session, event, NOW)
        session = json.loads(json.dumps(turn.session))
        assert turn.replies, event
        assert all(r.text.strip() for r in turn.replies)
        for reply in turn.replies:
            if reply.urgent:
                assert not reply.options


@pytest.fixture(scope="module")
def shipped_kb(kb: KnowledgeBase) -> KnowledgeBase:
    return kb


def test_engine_import_does_not_import_telegram() -> None:
    code = (
        "import sys, bot.engine, bot.adapters.console; "
        "bad = sorted(m for m in sys.modules if m == 'telegram' or m.startswith('telegram.')); "
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_engine_module_has_no_io_or_clock() -> None:
    source = (ROOT / "bot" / "engine.py").read_text(encoding="utf-8")
    for banned in ("import telegram", "print(", "open(", "datetime.now", "time.sleep", "async "):
        assert banned not in source, banned


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
SESSION_KEYS = ["screening", "red_flag", "pending_question", "suggested", "offered", "updated"]


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"schema": st.sampled_from([1, 2, 3, "2", None])},
            optional=dict.fromkeys([*SESSION_KEYS, "state", "step_index", "answers"], JSON),
        ),
    ),
    st.sampled_from(["yes", "1", "back", "/screen", "/forget", "none", "sciatica"]),
)
def test_a_damaged_stored_session_never_crashes_a_turn(
    shipped_kb: KnowledgeBase, stored: object, typed: str
) -> None:
    engine = Engine(shipped_kb)
    turn = engine.handle(stored, parse_input(typed), NOW)  # type: ignore[arg-type]
    assert turn.replies
    assert turn.session["schema"] == SCHEMA
    assert json.loads(json.dumps(turn.session)) == turn.session


@pytest.mark.parametrize(
    "question", ["how much ibuprofen should I take?", "how many mg of naproxen can I take a day"]
)
def test_a_dose_question_is_declined_once(kb: KnowledgeBase, question: str) -> None:
    chat = CoreDriver(kb)
    shown = chat.say(question)
    assert " ".join(shown.text.split()).count("advise on medicines or doses") == 1
