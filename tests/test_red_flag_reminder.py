"""Red-flag words ruled out by their context get a one-line reminder of where to go."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from bot.engine import Engine, Text
from bot.evaluation import ask
from bot.knowledge import KnowledgeBase, load_knowledge

NOW = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
DENIED = "slipped disc but no numbness, no bladder stuff, just pain. does physio help?"


def test_the_check_says_which_red_flag_it_ruled_out(kb: KnowledgeBase) -> None:
    detector = kb.red_flags_detector
    reading = detector.read(DENIED)
    assert reading.hit is None
    assert reading.set_aside == "cauda-equina"
    assert detector.read("does physio help sciatica?").set_aside is None
    urgent = detector.read("my bladder is leaking and my back hurts")
    assert urgent.hit is not None
    assert urgent.set_aside is None


def test_the_answer_comes_first_then_one_line_on_where_to_go(kb: KnowledgeBase) -> None:
    _, replies, effects = Engine(kb).handle(None, Text(DENIED), NOW)
    assert kb.topic("herniated-disc").answer.strip()[:60] in replies[0].text
    last = replies[-1].text
    assert last.startswith("Just to be safe: Bladder, bowel or saddle numbness")
    assert "{" not in last
    assert not any(r.urgent for r in replies)
    assert any(getattr(e, "name", "") == "red_flag_reminder" for e in effects)


def test_ordinary_questions_and_the_warning_signs_get_no_reminder(kb: KnowledgeBase) -> None:
    for text in ("does physio help sciatica?", "what are the red flags? I have no fever"):
        _, replies, _ = Engine(kb).handle(None, Text(text), NOW)
        assert not any(r.text.startswith("Just to be safe") for r in replies), text


def test_ask_prints_the_reminder_too(kb: KnowledgeBase) -> None:
    result = ask(kb, DENIED)
    assert result.topic == "herniated-disc"
    assert result.answer.endswith(
        "\n\nJust to be safe: Bladder, bowel or saddle numbness together with back pain needs"
        " urgent care. If that is you, don't wait for physical therapy: call 911."
    )


def test_a_message_missing_from_the_clinics_file_still_has_its_placeholders_filled(
    tmp_path: Path,
) -> None:
    # A message added in an update is not in an older messages.yaml: its default is used,
    # with the clinic's emergency number filled in, never a raw "{clinic.emergency_number}".
    target = tmp_path / "kb"
    shutil.copytree(Path(__file__).resolve().parent.parent / "knowledge", target)
    path = target / "messages.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(ln for ln in lines if "red_flag_check:" not in ln), "utf-8")
    kb = load_knowledge(target)
    text = kb.messages.messages.red_flag_check
    assert "{clinic." not in text
    assert "call 911" in text  # the default clinic's number
    assert "{sign}" in text  # filled in when it is said
