"""Adding a phrasing to faq.yaml: one line inserted, the rest byte-for-byte, refusals untouched."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge import load_knowledge
from bot.knowledge_edit import add_phrasing, insert_phrasing
from bot.problems import KnowledgeError
from bot.yamlfile import parse_yaml

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


def _restyle(text: str) -> str:
    """The shipped faq.yaml, written the ways admins really write YAML."""
    # `sciatica` as one flow list, with a comment after it and extra spaces inside.
    block = re.search(r"(  - id: sciatica\n(?:.*\n)*?    questions:\n)((?:      - .*\n)+)", text)
    assert block
    items = [line[len("      - ") :] for line in block.group(2).splitlines()]
    flow = "    questions: [ " + ", ".join(json.dumps(q) for q in items) + " ]  # one line\n"
    text = text.replace(block.group(0), block.group(1)[: -len("    questions:\n")] + flow)
    # `booking`: dashes at the key's own indentation, a trailing comment, a commented-out
    # question and a blank line after the list.
    booking = re.search(r"(  - id: booking\n(?:.*\n)*?    questions:\n)((?:      - .*\n)+)", text)
    assert booking
    lines = [line[2:] for line in booking.group(2).splitlines(keepends=True)]
    lines[-1] = lines[-1].rstrip("\n") + "   # most asked\n"
    lines.append("    # - can I book by email?   (not yet)\n\n")
    text = text.replace(booking.group(0), booking.group(1) + "".join(lines))
    # `stretching`: the last question folded over two lines (a multi-line plain scalar).
    stretch = re.search(r"  - id: stretching\n(?:.*\n)*?((?:      - .*\n)+)    answer:", text)
    assert stretch
    last = stretch.group(1).splitlines(keepends=True)[-1]
    folded = last.replace(" and back pain,", " and back pain,\n        ", 1)
    assert folded != last
    return text.replace(last, folded, 1)


@pytest.fixture(scope="module")
def restyled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("restyled") / "kb"
    shutil.copytree(KNOWLEDGE, target)
    faq = target / "faq.yaml"
    faq.write_text(_restyle(faq.read_text(encoding="utf-8")), encoding="utf-8")
    load_knowledge(target)  # the restyled copy is valid, so the tests start from a good base
    return target


@pytest.fixture
def kb_dir(restyled: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(restyled, tmp_path / "kb"))


def _only_inserted(old: bytes, new: bytes, line: int) -> None:
    """``new`` is ``old`` with one line inserted at ``line`` (1-based), byte for byte."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(new_lines) == len(old_lines) + 1
    assert new_lines[: line - 1] + new_lines[line:] == old_lines


def _questions(kb_dir: Path, topic_id: str) -> list[str]:
    return list(load_knowledge(kb_dir).topic(topic_id).questions)


@pytest.mark.parametrize("topic", ["booking", "stretching", "does-pt-work"])
def test_block_list_gets_one_line_and_nothing_else_changes(kb_dir: Path, topic: str) -> None:
    faq = kb_dir / "faq.yaml"
    before = faq.read_bytes()
    added = add_phrasing(kb_dir, topic, "  can my   partner come along?\n")
    assert added.changed
    assert added.phrasing == "can my partner come along?"
    after = faq.read_bytes()
    _only_inserted(before, after, added.line)
    inserted = after.splitlines()[added.line - 1]
    assert inserted.strip() == b"- can my partner come along?"
    assert _questions(kb_dir, topic)[-1] == "can my partner come along?"
    assert added.knowledge.topic(topic).questions[-1] == "can my partner come along?"
    assert added.knowledge.directory == kb_dir


def test_booking_keeps_its_indentation_and_comments(kb_dir: Path) -> None:
    added = add_phrasing(kb_dir, "booking", "can I bring my own towel")
    lines = (kb_dir / "faq.yaml").read_text(encoding="utf-8").splitlines()
    # Same indentation as its neighbours (dashes at the key's column), after the trailing
    # comment of the last item and before the commented-out question.
    assert lines[added.line - 1] == "    - can I bring my own towel"
    assert lines[added.line - 2].endswith("   # most asked")
    assert lines[added.line] == "    # - can I book by email?   (not yet)"


def test_flow_list_gets_one_more_item_on_its_line(kb_dir: Path) -> None:
    faq = kb_dir / "faq.yaml"
    before = faq.read_bytes()
    added = add_phrasing(kb_dir, "sciatica", "pain down the leg into my toes, is it sciatica?")
    after = faq.read_bytes()
    old_lines, new_lines = before.splitlines(), after.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert changed == [added.line - 1]
    line = new_lines[added.line - 1].decode()
    assert line.endswith(', "pain down the leg into my toes, is it sciatica?" ]  # one line') or (
        line.endswith(", 'pain down the leg into my toes, is it sciatica?' ]  # one line")
    )
    assert _questions(kb_dir, "sciatica")[-1] == "pain down the leg into my toes, is it sciatica?"


def test_same_phrasing_again_changes_nothing(kb_dir: Path) -> None:
    add_phrasing(kb_dir, "booking", "can I bring my own towel")
    before = (kb_dir / "faq.yaml").read_bytes()
    again = add_phrasing(kb_dir, "booking", "Can I bring my own towel?")
    assert not again.changed
    assert again.line == 0
    assert (kb_dir / "faq.yaml").read_bytes() == before


def _refused(kb_dir: Path, topic: str, phrasing: str) -> KnowledgeError:
    faq = kb_dir / "faq.yaml"
    before, mode, files = faq.read_bytes(), faq.stat().st_mode, sorted(os.listdir(kb_dir))
    with pytest.raises(KnowledgeError) as caught:
        add_phrasing(kb_dir, topic, phrasing)
    assert faq.read_bytes() == before
    assert faq.stat().st_mode == mode
    assert sorted(os.listdir(kb_dir)) == files, "no temporary file may be left behind"
    return caught.value


def test_question_of_another_topic_is_refused_with_the_reason(kb_dir: Path) -> None:
    # A question under two topics splits the matcher between them: refused, not warned.
    error = _refused(kb_dir, "posture", "Does physical therapy really work for back pain?")
    text = "\n".join(str(p) for p in error.problems)
    assert "also under `does-pt-work`" in text
    assert all(p.severity == "error" for p in error.problems)
    assert all(
        p.file.endswith("faq.yaml") and "backpain-kb-" not in p.file for p in error.problems
    )


def test_unknown_topic_empty_and_too_long_are_refused(kb_dir: Path) -> None:
    assert "no topic `yoga`" in str(_refused(kb_dir, "yoga", "does yoga help"))
    assert "empty" in str(_refused(kb_dir, "booking", "  \n "))
    assert "over the limit" in str(_refused(kb_dir, "booking", "why " * 200))


def test_broken_knowledge_is_refused_untouched(kb_dir: Path) -> None:
    (kb_dir / "synonyms.yaml").write_text("version: 1\nsynonyms: [oops\n", encoding="utf-8")
    error = _refused(kb_dir, "booking", "can I bring my own towel")
    assert any(p.file.endswith("synonyms.yaml") for p in error.problems)


def test_permissions_bom_and_crlf_are_kept(kb_dir: Path) -> None:
    faq = kb_dir / "faq.yaml"
    text = faq.read_text(encoding="utf-8").replace("\n", "\r\n")
    faq.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    faq.chmod(0o640)
    before = faq.read_bytes()
    added = add_phrasing(kb_dir, "booking", "can I bring my own towel")
    after = faq.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf")
    _only_inserted(before, after, added.line)
    assert after.splitlines(keepends=True)[added.line - 1].endswith(b"towel\r\n")
    assert faq.stat().st_mode & 0o777 == 0o640


def test_file_is_replaced_never_rewritten_in_place(kb_dir: Path) -> None:
    faq = kb_dir / "faq.yaml"
    with faq.open("rb") as held:  # what a reader that opened the file just before sees
        before = held.read()
        add_phrasing(kb_dir, "booking", "can I bring my own towel")
        held.seek(0)
        assert held.read() == before
    assert faq.read_bytes() != before


def test_concurrent_reader_never_sees_a_broken_file(kb_dir: Path) -> None:
    faq = kb_dir / "faq.yaml"
    original = faq.read_bytes()
    # A truncated or half-written file would lose the end of the file; each whole version
    # has one more question line than the one before.
    tail = original[-300:]
    stop = threading.Event()
    seen: list[int] = []
    failures: list[bytes] = []

    def reader() -> None:
        while not stop.is_set():
            data = faq.read_bytes()  # cheap, so the writer is not starved of the GIL
            if data.endswith(tail):
                seen.append(data.count(b"\n"))
            else:
                failures.append(data[-80:])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for phrasing in ("can I bring my own towel", "is there parking"):
            add_phrasing(kb_dir, "booking", phrasing)
    finally:
        stop.set()
        thread.join()
    assert not failures
    assert len(set(seen)) >= 2
    assert seen == sorted(seen)  # every read was a whole old or a whole new file
    assert set(seen) <= {original.count(b"\n") + n for n in range(3)}
    parse_yaml(faq.read_text(encoding="utf-8"), "faq.yaml")


def test_two_writers_at_once_both_land(kb_dir: Path) -> None:
    errors: list[BaseException] = []

    def write(phrasing: str) -> None:
        try:
            add_phrasing(kb_dir, "booking", phrasing)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(p,))
        for p in ("is there parking", "what are your opening hours")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert {"is there parking", "what are your opening hours"} <= set(
        _questions(kb_dir, "booking")
    )


SMALL = """\
# comment at the top
version: 1
topics:
  - id: a
    questions:
    - first   # why
    - 'second: quoted'
    answer: x
  - id: b
    questions: [one,  "two" ]
  - id: c
    questions:
        - last"""


def test_insert_at_end_of_file_without_newline() -> None:
    result, line = insert_phrasing(SMALL, "c", "new one")
    assert result == SMALL + "\n        - new one"
    assert line == SMALL.count("\n") + 2


@given(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
    ).map(lambda s: " ".join(s.split()))
)
@settings(max_examples=100, deadline=None)
def test_any_text_round_trips_in_block_and_flow_lists(phrasing: str) -> None:
    if not phrasing:
        return
    for topic in ("a", "b", "c"):
        result, _ = insert_phrasing(SMALL, topic, phrasing)
        data = parse_yaml(result, "faq.yaml").data
        questions = next(t["questions"] for t in data["topics"] if t["id"] == topic)
        assert questions[-1] == phrasing
