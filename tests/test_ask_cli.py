"""`backpain-bot ask`: the JSON contract, and one output line per input line whatever arrives."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import cmd_ask, main
from tests.matching_fixtures import ROOT, SHIPPED_KB, shipped

FIELDS = ["question", "topic", "score", "urgent", "suggestions", "answer"]


def run_ask(stdin: bytes, *, as_json: bool = True, question: str | None = None) -> list[str]:
    out = io.BytesIO()
    err = io.StringIO()
    code = cmd_ask(SHIPPED_KB, question, as_json, io.BytesIO(stdin), out, err)
    assert code == 0, err.getvalue()
    text = out.getvalue().decode("utf-8")
    assert text.endswith("\n")
    return text[:-1].split("\n")


def test_single_question_json_contract() -> None:
    [line] = run_ask(b"", question="does physio help sciatica?")
    obj = json.loads(line)
    assert list(obj) == FIELDS
    assert obj["question"] == "does physio help sciatica?"
    assert obj["topic"] == "sciatica"
    assert 0 <= obj["score"] <= 100
    assert obj["urgent"] is False
    assert obj["suggestions"] == []
    # What the engine sends: the answer, then the related topics as "- Title" lines.
    assert obj["answer"].startswith(shipped().topic("sciatica").answer.strip())
    related = shipped().topic(shipped().topic("sciatica").related[0]).title
    assert obj["answer"].endswith(f"- {related}") or f"- {related}\n" in obj["answer"]


def test_urgent_route() -> None:
    [line] = run_ask(b"", question="I can't pee and my back hurts")
    obj = json.loads(line)
    assert obj["urgent"] is True
    assert obj["topic"] is None
    assert shipped().red_flags.message.strip()[:40] in obj["answer"]


def test_unknown_has_the_dont_know_text_and_menu() -> None:
    [line] = run_ask(b"", question="what is the capital of France")
    obj = json.loads(line)
    assert obj["topic"] is None
    assert obj["urgent"] is False
    assert obj["answer"].startswith(shipped().messages.messages.unknown.strip())
    assert shipped().topic("booking").title in obj["answer"]


def test_ask_follows_the_engines_route_for_chat_the_bot_and_doses() -> None:
    # What `ask` prints is what a user would be sent: no topic for small talk or for a
    # question about the bot ("programmed" alone would match the treatment-plan topic).
    messages = shipped().messages.messages
    hello, about, dose = (
        json.loads(line)
        for line in run_ask(b"hi there\nwho programmed you\nwhat dose of ibuprofen is safe\n")
    )
    assert hello["topic"] is None
    assert hello["answer"].startswith(messages.small_talk_hello.strip())
    assert about["topic"] is None
    assert about["answer"].startswith(messages.about_bot.strip())
    assert dose["topic"] is None
    assert dose["answer"].startswith(messages.decline_dose.strip())  # choices may follow


def test_ask_answers_the_question_after_one_about_the_bot() -> None:
    [line] = run_ask(b"", question="are you a bot or does physio help sciatica?")
    obj = json.loads(line)
    assert obj["topic"] == "sciatica"
    about = shipped().messages.messages.about_bot.strip()
    assert obj["answer"].startswith(f"{about}\n\n{shipped().topic('sciatica').answer.strip()}")


def test_every_line_gets_exactly_one_line_in_order() -> None:
    lines = [
        b"does physio help sciatica?",
        b"",
        b"x" * 100_000,
        b"\xff\xfe invalid \xc3( utf-8",
        "😀🙏💥".encode(),
        b"how do I book an appointment\r",
        b"cant pee",
    ]
    out = run_ask(b"\n".join(lines) + b"\n")
    assert len(out) == len(lines)
    objs = [json.loads(line) for line in out]
    assert all(list(o) == FIELDS for o in objs)
    assert objs[0]["topic"] == "sciatica"
    assert objs[1]["question"] == ""
    assert objs[1]["topic"] is None
    assert len(objs[2]["question"]) == 100_000
    assert "\ufffd" in objs[3]["question"]
    assert objs[4]["topic"] is None
    assert objs[5]["question"] == "how do I book an appointment"
    assert objs[5]["topic"] == "booking"
    assert objs[6]["urgent"] is True
    assert all(o["answer"] for o in objs)


def test_last_line_without_newline_is_answered() -> None:
    assert len(run_ask(b"booking\nsciatica")) == 2


def test_plain_output_is_one_line_per_question() -> None:
    out = run_ask(b"does physio help sciatica?\nwhat is the capital of France\n", as_json=False)
    assert len(out) == 2
    assert out[0].startswith("sciatica\t")
    assert out[1].startswith("-\t")


def test_missing_knowledge_folder_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--kb", str(tmp_path / "nope"), "hello"]) == 1
    assert "error" in capsys.readouterr().err


def ask_process(*options: str) -> subprocess.Popen[bytes]:
    """`backpain-bot ask` in its own process, questions in and answers out through pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", *options, "--kb", str(SHIPPED_KB)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


def test_pipe_through_the_real_command() -> None:
    # A real pipe: the process must answer each line as it arrives (flushed per line).
    with ask_process("--json") as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(b"does physio help sciatica?\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())
        assert first["topic"] == "sciatica"
        proc.stdin.write(b"\xff\n")
        proc.stdin.close()
        second = json.loads(proc.stdout.readline())
        assert second["question"] == "\ufffd"
        assert proc.wait(timeout=60) == 0


def test_a_reader_that_goes_away_ends_ask_quietly() -> None:
    # `backpain-bot ask < questions | head -1`: once the reader has gone, the next answer
    # cannot be written; the command stops without a traceback.
    with ask_process() as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdin.write(b"does physio help sciatica?\n")
        proc.stdin.flush()
        assert proc.stdout.readline()
        proc.stdout.close()
        try:
            proc.stdin.write(b"what is physio?\n" * 50)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # it stopped reading first: also a quiet end
        assert proc.wait(timeout=60) == 141
        assert b"Traceback" not in proc.stderr.read()
