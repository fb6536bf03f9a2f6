"""Spanish conversations: chit-chat, declines and typed screening answers in their language.

The words belong to a language (``bot.smalltalk.CHAT_WORDS`` / ``DECLINE_RULES`` and
``bot.screening.ANSWER_WORDS``, chosen by the knowledge base's ``language``), so these check
both that a Spanish speaker is understood and that English conversations did not change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.engine import Command, Engine, Press, Text
from bot.knowledge import KnowledgeBase
from bot.screening import ANSWER_WORDS, parse_answer
from bot.smalltalk import CHAT_WORDS, DECLINE_RULES, declined, small_talk

NOW = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)


# --- the word lists --------------------------------------------------------------------------


def test_every_shipped_language_has_its_own_words(kb: KnowledgeBase) -> None:
    # A language added to knowledge/i18n/ without lists would read English words: "y" would
    # mean "yes" to someone who wrote "and".
    for code in kb.languages:
        assert code in ANSWER_WORDS
        assert code in CHAT_WORDS
        assert code in DECLINE_RULES


@pytest.mark.parametrize(
    ("typed", "meaning"),
    [
        ("sí", "yes"),
        ("Si", "yes"),
        ("¡Sí!", "yes"),
        ("claro", "yes"),
        ("por supuesto", "yes"),
        ("sí, desde el verano", "yes"),
        ("no", "no"),
        ("No.", "no"),
        ("nunca", "no"),
        ("para nada", "no"),
        ("no, nunca me ha pasado", "no"),
        ("no se me duerme la pierna", "no"),  # "no se" here is not "I don't know"
        ("no sé", "not-sure"),
        ("No se", "not-sure"),
        ("no lo sé", "not-sure"),
        ("no sé, creo que no", "not-sure"),
        ("ni idea", "not-sure"),
        ("tal vez", "not-sure"),
        ("no estoy segura", "not-sure"),
        ("atrás", "back"),
        ("cancelar", "cancel"),
        ("y también me duele la rodilla", None),  # "y" is "and" in Spanish
        ("sí, pero ¿la fisio sirve para la ciática?", None),
        ("me duele al agacharme", None),
    ],
)
def test_spanish_typed_answers(typed: str, meaning: str | None) -> None:
    assert parse_answer(typed, "es") == meaning


@pytest.mark.parametrize(
    ("typed", "meaning"),
    [
        ("yes", "yes"),
        ("y", "yes"),
        ("yeah, since March", "yes"),
        ("nope", "no"),
        ("not sure", "not-sure"),
        ("dunno", "not-sure"),
        ("cancel", "cancel"),
        ("claro", None),  # Spanish words are not read in an English conversation
        ("sí", None),
    ],
)
def test_english_typed_answers_unchanged(typed: str, meaning: str | None) -> None:
    assert parse_answer(typed, "en") == meaning
    assert parse_answer(typed) == meaning  # English is the default


def test_an_unknown_language_reads_english_words() -> None:
    assert parse_answer("yeah", "fr") == "yes"
    assert small_talk("thanks a lot", "fr") == "thanks"


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("hola", "hello"),
        ("¡Buenas tardes!", "hello"),
        ("hola, buenos días", "hello"),
        ("muchas gracias", "thanks"),
        ("vale, gracias", "thanks"),
        ("mil gracias por todo", "thanks"),
        ("te lo agradezco", "thanks"),
        ("vale", "ok"),
        ("de acuerdo", "ok"),
        ("perfecto, entendido", "ok"),
        ("adiós", "bye"),
        ("adios", "bye"),
        ("hasta luego", "bye"),
        ("gracias, hasta mañana", "bye"),
        ("hola, ¿la fisio ayuda con la ciática?", None),
        ("me duele la espalda", None),
    ],
)
def test_spanish_small_talk(typed: str, kind: str | None) -> None:
    assert small_talk(typed, "es") == kind


def test_english_small_talk_unchanged_and_separate() -> None:
    assert small_talk("hi there") == "hello"
    assert small_talk("thanks so much!") == "thanks"
    assert small_talk("ok cool") == "ok"
    assert small_talk("bye for now", "en") == "bye"
    assert small_talk("hola") is None
    assert small_talk("vale gracias", "en") is None


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("¿qué me pasa en la zona lumbar?", "diagnosis"),
        ("¿puede ser una hernia discal?", "diagnosis"),
        ("¿me puedes interpretar la resonancia?", "diagnosis"),
        ("mi radiografía dice que tengo artrosis, ¿qué significa?", "diagnosis"),
        ("¿cuántos miligramos de ibuprofeno me tomo?", "dose"),
        ("¿puedo tomar paracetamol con el antiinflamatorio?", "dose"),
        ("¿qué tengo que hacer para mejorar la postura?", None),
        ("¿la fisioterapia sirve para la ciática?", None),
    ],
)
def test_spanish_declines(typed: str, kind: str | None) -> None:
    assert declined(typed, "es") == kind


def test_english_declines_unchanged() -> None:
    assert declined("can you read my MRI?") == "diagnosis"
    assert declined("how much ibuprofen should I take?") == "dose"
    assert declined("does physio help sciatica?") is None
    # English drug names and scan words are still caught in a Spanish conversation.
    assert declined("can I take ibuprofen?", "es") == "dose"


# --- through the engine ----------------------------------------------------------------------


def texts(replies: Any) -> list[str]:
    return [r.text for r in replies]


@pytest.mark.parametrize(
    ("typed", "key", "menu"),
    [
        ("¡Hola!", "small_talk_hello", True),
        ("buenas", "small_talk_hello", True),
        ("muchísimas gracias", "small_talk_thanks", False),
        ("vale", "small_talk_ok", True),
        ("adiós, hasta pronto", "small_talk_bye", False),
    ],
)
def test_spanish_small_talk_gets_the_spanish_reply(
    kb: KnowledgeBase, typed: str, key: str, menu: bool
) -> None:
    es = kb.for_language("es")
    _, replies, effects = Engine(kb).handle(None, Text(typed), NOW, "es-AR")
    assert texts(replies) == [getattr(es.messages.messages, key).strip()]
    assert bool(replies[0].options) is menu
    assert not any(type(e).__name__ == "LogUnanswered" for e in effects)


def test_english_small_talk_gets_the_english_reply(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    _, replies, _ = engine.handle(None, Text("hello!"), NOW, "en-GB")
    assert texts(replies) == [kb.messages.messages.small_talk_hello.strip()]
    _, replies, _ = engine.handle(None, Text("thanks a lot"), NOW)
    assert texts(replies) == [kb.messages.messages.small_talk_thanks.strip()]


def test_a_spanish_dose_question_is_declined_in_spanish(kb: KnowledgeBase) -> None:
    es = kb.for_language("es")
    _, replies, _ = Engine(kb).handle(None, Text("¿cuántas pastillas de nolotil?"), NOW, "es")
    assert replies[0].text == es.messages.messages.decline_dose.strip()


def _spanish_screening(kb: KnowledgeBase) -> tuple[Engine, dict[str, Any]]:
    engine = Engine(kb)
    session, _, _ = engine.handle(None, Command("screen"), NOW, "es-ES")
    return engine, session


def test_a_spanish_screening_answered_by_typing_moves_on(kb: KnowledgeBase) -> None:
    steps = kb.for_language("es").screening.steps
    engine, session = _spanish_screening(kb)
    # The warning-sign questions first: typed "no" in its Spanish forms.
    for typed in ("no", "nunca", "no, para nada", "No.", "tampoco", "no", "nunca", "no"):
        session, replies, _ = engine.handle(session, Text(typed), NOW, "es-ES")
    position = [s.id for s in steps].index(session["screening"]["step"])
    assert steps[position].group == "consider"
    # "si" without its accent, then "no sé": each one moves to the next step.
    session, replies, _ = engine.handle(session, Text("si"), NOW, "es-ES")
    assert session["screening"]["step"] == steps[position + 1].id
    assert replies[-1].text == steps[position + 1].question.strip()
    assert session["screening"]["answers"][-1] == [steps[position].id, "yes"]
    session, replies, _ = engine.handle(session, Text("no sé"), NOW, "es-ES")
    assert session["screening"]["step"] == steps[position + 2].id
    assert session["screening"]["answers"][-1] == [steps[position + 1].id, "not-sure"]
    assert replies[-1].text == steps[position + 2].question.strip()


def test_spanish_thanks_mid_screening_is_chit_chat_not_a_bad_answer(kb: KnowledgeBase) -> None:
    es = kb.for_language("es")
    engine, session = _spanish_screening(kb)
    step = session["screening"]["step"]
    session, replies, _ = engine.handle(session, Text("gracias"), NOW, "es")
    assert replies[0].text == es.messages.messages.small_talk_thanks.strip()
    assert es.messages.messages.screening_hint.strip() not in replies[-1].text
    assert session["screening"]["step"] == step  # the question is asked again, nothing answered
    assert session["screening"]["answers"] == []


def test_english_screening_typed_answers_unchanged(kb: KnowledgeBase) -> None:
    steps = kb.screening.steps
    engine = Engine(kb)
    session, _, _ = engine.handle(None, Command("screen"), NOW, "en-US")
    session, _, _ = engine.handle(session, Text("nope"), NOW, "en-US")
    assert session["screening"]["step"] == steps[1].id
    session, replies, _ = engine.handle(session, Text("claro"), NOW, "en-US")
    assert session["screening"]["step"] == steps[1].id  # not understood in English
    assert kb.messages.messages.screening_hint.strip() in replies[-1].text


def test_a_spanish_call_back_consent_can_be_typed(kb: KnowledgeBase) -> None:
    engine = Engine(kb, callbacks=True)
    session, replies, _ = engine.handle(None, Press("cb"), NOW, "es")
    assert session["callback"]["step"] == "consent"
    session, replies, _ = engine.handle(session, Text("sí, claro"), NOW, "es")
    assert session["callback"]["step"] == "phone"
    assert replies[0].keyboard == "contact"
