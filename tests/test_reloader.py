"""Automatic knowledge reload: settles before reading, keeps the old knowledge on failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.knowledge import load_knowledge
from bot.reloader import KnowledgeReloader

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, target)
    return target


def touch(path: Path, text: str, tick: int) -> None:
    path.write_text(text, encoding="utf-8")
    # Filesystems may keep coarse timestamps; set them explicitly so each edit is visible.
    stamp = 1_900_000_000_000_000_000 + tick * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def make(kb_dir: Path) -> KnowledgeReloader:
    return KnowledgeReloader(kb_dir, lambda: load_knowledge(kb_dir), load_knowledge(kb_dir), 1.0)


def test_nothing_changed_means_nothing_to_do(kb_dir: Path) -> None:
    reloader = make(kb_dir)
    assert reloader.poll(0.0) is None
    assert reloader.poll(10.0) is None


def test_an_edit_is_loaded_once_it_has_settled(kb_dir: Path) -> None:
    reloader = make(kb_dir)
    faq = kb_dir / "faq.yaml"
    text = faq.read_text(encoding="utf-8")
    touch(faq, text.replace("title: Sciatica\n", "title: Sciatica (leg pain)\n"), 1)
    assert reloader.poll(100.0) is None, "first sight of a change only starts the clock"
    assert reloader.poll(100.5) is None, "not settled yet"
    outcome = reloader.poll(101.2)
    assert outcome is not None
    assert outcome.ok
    assert reloader.current.topic("sciatica").title == "Sciatica (leg pain)"
    assert reloader.poll(102.0) is None


def test_half_written_file_keeps_old_knowledge_then_recovers(kb_dir: Path) -> None:
    reloader = make(kb_dir)
    old = reloader.current
    faq = kb_dir / "faq.yaml"
    text = faq.read_text(encoding="utf-8")
    touch(faq, text[: len(text) // 2], 1)  # the editor's first write, cut mid-way
    reloader.poll(0.0)
    outcome = reloader.poll(2.0)
    assert outcome is not None
    assert not outcome.ok
    assert outcome.problems
    assert all("faq.yaml" in p.file for p in outcome.problems if p.severity == "error")
    assert reloader.current is old, "the last good knowledge keeps serving"
    assert reloader.poll(3.0) is None, "a broken state is reported once, not every poll"
    touch(faq, text.replace("title: Sciatica\n", "title: Sciatica!\n"), 2)
    reloader.poll(4.0)
    outcome = reloader.poll(5.5)
    assert outcome is not None
    assert outcome.ok
    assert reloader.current.topic("sciatica").title == "Sciatica!"


def test_changes_during_settling_restart_the_clock(kb_dir: Path) -> None:
    reloader = make(kb_dir)
    faq = kb_dir / "faq.yaml"
    text = faq.read_text(encoding="utf-8")
    touch(faq, text, 1)
    reloader.poll(0.0)
    touch(faq, text, 2)
    assert reloader.poll(0.9) is None
    assert reloader.poll(1.5) is None, "the second edit started a new settling period"
    assert reloader.poll(2.0) is not None


def test_manual_reload_reports_problems_and_keeps_serving(kb_dir: Path) -> None:
    reloader = make(kb_dir)
    old = reloader.current
    (kb_dir / "synonyms.yaml").write_text("version: 1\nsynonyms: nope\n", encoding="utf-8")
    outcome = reloader.reload()
    assert not outcome.ok
    assert any(
        p.file.endswith("synonyms.yaml") and p.line == 2 and "must be a list" in p.message
        for p in outcome.problems
    )
    assert reloader.current is old


def test_adopted_knowledge_is_not_reloaded_again(kb_dir: Path) -> None:
    reloader = make(kb_dir)
    faq = kb_dir / "faq.yaml"
    touch(faq, faq.read_text(encoding="utf-8") + "\n", 1)  # the bot itself wrote this edit
    edited = load_knowledge(kb_dir)
    reloader.adopt(edited)
    assert reloader.current is edited
    assert reloader.poll(0.0) is None
    assert reloader.poll(5.0) is None, "an adopted edit is not a change to announce"


def test_an_examples_edit_reloads_and_a_mistake_in_it_keeps_serving(kb_dir: Path) -> None:
    """examples.yaml is knowledge like the rest: a typo in a topic id is reported with its
    line while the old knowledge answers; the fixed file changes what the bot learned."""
    reloader = make(kb_dir)
    message = "how do I build up my back so it feels less wobbly when I lift my kids"
    assert reloader.current.matcher.decide(message).topic_id == "strengthening"
    examples = kb_dir / "examples.yaml"
    text = examples.read_text(encoding="utf-8")
    touch(examples, text.replace("\n  strengthening:\n", "\n  strengthenin:\n", 1), 1)
    assert reloader.poll(100.0) is None
    broken = reloader.poll(101.5)
    assert broken is not None
    assert not broken.ok
    hint = "did you mean `strengthening`?"
    assert any(
        p.file.endswith("examples.yaml") and p.line > 0 and p.hint == hint for p in broken.problems
    ), broken.problems
    assert reloader.current.matcher.decide(message).topic_id == "strengthening"
    # Without strengthening's examples the same message goes to its neighbour.
    lines = text.split("\n")
    start = lines.index("  strengthening:")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    - "))
    touch(examples, "\n".join(lines[:start] + lines[end:]), 2)
    assert reloader.poll(200.0) is None
    fixed = reloader.poll(201.5)
    assert fixed is not None
    assert fixed.ok
    assert reloader.current.matcher.decide(message).topic_id != "strengthening"
