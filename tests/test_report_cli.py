"""`backpain-bot report [--apply]` end to end: a seeded database, piped answers, then `ask`."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 27, 12, 0, 0)
LOG = [
    ("does yoga help my back", "stretching"),
    ("does yoga help my back", "stretching"),
    ("Can yoga help back pain?", "stretching"),
    ("what about acupuncture", "stretching"),
    ("acupuncture for back?", None),
    ("hi", None),
]


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BACKPAIN_BOT_SECRET": "test"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no ./config.yaml here, so only the flags count
        env=env,
        timeout=60,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "knowledge", tmp_path / "kb")
    storage = Storage.open(tmp_path / "data", env={"BACKPAIN_BOT_SECRET": "test"})
    for user, (question, topic) in enumerate(LOG):
        storage.log_unanswered(user, question, topic, 45.0, "unknown", NOW)
    storage.close()
    return tmp_path


def test_report_prints_groups_most_frequent_first(site: Path) -> None:
    result = run(site, "report", "--kb", "kb", "--data", "data")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "6 unanswered questions in 3 groups, most frequent first"
    assert lines[1] == "  1. 3 times, closest topic: stretching (Stretching and stiffness)"
    assert lines[2] == '     "does yoga help my back"'
    assert lines[3] == '     also: "Can yoga help back pain?"'
    assert lines[4].startswith("  2. 2 times, closest topic: stretching")
    assert "hi" in lines[-1]
    assert lines[-2].startswith("  3. 1 time, no close topic")


def test_apply_adds_dismisses_and_ask_answers_right_after(site: Path) -> None:
    faq = site / "kb" / "faq.yaml"
    before = faq.read_text(encoding="utf-8")
    # yoga: add to the suggested topic; acupuncture: choose `posture` by id; "hi": dismiss.
    result = run(
        site, "report", "--kb", "kb", "--data", "data", "--apply", stdin="a\nc\nposture\nd\n"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "added to stretching (kb/faq.yaml:" in result.stdout
    assert "added to posture" in result.stdout
    assert "dismissed 1 question" in result.stdout
    assert "2 added, 1 dismissed, 0 skipped, 0 refused" in result.stdout
    after = faq.read_text(encoding="utf-8")
    assert len(after.splitlines()) == len(before.splitlines()) + 2
    assert "      - does yoga help my back\n" in after

    again = run(site, "report", "--kb", "kb", "--data", "data")
    assert again.stdout.splitlines() == ["0 unanswered questions in 0 groups, most frequent first"]

    asked = run(site, "ask", "--kb", "kb", "--json", stdin="does yoga help my back\n")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["topic"] == "stretching"


# The cases below run in-process (same `main`), which keeps this file fast.


def in_process(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    stdin: str = "",
) -> tuple[int, str]:
    monkeypatch.chdir(site)
    monkeypatch.setenv("BACKPAIN_BOT_SECRET", "test")
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    return code, capsys.readouterr().out


def test_refused_change_is_explained_and_changes_nothing(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = Storage.open(site / "data", env={"BACKPAIN_BOT_SECRET": "test"})
    for user in range(5):  # the most frequent group, so it comes first
        storage.log_unanswered(user, "How do I book an appointment?", None, None, "unknown", NOW)
    storage.close()
    faq = site / "kb" / "faq.yaml"
    before = faq.read_bytes()
    # The group is a `booking` question: choosing `posture` for it must be refused.
    args = ("report", "--kb", "kb", "--data", "data")
    code, out = in_process(site, monkeypatch, capsys, *args, "--apply", stdin="c posture\nq\n")
    assert code == 1
    assert "not added" in out
    assert "the same question is also under" in out
    assert "kb/faq.yaml:" in out
    assert faq.read_bytes() == before
    code, out = in_process(site, monkeypatch, capsys, *args)
    assert "5 times" in out


def test_odd_answers_are_asked_again_and_end_of_input_quits(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("report", "--kb", "kb", "--data", "data", "--apply")
    code, out = in_process(site, monkeypatch, capsys, *args, stdin="x\n\nc\n7\nnope\n")
    assert code == 0
    assert "please answer a, c, d, s or q" in out
    assert "no topic `7`" in out
    assert "no topic `nope`" in out
    assert "0 added, 0 dismissed, 1 skipped, 0 refused" in out


def test_no_database_yet_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "knowledge", tmp_path / "kb")
    code, out = in_process(tmp_path, monkeypatch, capsys, "report", "--kb", "kb", "--data", "d")
    assert code == 0
    assert "no database" in out
    assert not (tmp_path / "d").exists()


def test_help_documents_the_answers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    for answer in "acdsq":
        assert f"\n  {answer}  " in out
    assert "one per line on standard input" in out
