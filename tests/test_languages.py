"""Languages: translations in knowledge/i18n/<code>/, the engine's language, adapters' hints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.engine import SCHEMA, Command, Engine, Press, Text, language_code, migrate
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.problems import KnowledgeError
from tests.botapi import FakeBotApi
from tests.test_telegram_adapter import USER, Running, api, running  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, target)
    return target


def edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` (once) in a file; return the 1-based line where it was."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return line


def problems_of(kb_dir: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir)
    return [str(p) for p in caught.value.problems]


# --- loading ---------------------------------------------------------------------------------


def test_shipped_knowledge_speaks_english_and_spanish(kb: KnowledgeBase) -> None:
    assert kb.languages == ("en", "es")
    es = kb.for_language("es")
    assert es.language == "es"
    assert es.language_name == "Español"
    assert kb.language_name == "English"
    assert kb.for_language("fr") is kb
    assert kb.for_language(None) is kb
    assert es.for_language("en") is kb
    assert es.for_language("xx") is kb
    # Translated topics are Spanish; the others fall back to English, links kept.
    assert es.topic("sciatica").title == "Ciática"
    assert es.topic("sciatica").related == kb.topic("sciatica").related
    assert es.topic("posture").answer == kb.topic("posture").answer
    assert es.messages.buttons.yes == "Sí"
    assert [s.id for s in es.screening.steps] == [s.id for s in kb.screening.steps]


def test_a_translation_index_is_built_once_on_its_first_message() -> None:
    kb = load_knowledge(KNOWLEDGE)
    spanish = kb.for_language("es")
    assert kb.index.is_built  # English is needed at load, for the lint
    assert not spanish.index.is_built  # nobody has written in Spanish yet
    with ThreadPoolExecutor(4) as pool:
        matchers = set(pool.map(lambda _: id(spanish.matcher), range(8)))
    assert spanish.index.is_built
    assert len(matchers) == 1  # built once, not once per thread
    assert spanish.matcher.decide("¿la fisioterapia ayuda con la ciática?").outcome == "answer"
    assert spanish.red_flags_detector.check("no puedo orinar y me duele la espalda") is not None


def test_red_flags_in_any_of_the_clinics_languages_go_to_urgent_care(kb: KnowledgeBase) -> None:
    # A Spanish speaker whose phone is set to English still writes Spanish: the English
    # conversation's check reads the Spanish phrases too, with the English advice.
    spanish_only = "me caí de una escalera y me duele mucho la espalda"
    assert kb.red_flags_detector.check(spanish_only) is not None
    _, replies, _ = Engine(kb).handle(None, Text(spanish_only), NOW, "en")
    assert replies[0].urgent
    assert "emergency" in replies[0].text  # the English urgent-care message
    # The English file itself is unchanged: its categories keep their own phrases only.
    trauma = next(c for c in kb.red_flags.categories if c.id == "major-trauma")
    assert "me caí de una escalera" not in trauma.phrases


def test_a_broken_translation_adds_nothing_to_the_check_and_is_reported(kb_copy: Path) -> None:
    edit(kb_copy / "i18n" / "es" / "red_flags.yaml", "version: 1", "version: 9")
    problems = problems_of(kb_copy)
    assert any("red_flags.yaml" in p for p in problems), problems


def test_check_passes_on_shipped_knowledge_and_lists_missing_translations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main(["check", "--kb", str(KNOWLEDGE)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "0 errors; valid" in lines[-1]
    missing = [line for line in lines if "has no Spanish translation" in line]
    assert any(
        re.search(r"i18n/es/faq\.yaml:\d+: topics: warning: topic `what-is-pt` has no Spanish", m)
        for m in missing
    ), lines
    # Only topics are missing: messages, buttons and screening are complete.
    assert all("topic `" in m for m in missing)


def test_a_missing_message_is_a_warning_with_file_and_line(
    kb_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = kb_copy / "i18n" / "es" / "messages.yaml"
    edit(messages, '  menu: "¿Qué te gustaría hacer?', '  # menu: "')
    assert cli_main(["check", "--kb", str(kb_copy)]) == 0
    out = capsys.readouterr().out
    line = messages.read_text(encoding="utf-8").splitlines().index("messages:") + 1
    assert f"i18n/es/messages.yaml:{line}: messages: warning: `menu` has no Spanish" in out
    # The English text fills the gap.
    es = load_knowledge(kb_copy).for_language("es")
    assert es.messages.messages.menu == load_knowledge(kb_copy).messages.messages.menu


def test_an_unknown_topic_id_is_an_error_with_file_and_line(kb_copy: Path) -> None:
    line = edit(kb_copy / "i18n" / "es" / "faq.yaml", "  - id: sciatica\n", "  - id: sciatika\n")
    problems = problems_of(kb_copy)
    expected = (
        f"i18n/es/faq.yaml:{line}: topics[1].id: `sciatika` is not a topic id in "
        "knowledge/faq.yaml (did you mean `sciatica`?)"
    )
    assert any(p.endswith(expected) for p in problems), problems


def test_a_language_without_red_flags_is_an_error(kb_copy: Path) -> None:
    (kb_copy / "i18n" / "es" / "red_flags.yaml").unlink()
    problems = problems_of(kb_copy)
    assert any("i18n/es/red_flags.yaml: Spanish has no red_flags.yaml" in p for p in problems), (
        problems
    )


def test_translation_structure_and_meaning_problems_are_all_reported(kb_copy: Path) -> None:
    es = kb_copy / "i18n" / "es"
    related = edit(
        es / "faq.yaml", "    title: Ciática\n", "    title: Ciática\n    related: []\n"
    )
    scores = edit(
        es / "screening.yaml",
        "    scores: {yes: 2, not-sure: 1}\n  - id: saddle-numbness",
        "    scores: {yes: 1}\n  - id: saddle-numbness",
    )
    shutil.copytree(es, kb_copy / "i18n" / "spanish")
    problems = problems_of(kb_copy)
    text = "\n".join(problems)
    assert f"i18n/es/faq.yaml:{related + 1}: topics[1].related: unknown key `related`" in text
    assert f"screening.yaml:{scores - 4}: steps[0]: warning: differs from steps[0]" in text
    assert "i18n/spanish: `spanish` is not a language code" in text


def test_a_broken_english_file_still_reports_translation_problems(kb_copy: Path) -> None:
    edit(kb_copy / "faq.yaml", "version: 1\n", "version: 2\n")
    edit(kb_copy / "i18n" / "es" / "messages.yaml", "language_name: Español\n", "")
    text = "\n".join(problems_of(kb_copy))
    assert "faq.yaml:" in text
    assert "newer than this bot understands" in text
    assert "i18n/es/messages.yaml:" in text
    assert "`language_name` is missing" in text


# --- the engine ------------------------------------------------------------------------------


def test_a_spanish_question_is_answered_in_spanish(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    _, replies, _ = engine.handle(None, Text("¿la fisio sirve para la ciatica?"), NOW, "es-ES")
    assert replies[0].text.startswith("La ciática es uno de los problemas")
    assert "Quizá también quieras saber" in replies[0].text
    _, replies, _ = engine.handle(None, Text("tengo una hernia de disco, me ayuda?"), NOW, "es")
    assert "hernia discal" in replies[0].text


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("desde ayer no puedo orinar y me duele la espalda", "cauda-equina"),
        ("a veces me orino encima", "cauda-equina"),
        ("estoy como adormecido ahí abajo", "cauda-equina"),
        ("las piernas me fallan al andar", "leg-weakness"),
        ("me caí de una escalera la semana pasada", "major-trauma"),
        ("tengo fiebre y dolor lumbar", "fever"),
        ("tuve cáncer de mama hace años", "cancer"),
        ("he perdido peso sin hacer dieta", "weight-loss"),
        ("el dolor me despierta por la noche", "night-pain"),
        # People mix languages: English wording is caught in a Spanish conversation too.
        ("I can't feel anything down there", "cauda-equina"),
    ],
)
def test_red_flags_are_caught_in_a_spanish_conversation(
    kb: KnowledgeBase, message: str, category: str
) -> None:
    session, replies, _ = Engine(kb).handle(None, Text(message), NOW, "es-MX")
    assert replies[0].urgent
    assert session["red_flag"]["category"] == category
    # The urgent message is the Spanish one, whatever language the symptom was written in.
    assert "Llama al" in replies[0].text


def test_language_command_switches_and_the_choice_outlasts_the_hint(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    session, replies, _ = engine.handle(None, Command("language"), NOW, "es")
    assert replies[0].text.startswith("¿En qué idioma")
    assert [(o.label, o.action) for o in replies[0].options] == [
        ("English", "lang:en"),
        ("Español", "lang:es"),
    ]
    session, replies, _ = engine.handle(session, Press("lang:en"), NOW, "es")
    assert session["language"] == "en"
    assert replies[0].text == "Okay, I'll speak English from now on."
    session, replies, _ = engine.handle(session, Text("does physio help sciatica?"), NOW, "es")
    assert replies[0].text.startswith("Sciatica is one of the problems")
    # Typing the option's label works as in any menu.
    session, _, _ = engine.handle(session, Command("language"), NOW, "es")
    session, replies, _ = engine.handle(session, Text("español"), NOW, "en-US")
    assert session["language"] == "es"
    assert replies[0].text.startswith("De acuerdo, a partir de ahora")


def test_switching_language_mid_screening_resumes_it_in_the_new_language(
    kb: KnowledgeBase,
) -> None:
    engine = Engine(kb)
    session, _, _ = engine.handle(None, Command("screen"), NOW)
    session, _, _ = engine.handle(session, Text("no"), NOW)
    session, _, _ = engine.handle(session, Command("language"), NOW)
    session, replies, _ = engine.handle(session, Press("lang:es"), NOW)
    assert session["screening"]["step"] == kb.screening.steps[1].id
    assert replies[-1].text.endswith(kb.for_language("es").screening.steps[1].question)
    assert [o.label for o in replies[-1].options][:3] == ["Sí", "No", "No estoy seguro"]


def test_version_2_sessions_migrate_without_a_language(kb: KnowledgeBase) -> None:
    session = migrate({"schema": 2, "pending_question": "x"}, kb)
    assert session["schema"] == SCHEMA == 3
    assert session["language"] is None
    assert session["pending_question"] == "x"
    # A language the knowledge no longer has falls back to following the hint.
    session["language"] = "fr"
    session, replies, _ = Engine(kb).handle(session, Command("start"), NOW, "es")
    assert session["language"] is None
    assert replies[0].text.startswith("¡Hola!")


@pytest.mark.parametrize(
    ("hint", "code"),
    [("es-ES", "es"), ("es_ES.UTF-8", "es"), ("ES", "es"), ("C", None), ("", None), (None, None)],
)
def test_language_code_from_telegram_and_the_locale(hint: str | None, code: str | None) -> None:
    assert language_code(hint) == code


# --- adapters --------------------------------------------------------------------------------


async def test_telegram_language_chooses_spanish_until_english_is_chosen(
    running: Running,  # noqa: F811 (the fixture imported above)
) -> None:
    server: FakeBotApi = running.api
    server.user_text(USER, "/start", language_code="es")
    [greeting] = await server.async_wait_for_messages(USER, 1)
    assert greeting.plain_text.startswith("¡Hola!")
    server.user_text(USER, "/language", language_code="es")
    await server.async_wait_for_messages(USER, 1)
    server.user_text(USER, "English", language_code="es")
    [chosen] = await server.async_wait_for_messages(USER, 1)
    assert chosen.plain_text.startswith("Okay, I'll speak English")
    server.user_text(USER, "/start", language_code="es")
    [again] = await server.async_wait_for_messages(USER, 1)
    assert again.plain_text.startswith("Hello!")


def run_chat(lang: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--kb", str(KNOWLEDGE)],
        input="/help\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=ROOT,
        env={**env, "LANG": lang, "PYTHONIOENCODING": "utf-8"},
        check=True,
    )
    return result.stdout


def test_console_greets_in_the_language_of_the_locale() -> None:
    spanish = run_chat("es_ES.UTF-8")
    assert "¡Hola! Soy el asistente" in spanish
    assert "Escribe una pregunta con tus propias palabras" in spanish
    assert "Hello! I'm the back-pain assistant" in run_chat("C.UTF-8")


def test_an_english_screening_edit_falls_back_until_the_translation_matches(
    kb_copy: Path,
) -> None:
    posture = '    summary: "Poor posture or muscle imbalances"\n    scores: {yes: 1}\n'
    edit(kb_copy / "screening.yaml", posture, posture.replace("{yes: 1}", "{yes: 2}"))
    kb = load_knowledge(kb_copy)
    assert kb.for_language("es").screening == kb.screening
    assert any("Spanish speakers get the English screening" in str(w) for w in kb.warnings)


def test_editing_a_translation_changes_the_reloader_fingerprint(kb_copy: Path) -> None:
    from bot.reloader import fingerprint

    before = fingerprint(kb_copy)
    edit(kb_copy / "i18n" / "es" / "messages.yaml", "¡Hola! Soy", "¡Buenas! Soy")
    assert fingerprint(kb_copy) != before
