"""Asking which symptoms make back pain urgent gets the list of warning signs, never a topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.config import ClinicSettings
from bot.engine import Command, Engine, Text
from bot.evaluation import Case, ask, evaluate_default
from bot.knowledge import KnowledgeBase
from bot.smalltalk import asks_warning_signs

NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "when is back pain an emergency?",
        "what are the red flags for back pain",
        "which back pain symptoms mean you should go to A&E instead of waiting?",
        "what symptoms should worry me with sciatica",
        "how do I know if my back pain is serious?",
        "when should I go to the ER with back pain",
        "what is cauda equina?",
        "any warning signs to watch for?",
    ],
)
def test_questions_about_the_warning_signs_are_recognised(text: str) -> None:
    assert asks_warning_signs(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "does physio help sciatica",
        "when should I see a physio",
        "the GP went through the red flags with me, all fine, what does physio do?",
        "is my back pain serious",  # a diagnosis request: declined elsewhere
        "what symptoms does a herniated disc cause",
    ],
)
def test_other_questions_are_not_taken_for_it(text: str) -> None:
    assert not asks_warning_signs(text, "en")


def test_spanish_questions_about_the_warning_signs() -> None:
    assert asks_warning_signs("¿Cuándo es urgente el dolor de espalda?", "es")
    assert asks_warning_signs("¿qué señales de alarma hay?", "es")
    assert not asks_warning_signs("¿la fisioterapia ayuda con la ciática?", "es")


def test_the_reply_lists_every_red_flag_and_where_to_go(kb: KnowledgeBase) -> None:
    _, replies, effects = Engine(kb).handle(None, Text("when is back pain an emergency?"), NOW)
    assert len(replies) == 1
    text = replies[0].text
    for category in kb.red_flags.categories:
        assert f"- {category.title}" in text
    assert ClinicSettings().emergency_number in text  # the fixture's clinic: the defaults
    assert "{" not in text
    assert not replies[0].urgent  # information, not the urgent route: nothing was reported
    assert replies[0].options, "the main menu follows"
    assert any(getattr(e, "name", "") == "warning_signs" for e in effects)


def test_a_red_flag_in_the_same_message_still_goes_to_urgent_care(kb: KnowledgeBase) -> None:
    text = "is this an emergency? I can't feel the toilet paper when I wipe"
    _, replies, _ = Engine(kb).handle(None, Text(text), NOW)
    assert replies[0].urgent


def test_spanish_speakers_get_the_spanish_titles(kb: KnowledgeBase) -> None:
    _, replies, _ = Engine(kb).handle(
        None, Text("¿Cuándo es urgente el dolor de espalda?"), NOW, "es"
    )
    assert "Fiebre o escalofríos con dolor de espalda" in replies[0].text


def test_during_the_screening_the_step_is_asked_again(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    session, _, _ = engine.handle(None, Command("screen"), NOW)
    _, replies, _ = engine.handle(session, Text("what are the red flags?"), NOW)
    assert kb.red_flags.categories[0].title in replies[0].text
    assert kb.screening.steps[0].question in replies[-1].text


def test_ask_and_eval_report_it_as_no_topic(kb: KnowledgeBase) -> None:
    result = ask(kb, "what symptoms would mean I should go to A&E instead of physio?")
    assert json.loads(json.dumps(result.as_json()))["topic"] is None
    assert kb.red_flags.categories[0].title in result.answer
    report = evaluate_default(
        kb.matcher, kb.red_flags_detector, [Case("when is back pain an emergency?", None)]
    )
    assert report.rejection == 1.0
