"""Questions about the bot itself get an honest answer, never a topic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.engine import Command, Engine, Text
from bot.knowledge import KnowledgeBase
from bot.smalltalk import about_bot

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "rest"),
    [
        ("are you a real person?", ""),
        ("r u a bot", ""),
        ("am I talking to a human", ""),
        ("who programmed you", ""),
        ("What are you?", ""),
        ("are you a bot or does physio help sciatica?", "or does physio help sciatica"),
        # Not about the bot.
        ("are you open on saturdays", None),
        ("who made my treatment plan", None),
        ("does physio help a bad back", None),
    ],
)
def test_english_questions_about_the_bot(typed: str, rest: str | None) -> None:
    assert about_bot(typed, "en") == rest


@pytest.mark.parametrize(
    "typed", ["¿eres una persona real?", "¿hablo con un robot?", "quién te programó"]
)
def test_spanish_questions_about_the_bot(typed: str) -> None:
    assert about_bot(typed, "es") is not None


def test_the_bot_says_what_it_is_instead_of_a_topic(kb: KnowledgeBase) -> None:
    # "programmed" alone would match the treatment-plan topic ("programme").
    _, replies, effects = Engine(kb).handle(None, Text("who programmed you"), NOW)
    assert len(replies) == 1
    assert "not a person" in replies[0].text
    assert "call" in replies[0].text  # the clinic's phone, filled in
    assert "{" not in replies[0].text
    assert replies[0].options, "the main menu follows"
    assert any(getattr(e, "name", "") == "about_bot" for e in effects)


def test_a_question_after_asking_about_the_bot_is_still_answered(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    text = "are you a bot or does physio help sciatica?"
    _, replies, _ = engine.handle(None, Text(text), NOW)
    assert "not a person" in replies[0].text
    sciatica = kb.topic("sciatica").answer.strip()
    assert any(sciatica[:60] in r.text for r in replies[1:]), [r.text for r in replies]


def test_spanish_speakers_get_the_spanish_answer(kb: KnowledgeBase) -> None:
    _, replies, _ = Engine(kb).handle(None, Text("¿eres un robot?"), NOW, "es-ES")
    assert "no una persona" in replies[0].text


def test_during_the_screening_the_question_is_answered_and_the_step_asked_again(
    kb: KnowledgeBase,
) -> None:
    engine = Engine(kb)
    session, _, _ = engine.handle(None, Command("screen"), NOW)
    _, replies, _ = engine.handle(session, Text("am i talking to a real person"), NOW)
    assert "not a person" in replies[0].text
    assert kb.screening.steps[0].question in replies[-1].text


def test_during_the_screening_a_question_next_to_one_about_the_bot_is_answered(
    kb: KnowledgeBase,
) -> None:
    engine = Engine(kb)
    session, _, _ = engine.handle(None, Command("screen"), NOW)
    text = "are you a bot or does physio help sciatica?"
    _, replies, _ = engine.handle(session, Text(text), NOW)
    assert "not a person" in replies[0].text
    assert kb.topic("sciatica").answer.strip()[:60] in replies[1].text
    assert kb.screening.steps[0].question in replies[-1].text
