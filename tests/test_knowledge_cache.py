"""The on-disk knowledge cache: the same base as a fresh load, never stale, never in the way."""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from bot import knowledge_cache
from bot.cli import cmd_ask
from bot.config import ClinicSettings, MatchingSettings
from bot.evaluation import load_cases
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.knowledge_cache import CACHE_ENV, cache_folder, load_knowledge_cached
from bot.problems import KnowledgeError
from tests.matching_fixtures import ROOT, SHIPPED_KB

DEV = ROOT / "tests" / "eval" / "dev.yaml"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SHIPPED_KB, tmp_path / "knowledge"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders actually loaded from their files (not from the cache), in order."""
    seen: list[Path] = []

    def counting(directory: Path, *args: object, **kwargs: object) -> KnowledgeBase:
        seen.append(directory)
        return load_knowledge(directory, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("bot.knowledge_cache.load_knowledge", counting)
    return seen


def _pickles(folder: Path) -> list[Path]:
    return sorted(folder.glob("knowledge-*.pickle"))


def test_a_second_load_comes_from_the_cache_and_decides_the_same(
    kb_copy: Path, folder: Path, loads: list[Path]
) -> None:
    fresh = load_knowledge(kb_copy, lint=False)
    first = load_knowledge_cached(kb_copy, lint=False, folder=folder)
    second = load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert loads == [kb_copy]  # the second one read no knowledge file
    assert len(_pickles(folder)) == 1
    assert second is not first
    assert second.faq == fresh.faq
    assert second.red_flags == fresh.red_flags
    assert second.warnings == fresh.warnings
    assert dict(second.examples) == dict(fresh.examples)
    # Every decision and red-flag reading of a labelled set is the same, to the score.
    for case in load_cases(DEV):
        assert second.matcher.decide(case.text) == fresh.matcher.decide(case.text), case.text
        assert second.red_flags_detector.read(case.text) == fresh.red_flags_detector.read(
            case.text
        )


def test_translations_come_back_linked_and_unbuilt(kb_copy: Path, folder: Path) -> None:
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    kept = load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert kept.languages == ("en", "es")
    spanish = kept.for_language("es")
    assert spanish.for_language("en") is kept  # each language reaches the others
    # Built on its first message, as after a fresh load, and then it answers.
    assert not spanish.index.is_built
    assert spanish.matcher.decide("¿la fisioterapia ayuda con la ciática?").topic_id == "sciatica"


def test_an_edited_file_is_loaded_afresh(kb_copy: Path, folder: Path, loads: list[Path]) -> None:
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    faq = kb_copy / "faq.yaml"
    before = faq.read_text()
    faq.write_text(before.replace("title: Book an appointment", "title: Book a visit", 1))
    assert faq.read_text() != before
    edited = load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert loads == [kb_copy, kb_copy]
    assert edited.topic("booking").title == "Book a visit"


@pytest.mark.parametrize(
    "other",
    [
        {"clinic": ClinicSettings(name="Another clinic")},
        {"matching": MatchingSettings(answer_score=70)},
        {"lint": True},
    ],
    ids=["clinic", "matching", "lint"],
)
def test_other_settings_are_another_load(
    kb_copy: Path, folder: Path, loads: list[Path], other: dict[str, object]
) -> None:
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    kept = load_knowledge_cached(kb_copy, folder=folder, **{"lint": False, **other})  # type: ignore[arg-type]
    assert len(loads) == 2
    if "clinic" in other:
        assert "Another clinic" in kept.messages.messages.greeting


def test_a_broken_base_is_never_kept(kb_copy: Path, folder: Path) -> None:
    (kb_copy / "faq.yaml").write_text("version: 1\ntopics: [\n")
    for _ in range(2):
        with pytest.raises(KnowledgeError):
            load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert not _pickles(folder)


def test_a_corrupt_cache_file_costs_only_a_fresh_load(
    kb_copy: Path, folder: Path, loads: list[Path]
) -> None:
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    [kept] = _pickles(folder)
    kept.write_bytes(kept.read_bytes()[:1000])
    again = load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert len(loads) == 2
    assert again.matcher.decide("does physio help sciatica?").topic_id == "sciatica"
    # Written again whole: the next load is from the cache.
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert len(loads) == 2


@pytest.mark.parametrize("opened", ["file", "folder"])
def test_a_cache_others_may_write_is_not_read(
    kb_copy: Path, folder: Path, loads: list[Path], opened: str
) -> None:
    # Unpickling runs what the file says: a file anyone could have replaced, or put in the
    # folder, is not trusted.
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    [kept] = _pickles(folder)
    (kept if opened == "file" else folder).chmod(0o777)
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert len(loads) == 2


def test_an_unwritable_folder_still_loads(kb_copy: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    kb = load_knowledge_cached(kb_copy, lint=False, folder=blocked / "cache")
    assert kb.matcher.decide("does physio help sciatica?").topic_id == "sciatica"
    assert not list(tmp_path.glob(".writing-*"))
    assert blocked.read_text() == ""


def test_only_the_latest_bases_are_kept(
    kb_copy: Path, folder: Path, loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knowledge_cache, "KEEP", 2)  # fewer loads than the shipped 4
    faq = kb_copy / "faq.yaml"
    for n in range(3):
        faq.write_text(faq.read_text() + f"\n# edit {n}\n")
        load_knowledge_cached(kb_copy, lint=False, folder=folder)
    kept = _pickles(folder)
    assert len(kept) == 2
    assert not list(folder.glob(".writing-*"))
    # The newest stays: the last edit loads from the cache.
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert len(loads) == 3


def test_no_message_people_sent_is_written(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy, lint=False)
    message = "my zorblaxx physiio question about sciatiika"
    # "zorblax": the stem too, which the matcher keeps of the last message it ranked.
    words = [b"zorblax", b"physiio", b"sciatiika"]
    assert not any(w in knowledge_cache.dumps(kb) for w in words)
    # Typos the normaliser corrects and remembers, and the last message the matcher read.
    kb.matcher.decide(message)
    kb.red_flags_detector.read(message)
    assert kb.matcher.normaliser._corrections
    assert kb.matcher._last_stems is not None
    assert kb.matcher._last_gains is not None
    stored = knowledge_cache.dumps(kb)
    assert not [w for w in words if w in stored]


def test_the_folder_comes_from_the_environment(tmp_path: Path) -> None:
    assert cache_folder({CACHE_ENV: str(tmp_path)}) == tmp_path
    assert cache_folder({CACHE_ENV: "off"}) is None
    assert cache_folder({CACHE_ENV: " "}) is None
    assert cache_folder({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "backpain-bot"


def test_ask_reads_the_cache(
    monkeypatch: pytest.MonkeyPatch, folder: Path, loads: list[Path]
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(folder))
    answers = []
    for _ in range(2):
        out, err = io.BytesIO(), io.StringIO()
        assert cmd_ask(SHIPPED_KB, "does physio help sciatica?", True, io.BytesIO(), out, err) == 0
        answers.append(json.loads(out.getvalue()))
    assert answers[0] == answers[1]
    assert answers[0]["topic"] == "sciatica"
    assert loads == [SHIPPED_KB]
    assert oct(os.stat(folder).st_mode & 0o777) == "0o700"


def test_a_new_year_is_a_fresh_load(
    kb_copy: Path, folder: Path, loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The red-flag check reads "in 2019" against the year it was loaded in.
    load_knowledge_cached(kb_copy, lint=False, folder=folder)

    next_year = datetime.date.today().year + 1

    class NextYear(datetime.date):
        @classmethod
        def today(cls) -> NextYear:
            return cls(next_year, 1, 1)

    monkeypatch.setattr("datetime.date", NextYear)
    load_knowledge_cached(kb_copy, lint=False, folder=folder)
    assert len(loads) == 2
