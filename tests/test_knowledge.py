"""Loading, validation and lint of the knowledge files, on the shipped base and broken copies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.knowledge import REQUIRED_TOPIC_IDS, load_knowledge
from bot.problems import KnowledgeError
from bot.schema import FILE_MODELS, OPTIONAL_FILE_MODELS, json_schemas, schema_filename

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
BROKEN = Path(__file__).parent / "fixtures" / "broken"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge base."""
    target = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, target)
    return target


def problems_of(kb_dir: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir)
    return [str(p).replace(f"{kb_dir}/", "") for p in caught.value.problems]


# --- the shipped knowledge ---------------------------------------------------------------------


def test_shipped_knowledge_is_valid_and_complete() -> None:
    kb = load_knowledge(KNOWLEDGE)
    ids = [t.id for t in kb.topics]
    assert set(REQUIRED_TOPIC_IDS) <= set(ids)
    assert all(len(t.questions) >= 8 for t in kb.topics), "each topic needs 8+ phrasings"
    assert all(t.related for t in kb.topics), "every answer should lead somewhere"
    # Translations may lag behind (tests/test_languages.py); English must be clean.
    english = [w for w in kb.warnings if "/i18n/" not in w.file]
    assert english == [], "\n".join(map(str, english))


def test_booking_answer_is_filled_from_clinic_settings(kb_copy: Path) -> None:
    from bot.config import ClinicSettings

    clinic = ClinicSettings(
        name="Spine & Co", phone="+44 20 7946 0000", booking_url="https://x.test"
    )
    answer = load_knowledge(kb_copy, clinic).topic("booking").answer
    assert "+44 20 7946 0000" in answer
    assert "{clinic." not in answer


def test_article_topics_name_an_article_section() -> None:
    article = (ROOT / "docs" / "article.txt").read_text(encoding="utf-8")
    headings = {line.strip() for line in article.splitlines() if line.strip()}
    for topic in load_knowledge(KNOWLEDGE).topics:
        assert topic.source == "clinic" or topic.source in headings, (topic.id, topic.source)
        assert (topic.source == "clinic") == (topic.id == "booking"), topic.id


def test_the_article_copy_matches_the_clinic_source() -> None:
    shared = ROOT.parent / "shared" / "source" / "article.txt"
    if not shared.exists():
        pytest.skip("the clinic's shared/ folder is not beside this checkout")
    assert (ROOT / "docs" / "article.txt").read_bytes() == shared.read_bytes()


@pytest.mark.parametrize("filename", sorted({**FILE_MODELS, **OPTIONAL_FILE_MODELS}))
def test_each_file_points_editors_at_its_schema(filename: str) -> None:
    lines = (KNOWLEDGE / filename).read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"# yaml-language-server: $schema=schemas/{schema_filename(filename)}"
    content = [line for line in lines if line.strip() and not line.startswith("#")]
    assert content[0] == "version: 1"


def test_schema_files_are_up_to_date() -> None:
    for name, schema in json_schemas().items():
        on_disk = json.loads((KNOWLEDGE / "schemas" / name).read_text(encoding="utf-8"))
        assert on_disk == schema, f"{name} is stale: run python scripts/generate_schemas.py"


# --- broken copies: one fixture per kind of mistake --------------------------------------------


def _expectations(fixture: Path) -> list[str]:
    lines = fixture.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


@pytest.mark.parametrize("fixture", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_fixture_reports_exact_problem(kb_copy: Path, fixture: Path) -> None:
    target = fixture.name.split(".")[0] + ".yaml"
    shutil.copy(fixture, kb_copy / target)
    reported = problems_of(kb_copy)
    for expected in _expectations(fixture):
        assert expected in reported, "\n".join(["missing: " + expected, "got:", *reported])


def test_every_problem_is_reported_at_once(kb_copy: Path) -> None:
    shutil.copy(BROKEN / "faq.unknown-key.yaml", kb_copy / "faq.yaml")
    shutil.copy(BROKEN / "synonyms.variant-twice.yaml", kb_copy / "synonyms.yaml")
    reported = problems_of(kb_copy)
    files = {line.split(":")[0] for line in reported}
    assert {"faq.yaml", "synonyms.yaml"} <= files


def test_missing_required_topic_is_an_error(kb_copy: Path) -> None:
    text = (kb_copy / "faq.yaml").read_text(encoding="utf-8")
    (kb_copy / "faq.yaml").write_text(text.replace("id: booking", "id: book-now"), "utf-8")
    assert any("the required topic `booking` is missing" in p for p in problems_of(kb_copy))


def test_lint_warns_about_a_question_under_two_topics(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy)
    stolen = kb.topic("sciatica").questions[0]
    text = (kb_copy / "faq.yaml").read_text(encoding="utf-8")
    marker = "  - id: posture\n"
    assert marker in text
    head, tail = text.split(marker, 1)
    questions_at = tail.index("    questions:\n") + len("    questions:\n")
    tail = tail[:questions_at] + f"      - {json.dumps(stolen)}\n" + tail[questions_at:]
    (kb_copy / "faq.yaml").write_text(head + marker + tail, encoding="utf-8")
    warnings = [str(w) for w in load_knowledge(kb_copy).warnings]
    # posture comes first in the file, so sciatica's own copy is the one reported.
    duplicate = "warning: the same question is also under `posture`"
    where = f"topics[{[t.id for t in kb.topics].index('sciatica')}].questions[0]"
    assert any(duplicate in w and where in w for w in warnings), warnings


def _insert_question(kb_dir: Path, topic_id: str, question: str) -> None:
    """Add ``question`` first under ``topic_id`` in a copy's faq.yaml."""
    text = (kb_dir / "faq.yaml").read_text(encoding="utf-8")
    marker = f"  - id: {topic_id}\n"
    head, tail = text.split(marker, 1)
    questions_at = tail.index("    questions:\n") + len("    questions:\n")
    tail = tail[:questions_at] + f"      - {json.dumps(question)}\n" + tail[questions_at:]
    (kb_dir / "faq.yaml").write_text(head + marker + tail, encoding="utf-8")


def test_lint_warns_about_nearly_the_same_question_under_two_topics(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy)
    ids = [t.id for t in kb.topics]
    # A long question with one letter changed, under a topic later in the file than its twin,
    # and a short one under an earlier topic: each is reported on the later of the two.
    long_twin = "my physiotherapist keeps telling me to do the cat camel stretch every morning"
    _insert_question(kb_copy, "stretching", long_twin)
    _insert_question(kb_copy, "booking", long_twin.replace("camel", "camels"))
    warnings = [str(w) for w in load_knowledge(kb_copy).warnings]
    near = [w for w in warnings if "nearly the same question" in w]
    booking = f"topics[{ids.index('booking')}].questions[0]"
    stretching = f"topics[{ids.index('stretching')}].questions[0]"
    later, earlier = (
        (booking, stretching)
        if ids.index("booking") > ids.index("stretching")
        else (
            stretching,
            booking,
        )
    )
    assert any(w.split(": ")[1] == later and earlier in w for w in near), near
    # A clearly different question of the same length is not a near duplicate.
    assert not any("cat camel" in w for w in warnings if "nearly" not in w)
    assert len(near) == 1, near


def test_loading_without_lint_skips_the_advice_but_not_the_errors(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy)
    _insert_question(kb_copy, "posture", kb.topic("sciatica").questions[0])
    assert any("the same question" in str(w) for w in load_knowledge(kb_copy).warnings)
    unlinted = [str(w) for w in load_knowledge(kb_copy, lint=False).warnings]
    assert not any("the same question" in w or "the matcher gives" in w for w in unlinted)
    text = (kb_copy / "faq.yaml").read_text(encoding="utf-8")
    (kb_copy / "faq.yaml").write_text(text.replace("id: booking", "id: book-now"), "utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_copy, lint=False)
    assert any("the required topic `booking` is missing" in str(p) for p in caught.value.errors)


# --- the check command, including hostile input ------------------------------------------------


def run_check(kb_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", "--kb", str(kb_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_check_passes_on_shipped_knowledge(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["check", "--kb", str(KNOWLEDGE)]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "18 topics" in summary
    assert "0 errors; valid" in summary


def test_check_lists_problems_with_file_and_line(kb_copy: Path) -> None:
    shutil.copy(BROKEN / "faq.dangling-related.yaml", kb_copy / "faq.yaml")
    result = run_check(kb_copy)
    assert result.returncode == 1
    assert "faq.yaml:8: topics[0].related[1]: `streching` is not a topic id" in result.stdout
    assert "not valid" in result.stdout.splitlines()[-1]
    assert "Traceback" not in result.stdout + result.stderr


def _bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    return "version: 1\n" + "\n".join(lines) + "\n"


HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "list": b"- 1\n- 2\n",
    "huge": b"version: 1\ntopics:\n" + b"  - id: x\n" * 1_100_000,
    "deep": b"version: 1\nx: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
    "deep-mapping": b"version: 1\n" + b"".join(b" " * i + b"k:\n" for i in range(200)),
    "bomb": _bomb().encode(),
    "nul": b"version: 1\x00\n",
    "tabs": b"version: 1\ntopics:\n\t- id: x\n",
    "scalar": b"just some words\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_check_survives_hostile_files(kb_copy: Path, name: str) -> None:
    (kb_copy / "faq.yaml").write_bytes(HOSTILE[name])
    result = run_check(kb_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert any(line.startswith(f"{kb_copy}/faq.yaml") for line in result.stdout.splitlines()), (
        result.stdout
    )


def test_check_on_a_missing_folder_says_so(tmp_path: Path) -> None:
    result = run_check(tmp_path / "nope")
    assert result.returncode == 1
    assert "no such folder" in result.stdout


# --- YAML tags: refused by name, never constructed ----------------------------------------------

TAGGED: dict[str, tuple[str, str]] = {
    # value written, tag the problem names
    "python-object": ("!!python/object:os.system {}", "!!python/object:os.system"),
    "python-name-key": ("x", "!!python/name:os.system"),
    "binary": ("!!binary aGVsbG8=", "!!binary"),
    "set": ("!!set {a, b}", "!!set"),
    "local": ("!include other.yaml", "!include"),
}


@pytest.mark.parametrize("name", sorted(TAGGED))
def test_yaml_tags_are_refused_by_name_in_knowledge_and_config(tmp_path: Path, name: str) -> None:
    from bot.config import ConfigError, load_settings
    from bot.yamlfile import parse_yaml

    value, tag = TAGGED[name]
    key = f"{tag} key" if name.endswith("-key") else "key"
    text = f"version: 1\n{key}: {value}\n"
    with pytest.raises(KnowledgeError) as caught:
        parse_yaml(text, "faq.yaml")
    [problem] = caught.value.problems
    assert str(problem).startswith("faq.yaml:2:"), problem
    assert f"unsupported YAML tag `{tag}` (remove the tag;" in str(problem)
    # The config goes through the same reader: a clear ConfigError, not a traceback.
    config = tmp_path / "config.yaml"
    config.write_text(f"telegram:\n  {key}: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, env={})
    assert f"{config}:2:" in str(refused.value)
    assert f"unsupported YAML tag `{tag}`" in str(refused.value)


def _red_flags_warning(kb_dir: Path, old: str, new: str, added: str, says: str) -> str:
    """Replace ``old`` with ``new`` in a copy's red_flags.yaml; the lint warning that ``says``
    it, checked to name the line of ``added``."""
    path = kb_dir / "red_flags.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    line = text[: text.index(added)].count("\n") + 1
    warnings = [str(w) for w in load_knowledge(kb_dir).warnings]
    hits = [w for w in warnings if says in w]
    assert hits, warnings
    assert hits[0].startswith(f"{kb_dir}/red_flags.yaml:{line}:"), hits
    return hits[0]


def test_lint_warns_about_a_red_flag_phrase_that_shrinks_to_one_common_word(
    kb_copy: Path,
) -> None:
    # "mine" is filler, so "not mine" would be read as a bare "not": any denial next to a leg
    # word ("my legs are not sore") would be leg weakness.
    marker = "          - [leg, legs, feet, foot, thigh, thighs, knees]\n          - [weak,"
    new = marker.replace("- [weak,", "- [not mine, weak,")
    _red_flags_warning(kb_copy, marker, new, "not mine", "`not mine` is read as just `not`")
    unlinted = [str(w) for w in load_knowledge(kb_copy, lint=False).warnings]
    assert not any("is read as just" in w for w in unlinted)  # a lint: only for admins


def test_lint_warns_about_a_time_word_read_as_one_word(kb_copy: Path) -> None:
    # "at" is filler, so "at school" was read as `school`: "doing the school run when a van
    # went into the back of us" was set aside as a fall long ago.
    marker = "as a teenager, when i was at school,"
    new = "as a teenager, at school, when i was at school,"
    says = "`at school` is read as just `school`"
    warning = _red_flags_warning(kb_copy, marker, new, "at school, when", says)
    assert "time.distant[" in warning
    assert "when i was at school" in warning


def test_lint_warns_about_an_all_clear_that_synonyms_rewrite(kb_copy: Path) -> None:
    marker = "      - use hot or cold\n"
    new = "      - heat or ice\n" + marker
    says = "`heat or ice` is read as `pain relief`"
    _red_flags_warning(kb_copy, marker, new, "heat or ice", says)


def test_lint_warns_about_a_red_flag_phrase_listed_twice(kb_copy: Path) -> None:
    # 45 phrases and all-clears had piled up twice in the shipped file: clutter an admin
    # scrolls past, and an edit made to one copy but not the other. Case and spacing aside,
    # the second copy is the one reported, with the line of the first.
    text = (kb_copy / "red_flags.yaml").read_text(encoding="utf-8")
    old = "      - night sweats\n"
    first = text[: text.index(old)].count("\n") + 1
    says = f"`Night  Sweats` is already listed at line {first} of this category's phrases"
    _red_flags_warning(kb_copy, old, old + "      - Night  Sweats\n", "Night  Sweats", says)
