"""A message no red-flag phrase catches, but which reads like an urgent one, gets a reminder."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import MatchingSettings
from bot.engine import Engine, Text
from bot.evaluation import Case, evaluate
from bot.knowledge import EXAMPLES_FILE, KnowledgeBase, load_knowledge
from bot.likeness import UrgencyModel
from bot.matching import example_features
from tests.matching_fixtures import SHIPPED_KB, tiny

NOW = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
# Written for this test: in no set, no example, and in words no red-flag phrase has.
UNSEEN = "my back went and now the loo situation is all wrong, nothing happens when I try to go"
ORDINARY = (
    "does stretching help at night?",
    "can PT help after a fall last year?",
    "my cat fell off the sofa, is she ok",
    "what exercises help sciatica",
)


def test_a_wording_no_phrase_has_is_named_but_never_made_urgent(kb: KnowledgeBase) -> None:
    detector = kb.red_flags_detector
    assert detector.check(UNSEEN) is None
    reading = detector.read(UNSEEN)
    assert (reading.hit, reading.set_aside, reading.resembles) == (None, None, "cauda-equina")
    assert reading.reminder == "cauda-equina"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_messages_sharing_a_word_with_a_red_flag_are_left_alone(
    kb: KnowledgeBase, text: str
) -> None:
    reading = kb.red_flags_detector.read(text)
    assert reading.reminder is None, (text, reading)


def test_the_bot_answers_then_adds_one_line_on_where_to_go(kb: KnowledgeBase) -> None:
    _, replies, effects = Engine(kb).handle(None, Text(UNSEEN), NOW)
    assert not any(r.urgent for r in replies)
    assert replies[-1].text.startswith("Just to be safe: Bladder, bowel or saddle numbness")
    assert any(getattr(e, "name", "") == "red_flag_reminder" for e in effects)


def test_eval_counts_the_reminder_after_a_missed_red_flag(kb: KnowledgeBase) -> None:
    case = Case(UNSEEN, None, urgent=True, category="cauda-equina")
    outcome = evaluate(kb.matcher, kb.red_flags_detector, [case], time.perf_counter).outcomes[0]
    assert not outcome.urgent  # the phrases missed it: recall is not flattered
    assert outcome.reminded


def test_a_likeness_of_one_turns_it_off() -> None:
    off = load_knowledge(SHIPPED_KB, matching=MatchingSettings(red_flag_likeness=1.0), lint=False)
    assert off.red_flags_detector.read(UNSEEN).reminder is None


def test_without_urgent_examples_there_is_no_model(tmp_path: Path) -> None:
    target = tmp_path / "kb"
    shutil.copytree(SHIPPED_KB, target)
    (target / EXAMPLES_FILE).unlink()
    kb = load_knowledge(target, lint=False)
    assert kb.red_flags_detector.likeness is None
    assert kb.red_flags_detector.read(UNSEEN).reminder is None


def test_the_model_names_the_likeliest_category_and_weighs_how_rare_urgency_is() -> None:
    matcher, _ = tiny()
    norm = matcher.normaliser
    ordinary = Counter(
        f
        for text in ("how do I book", "which stretches help", "nerve pain down my leg") * 20
        for f in example_features(norm, text)
    )
    urgent = {
        "cauda-equina": ["cannot pee at all", "no feeling when I pee", "pee will not come"],
        "night-pain": ["awake every night with it", "night after night it wakes me"],
    }
    model = UrgencyModel(urgent, ordinary, 60, norm, threshold=0.8)
    assert model.category_of("the pee will not come out") == "cauda-equina"
    assert model.category_of("it wakes me every single night") == "night-pain"
    assert model.category_of("which stretches help my leg") is None
    share, _ = model.urgency("which stretches help my leg")
    assert share < 0.2
