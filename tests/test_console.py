"""The terminal chat: ``backpain-bot chat`` piped and interactive, rendering, clean exits."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.console import ConsoleChat, effect_notes, option_lines, run, wrap
from bot.engine import Count, Engine, ForgetUser, LogUnanswered
from bot.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def chat_subprocess(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def test_piped_chat_through_a_full_screening(kb: KnowledgeBase) -> None:
    answers = ["2", "no", "n", "nope", "No", "nah", "no", "no", "yes", "1", "no", "no", "not sure"]
    typed = ["/screen", *answers, "1"]
    result = chat_subprocess(("\n".join(typed) + "\n").encode())
    assert result.returncode == 0
    assert result.stderr == b""
    out = result.stdout.decode("utf-8")
    flat = " ".join(out.split())
    # The greeting comes first, with the main menu numbered.
    assert flat.startswith("Hello! I'm the back-pain assistant of Our physical therapy clinic.")
    assert "1) Ask a question 2) Should I consider PT? 3) Browse topics" in flat
    # Every message typed is shown, and every question is asked once, in order.
    for line in typed:
        assert f"\n> {line}\n" in out
    positions = [flat.index(" ".join(step.question.split())) for step in kb.screening.steps]
    assert positions == sorted(positions)
    assert flat.count("1) Yes 2) No 3) Not sure 4) Back 5) Cancel") == 13
    # The outcome, the booking details and the summary to show a therapist.
    assert "physical therapy is likely to help you" in flat
    assert "call +1 555 0100 or book online: https://example.com/book" in flat
    assert "- New bladder or bowel problems: No" in out
    assert "- Ongoing or recurring back pain: Yes" in out
    assert "- Movement limited by pain or stiffness: Yes" in out
    assert "- Poor posture or muscle imbalances: Not sure" in out
    assert "1) Book an appointment 2) Browse topics 3) Main menu" in flat
    # "1" after the outcome opens the booking topic.
    after_outcome = flat[flat.index("1) Book an appointment 2) Browse topics") :]
    assert "> 1 " in after_outcome
    assert "+1 555 0100" in after_outcome.split("> 1 ", 1)[1]
    # Readable wrapping and no log noise.
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "INFO" not in out
    assert "WARNING" not in out


def test_invalid_utf8_and_long_lines_do_not_end_the_chat() -> None:
    result = chat_subprocess(b"\xff\xfe caf\xe9\n" + b"x" * 100_000 + b"\nthanks")
    assert result.returncode == 0
    assert result.stderr == b""
    assert b"not a diagnosis" in result.stdout
    # The last line has no newline: end of input still delivers it.
    assert b"You're welcome" in result.stdout


def test_broken_knowledge_is_reported_not_chatted_with(tmp_path: Path) -> None:
    result = chat_subprocess(b"hi\n", "--kb", str(tmp_path))
    assert result.returncode == 1
    assert b"faq.yaml" in result.stderr
    assert b"Traceback" not in result.stderr
    assert result.stdout == b""


def test_ctrl_c_exits_cleanly() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert process.stdout is not None
    # Wait until the greeting is out, so the chat is waiting for input.
    while b"Browse topics" not in process.stdout.readline():
        pass
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert b"Traceback" not in err


# --- in-process ------------------------------------------------------------------------------


class Keyboard(io.StringIO):
    """Typed lines, then Ctrl-C."""

    # typeshed gives IOBase.readline a bytes return; StringIO really returns str.
    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        line = super().readline()
        if not line:
            raise KeyboardInterrupt
        return line


def test_interactive_chat_prompts_and_says_goodbye_on_ctrl_c(kb: KnowledgeBase) -> None:
    out = io.StringIO()
    status = run(Engine(kb), Keyboard("hi\n"), out, interactive=True, clock=lambda: NOW)
    assert status == 0
    text = out.getvalue()
    assert text.count("\n> ") == 2  # one prompt answered, one interrupted
    assert "> hi" not in text  # a terminal echoes what is typed; the chat does not
    assert text.endswith("\nBye!\n")


def test_options_are_chosen_by_number_or_label(kb: KnowledgeBase) -> None:
    out = io.StringIO()
    chat = ConsoleChat(Engine(kb), out, clock=lambda: NOW)
    chat.feed("/topics")
    chat.feed("13")
    assert "Sciatica is one of the problems" in out.getvalue()
    chat.feed("/topics")
    chat.feed("  SCIATICA ")
    assert out.getvalue().count("Sciatica is one of the problems") == 2


def test_numbering_runs_on_across_the_replies_of_one_turn(kb: KnowledgeBase) -> None:
    out = io.StringIO()
    chat = ConsoleChat(Engine(kb), out, clock=lambda: NOW)
    chat.feed("/screen")
    chat.feed("No")
    chat.feed("/start")
    printed = out.getvalue()
    assert "1) Ask a question  2) Should I consider PT?  3) Browse topics" in printed
    assert "4) Yes  5) No  6) Not sure  7) Back  8) Cancel" in printed
    chat.feed("5")
    assert "weakness or numbness in your legs" in out.getvalue()


def test_forget_and_unanswered_say_honestly_that_nothing_is_stored(kb: KnowledgeBase) -> None:
    out = io.StringIO()
    chat = ConsoleChat(Engine(kb), out, clock=lambda: NOW)
    chat.feed("what is the capital of france")
    assert "this question was not logged" in out.getvalue()
    chat.feed("/forget")
    assert "Done. I deleted" in out.getvalue()
    assert "nothing is saved on disk" in out.getvalue()


def test_effect_notes() -> None:
    assert effect_notes([Count("answer:sciatica")]) == []
    assert len(effect_notes([LogUnanswered("q", "unknown"), ForgetUser()])) == 2


def test_option_lines_pack_without_splitting_an_option() -> None:
    labels = ["Does physical therapy work?", "What is physical therapy?", "Your treatment plan"]
    assert option_lines(labels, 60) == [
        "1) Does physical therapy work?  2) What is physical therapy?",
        "3) Your treatment plan",
    ]
    assert option_lines(labels, 60, start=4)[0].startswith("4) ")


def test_wrap_keeps_paragraphs_and_indents_list_items() -> None:
    text = "First paragraph.\n\n- " + "word " * 30
    lines = wrap(text, 40)
    assert lines[:2] == ["First paragraph.", ""]
    assert lines[2].startswith("- word")
    assert all(line.startswith("  word") for line in lines[3:])
    assert max(len(line) for line in lines) <= 40
