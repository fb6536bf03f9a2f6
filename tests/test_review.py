"""Grouping unanswered questions, and the storage that hides or drops them after review."""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase
from bot.problems import KnowledgeError
from bot.review import (
    QuestionGroup,
    accept_group,
    dismiss_group,
    find_group,
    group_questions,
    review,
)
from bot.storage import DB_FILENAME, Storage, UnansweredQuestion

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
NOW = datetime(2026, 11, 27, 12, 0, 0)

LOG = [
    ("does yoga help my back", "stretching"),
    ("Can yoga help back pain?", "stretching"),
    ("yogaa for my back", None),  # a typo still joins
    ("is yoga good for lower back pain", "conditions"),
    ("does yoga help my back", "stretching"),
    ("swimming for back pain", None),
    ("can I swim with a bad back", None),
    ("is swimming ok for back pain", None),
    ("what about acupuncture", None),
    ("acupuncture for back?", None),
    ("back pain", None),
    ("hi", None),
    (
        "My back has been killing me since I moved house last summer and carried a sofa up "
        "three flights, I took a week off work, can therapy help or do I need a scan?",
        None,
    ),
    ("do I need a scan", None),
]


# Words of made-up questions for the timing test.
VOCABULARY = (
    "yoga swimming heat ice pad acupuncture chiropractor massage scan mri xray pills ibuprofen "
    "walking running bed mattress chair desk sitting driving lifting baby pregnancy sleep "
    "pillow shoes insurance cost parking weekend"
)


def rows(log: Sequence[tuple[str, str | None]]) -> list[UnansweredQuestion]:
    return [
        UnansweredQuestion(i + 1, q, topic, 40.0, "unknown", NOW + timedelta(minutes=i))
        for i, (q, topic) in enumerate(log)
    ]


def by_member(groups: Sequence[QuestionGroup], text: str) -> QuestionGroup:
    return next(g for g in groups if text in g.questions)


def test_similar_questions_group_most_frequent_first(kb: KnowledgeBase) -> None:
    groups = group_questions(rows(LOG), kb)
    yoga = groups[0]
    assert yoga.count == 5
    assert set(yoga.questions) == {
        "does yoga help my back",
        "Can yoga help back pain?",
        "yogaa for my back",
        "is yoga good for lower back pain",
    }
    assert yoga.representative == "does yoga help my back"  # asked twice
    assert yoga.questions[0] == yoga.representative
    assert yoga.closest_topic == "stretching"  # the majority of the logged topics
    assert "stretching" not in yoga.alternatives
    assert len(yoga.alternatives) == len(set(yoga.alternatives)) <= 3
    swim = groups[1]
    assert swim.count == 3
    assert all("swim" in q for q in swim.questions)
    counts = [g.count for g in groups]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == len(LOG)


def test_generic_words_and_long_stories_do_not_merge_groups(kb: KnowledgeBase) -> None:
    groups = group_questions(rows(LOG), kb)
    # "back pain" says nothing about swimming; a story mentioning a scan is not "do I need a
    # scan"; chatter stays alone.
    assert by_member(groups, "back pain").count == 1
    assert by_member(groups, "do I need a scan").count == 1
    assert by_member(groups, "hi").count == 1
    assert by_member(groups, "what about acupuncture").count == 2


def test_grouping_works_without_knowledge() -> None:
    groups = group_questions(rows(LOG))
    swim = by_member(groups, "swimming for back pain")
    assert swim.count == 3
    assert by_member(groups, "back pain").count == 1
    assert by_member(groups, "does yoga help my back").closest_topic == "stretching"


def test_topics_that_no_longer_exist_are_not_suggested(kb: KnowledgeBase) -> None:
    log = [("does yoga help my back", "old-yoga-topic")] * 3
    group = group_questions(rows(log), kb)[0]
    assert group.closest_topic in kb.topics_by_id
    assert "old-yoga-topic" not in group.alternatives
    assert group_questions(rows(log))[0].closest_topic == "old-yoga-topic"


def test_ref_finds_the_group_again_after_new_questions(kb: KnowledgeBase) -> None:
    first = group_questions(rows(LOG), kb)
    ref = by_member(first, "what about acupuncture").ref
    later = group_questions(rows([*LOG, ("acupuncture, does it work?", None)]), kb)
    found = find_group(later, ref)
    assert found is not None
    assert found.count == 3
    assert find_group(later, "999999") is None


def test_empty_log() -> None:
    assert group_questions([]) == []


def test_a_few_thousand_questions_group_quickly(kb: KnowledgeBase) -> None:
    rng = random.Random(7)
    words = VOCABULARY.split()
    log = [
        (" ".join(rng.sample(words, rng.randint(1, 5))) + " back pain?", None) for _ in range(3000)
    ]
    started = time.perf_counter()
    groups = group_questions(rows(log), kb)
    elapsed = time.perf_counter() - started
    assert sum(g.count for g in groups) == 3000
    assert elapsed < 8, f"grouping 3000 questions took {elapsed:.1f}s"


# --- storage: dismiss and delete ------------------------------------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage.open(tmp_path / "data", env={})
    for i, (question, topic) in enumerate(LOG):
        store.log_unanswered(i, question, topic, 40.0, "unknown", NOW)
    yield store
    store.close()


def test_dismissed_questions_stay_hidden_but_kept(storage: Storage, kb: KnowledgeBase) -> None:
    group = by_member(review(storage, kb), "what about acupuncture")
    assert dismiss_group(storage, group) == 2
    assert dismiss_group(storage, group) == 0  # already hidden
    assert all("acupuncture" not in q.question for q in storage.unanswered())
    assert len(storage.unanswered(include_dismissed=True)) == len(LOG)
    assert "what about acupuncture" not in {q for g in review(storage, kb) for q in g.questions}


def test_dismissed_rows_go_with_retention_and_forget(storage: Storage, tmp_path: Path) -> None:
    ids = [q.id for q in storage.unanswered()]
    storage.dismiss_unanswered(ids[:3])
    storage.forget(0)  # user 0 wrote the first question
    assert storage.purge_expired(NOW + timedelta(days=100), 90) == len(LOG) - 1
    storage.dismiss_unanswered([12345])  # gone ids are ignored
    with sqlite3.connect(tmp_path / "data" / DB_FILENAME) as db:
        assert db.execute("SELECT COUNT(*) FROM unanswered_dismissed").fetchone() == (0,)


def test_delete_unanswered(storage: Storage) -> None:
    ids = [q.id for q in storage.unanswered()]
    assert storage.delete_unanswered([ids[0], ids[1], 999]) == 2
    assert [q.id for q in storage.unanswered()] == ids[2:]


def test_database_from_before_the_review_table_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE unanswered (id INTEGER PRIMARY KEY AUTOINCREMENT, user_ref TEXT NOT "
            "NULL, question TEXT NOT NULL, closest_topic TEXT, score REAL, reason TEXT NOT NULL, "
            "created_at TEXT NOT NULL);"
            "INSERT INTO unanswered (user_ref, question, reason, created_at) "
            "VALUES ('x', 'old question', 'unknown', '2026-01-01T00:00:00');"
        )
    db.close()
    for _ in range(2):  # opening twice: the migration is idempotent
        store = Storage(path)
        assert [q.question for q in store.unanswered()] == ["old question"]
        store.close()


# --- accepting a group ---------------------------------------------------------------------


def test_accept_adds_the_phrasing_and_drops_the_group(storage: Storage, tmp_path: Path) -> None:
    kb_dir = Path(shutil.copytree(KNOWLEDGE, tmp_path / "kb"))
    group = by_member(review(storage), "does yoga help my back")
    added = accept_group(storage, kb_dir, group, "stretching")
    assert added.changed
    assert added.answers
    assert added.knowledge.matcher.decide("does yoga help my back").topic_id == "stretching"
    assert not set(group.ids) & {q.id for q in storage.unanswered(include_dismissed=True)}


def test_refused_accept_keeps_the_group(storage: Storage, tmp_path: Path) -> None:
    kb_dir = Path(shutil.copytree(KNOWLEDGE, tmp_path / "kb"))
    storage.log_unanswered(9, "How do I book an appointment?", None, None, "unknown", NOW)
    group = by_member(review(storage), "How do I book an appointment?")
    with pytest.raises(KnowledgeError, match="the same question is also under"):
        accept_group(storage, kb_dir, group, "posture")
    assert set(group.ids) <= {q.id for q in storage.unanswered()}
