"""Usage figures: per-day totals in storage, 7 and 30 day windows, the text, the CLI."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot import cli
from bot.engine import Command, Count, Engine, Event, Text
from bot.knowledge import KnowledgeBase
from bot.stats import Labels, build_report, figures, load_report, render_text
from bot.storage import DB_FILENAME, DailyCount, Storage

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage.open(tmp_path, env={})
    yield store
    store.close()


def ago(days: int, hours: int = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def seed(store: Storage, days_ago: int, name: str, times: int = 1) -> None:
    for _ in range(times):
        store.count(name, ago(days_ago))


# --- storage ---------------------------------------------------------------------------------


def test_count_keeps_one_total_per_day_and_name(storage: Storage) -> None:
    storage.count("answer:sciatica", NOW)
    storage.count("answer:sciatica", NOW - timedelta(hours=3))
    storage.count("answer:sciatica", NOW, amount=2)
    storage.count("unknown", NOW)
    storage.count("unknown", ago(1))
    assert storage.counts(TODAY) == [
        DailyCount(TODAY, "answer:sciatica", 4),
        DailyCount(TODAY, "unknown", 1),
    ]
    assert storage.counts(TODAY - timedelta(days=1), TODAY - timedelta(days=1)) == [
        DailyCount(TODAY - timedelta(days=1), "unknown", 1)
    ]


def test_count_refuses_nonsense(storage: Storage) -> None:
    with pytest.raises(ValueError, match="cannot count"):
        storage.count("", NOW)
    with pytest.raises(ValueError, match="cannot count"):
        storage.count("unknown", NOW, amount=0)


def test_purge_counts_keeps_400_days(storage: Storage) -> None:
    storage.count("conversation", ago(400))
    storage.count("conversation", ago(401))
    assert storage.purge_counts(NOW) == 1
    assert [c.day for c in storage.counts(date.min)] == [TODAY - timedelta(days=400)]


def test_counts_hold_no_user_ids_or_text(tmp_path: Path) -> None:
    store = Storage.open(tmp_path, env={})
    store.count("answer:sciatica", NOW)
    store.count("conversation", NOW)
    store.close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
    assert columns == ["day", "name", "count"]


def test_counts_survive_forget(storage: Storage) -> None:
    storage.save_session(42, 42, {}, NOW)
    storage.count("conversation", NOW)
    storage.forget(42)
    assert storage.counts(TODAY) == [DailyCount(TODAY, "conversation", 1)]


def test_schema_is_idempotent(tmp_path: Path) -> None:
    Storage.open(tmp_path, env={}).close()
    store = Storage.open(tmp_path, env={})
    store.count("suggest", NOW)
    store.close()
    again = Storage.open(tmp_path, env={})
    assert again.counts(TODAY) == [DailyCount(TODAY, "suggest", 1)]
    again.close()


# --- the engine counts conversations ---------------------------------------------------------


def conversation_counts(effects: tuple[object, ...]) -> int:
    return sum(1 for e in effects if e == Count("conversation"))


def test_engine_counts_a_conversation_when_new_or_idle_30_minutes(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    start = NOW
    session, _, effects = engine.handle(None, Command("start"), start)
    assert conversation_counts(effects) == 1
    session, _, effects = engine.handle(session, Text("hello"), start + timedelta(minutes=29))
    assert conversation_counts(effects) == 0
    # Idle is measured from the last event, not from the start of the conversation.
    session, _, effects = engine.handle(
        session, Text("does stretching help"), start + timedelta(minutes=58)
    )
    assert conversation_counts(effects) == 0
    session, _, effects = engine.handle(
        session, Text("thanks"), start + timedelta(minutes=88, seconds=1)
    )
    assert conversation_counts(effects) == 1


@pytest.mark.parametrize("updated", [None, "yesterday", 12345, "2026-11-27T15:00:00"])
def test_engine_counts_unreadable_or_naive_times_as_new(
    kb: KnowledgeBase, updated: object
) -> None:
    session = Engine(kb).new_session()
    session["updated"] = updated  # the last one is naive; NOW is aware
    _, _, effects = Engine(kb).handle(session, Text("hello"), NOW)
    assert conversation_counts(effects) == 1


# --- figures ---------------------------------------------------------------------------------


@pytest.fixture
def seeded(storage: Storage) -> Storage:
    """Today, 6 days ago (in both windows), 7 and 29 days ago (30 only), 30 days ago (neither)."""
    for days_ago in (0, 6, 7, 29, 30):
        seed(storage, days_ago, "conversation", 2)
        seed(storage, days_ago, "answer:sciatica", 3)
        seed(storage, days_ago, "answer:posture")
        seed(storage, days_ago, "unknown")
        seed(storage, days_ago, "suggest")
    seed(storage, 0, "none-of-these")
    seed(storage, 7, "declined:dose")
    seed(storage, 29, "declined:diagnosis")
    seed(storage, 1, "screening:started", 3)
    seed(storage, 1, "screening:pt-likely", 2)
    seed(storage, 20, "screening:started")
    seed(storage, 20, "screening:urgent")
    seed(storage, 3, "red-flag:cauda-equina")
    seed(storage, 10, "red-flag:fever")
    seed(storage, 2, "callback:requested")
    seed(storage, 2, "callback:delivered")  # a later feature's other names are not requests
    seed(storage, 4, "red_flag_reminder", 2)
    seed(storage, 12, "red_flag_reminder")
    seed(storage, 5, "warning_signs")
    seed(storage, 5, "about_bot")  # stored, not shown
    return storage


LABELS = Labels(
    topics={"sciatica": "Sciatica"},
    outcomes={"pt-likely": "Physical therapy likely helps", "urgent": "Urgent care now"},
    urgent_outcomes=frozenset({"urgent"}),
)


def test_seven_and_thirty_day_windows(seeded: Storage) -> None:
    report = load_report(seeded, NOW, clinic="Riverside PT", labels=LABELS)
    week, month = report.windows
    assert (week.days, week.first, week.last) == (7, TODAY - timedelta(days=6), TODAY)
    assert (month.days, month.first) == (30, TODAY - timedelta(days=29))

    assert week.conversations == 4
    assert month.conversations == 8
    assert (week.answered, week.unanswered, week.declined) == (8, 3, 0)
    assert (month.answered, month.unanswered, month.declined) == (16, 5, 2)
    assert week.questions == 11
    assert month.questions == 23
    assert week.share_answered == pytest.approx(8 / 11)
    assert month.unanswered_rate == pytest.approx(5 / 23)
    assert week.suggestions == 2
    assert week.top_topics == (("sciatica", 6), ("posture", 2))
    assert month.top_topics == (("sciatica", 12), ("posture", 4))

    assert (week.screenings_started, week.screenings_completed) == (3, 2)
    assert (month.screenings_started, month.screenings_completed) == (4, 3)
    assert week.outcomes == (("pt-likely", 2),)
    assert month.outcomes == (("pt-likely", 2), ("urgent", 1))
    # An urgent screening outcome is a red-flag redirect too (screening.yaml's `urgent`).
    assert week.red_flag_redirects == 1
    assert month.red_flag_redirects == 3
    assert week.appointment_requests == month.appointment_requests == 1
    assert (week.safety_reminders, month.safety_reminders) == (2, 3)
    assert week.warning_signs_asked == month.warning_signs_asked == 1

    assert len(month.per_day) == 30
    assert month.per_day[-1].day == TODAY
    assert month.per_day[-1].questions == 6  # 4 answers, 1 unknown, 1 none-of-these


def test_no_data_gives_zeros_and_no_shares() -> None:
    report = build_report([], NOW, clinic="Riverside PT")
    for window in report.windows:
        assert window.questions == window.conversations == 0
        assert window.share_answered is None
        assert window.unanswered_rate is None
        assert all(d.questions == 0 for d in window.per_day)
    text = render_text(report)
    assert "Answered: – (0) / – (0)" in text
    assert "Appointment requests: 0 / 0" in text
    assert "Top topics" not in text


def test_rows_outside_the_window_are_ignored() -> None:
    rows = [
        DailyCount(TODAY + timedelta(days=1), "conversation", 5),  # a clock ahead of ours
        DailyCount(TODAY - timedelta(days=7), "conversation", 1),
        DailyCount(TODAY, "conversation", 1),
    ]
    assert figures(rows, TODAY, 7).conversations == 1
    assert figures(rows, TODAY, 8).conversations == 2
    with pytest.raises(ValueError, match="at least one day"):
        figures(rows, TODAY, 0)


def test_render_text_is_short_and_labelled(seeded: Storage) -> None:
    text = render_text(load_report(seeded, NOW, clinic="Riverside PT", labels=LABELS))
    lines = text.splitlines()
    assert lines[0] == "Usage figures — Riverside PT"
    assert lines[1] == "Last 7 days (21 Nov–27 Nov 2026) / last 30 days (29 Oct–27 Nov 2026)"
    for line in (
        "Conversations: 4 / 8",
        "Questions: 11 / 23",
        "Answered: 73% (8) / 70% (16)",
        "Unanswered: 27% (3) / 22% (5)",
        "Declined (diagnosis, dose): 0 / 2",
        "Screenings started: 3 / 4",
        "Screenings completed: 2 / 3",
        "Red-flag redirects: 1 / 3",
        "Answers with a safety reminder: 2 / 3",
        "Warning signs asked: 1 / 1",
        "Appointment requests: 1 / 1",
        "  1. Sciatica — 12",
        "  2. posture — 4",  # no label known: the id is shown
        "  Urgent care now — 1",
    ):
        assert line in lines
    assert len(text) < 1500, "one Telegram message, read at a glance"


def test_labels_from_the_shipped_knowledge(kb: KnowledgeBase) -> None:
    labels = Labels.from_knowledge(kb)
    assert labels.topic("sciatica") == kb.topic("sciatica").title
    assert labels.urgent_outcomes == {o.id for o in kb.screening.outcomes if o.urgent}
    assert labels.urgent_outcomes, "screening.yaml has an urgent outcome"


def test_engine_effects_to_storage_to_figures(kb: KnowledgeBase, storage: Storage) -> None:
    """What the Telegram adapter does: store every Count effect, then report on them."""
    engine = Engine(kb)
    session = None
    events: list[Event] = [
        Command("start"),
        Text("Does physical therapy help sciatica?"),
        Text("what is the capital of France"),
        Command("screen"),
        Text("since this morning I can't control my bladder"),
    ]
    for i, event in enumerate(events):
        session, _, effects = engine.handle(session, event, NOW + timedelta(minutes=i))
        for effect in effects:
            if isinstance(effect, Count):
                storage.count(effect.name, NOW + timedelta(minutes=i))
    week = load_report(storage, NOW, clinic="x", labels=Labels.from_knowledge(kb)).windows[0]
    assert week.conversations == 1
    assert week.answered == 1
    assert week.top_topics == (("sciatica", 1),)
    assert week.unanswered == 1
    assert week.screenings_started == 1
    assert week.screenings_completed == 0
    assert week.red_flag_redirects == 1


# --- the command line ------------------------------------------------------------------------


def test_cli_stats_prints_the_figures(
    seeded: Storage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded.count("conversation", datetime.now(UTC))
    code = cli.main(["stats", "--data", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("Usage figures — ")
    assert "Conversations: " in out
    assert "Appointment requests: " in out


def test_cli_stats_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["stats", "--data", str(tmp_path / "nowhere")])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1
    assert "no database" in err
    assert not (tmp_path / "nowhere").exists(), "stats must not create an empty database"


def test_cli_stats_html_without_matplotlib(
    storage: Storage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes `import matplotlib` raise ImportError, as when not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = tmp_path / "report.html"
    code = cli.main(["stats", "--data", str(tmp_path), "--html", str(page)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1
    assert "pip install 'backpain-bot[report]'" in err
    assert "Traceback" not in err
    assert not page.exists()
