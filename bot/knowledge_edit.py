"""Add a phrasing to a topic in faq.yaml by inserting one line; validate, then swap atomically."""

from __future__ import annotations

import codecs
import contextlib
import copy
import dataclasses
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from bot.config import ClinicSettings, MatchingSettings
from bot.knowledge import I18N_DIR, KnowledgeBase, load_knowledge, normalise_question
from bot.problems import KnowledgeError, Problem
from bot.schema import FILE_MODELS, OPTIONAL_FILE_MODELS
from bot.yamlfile import StrictSafeLoader, parse_yaml

FAQ_FILE: Final = "faq.yaml"
# Matches the schema's limit for one phrasing; checked early for a clearer message.
MAX_PHRASING_CHARS: Final = 500


@dataclass(frozen=True)
class AddedPhrasing:
    """The outcome of :func:`add_phrasing`."""

    topic_id: str
    phrasing: str
    changed: bool  # False when the topic already had this question
    line: int  # 1-based line of faq.yaml written; 0 when nothing was written
    # The validated knowledge as it now is on disk, ready to swap in without another load.
    knowledge: KnowledgeBase
    # Whether the bot now answers the phrasing with the topic (it may still only suggest it
    # when another topic scores close).
    answers: bool


def add_phrasing(
    kb_dir: Path,
    topic_id: str,
    phrasing: str,
    *,
    clinic: ClinicSettings | None = None,
    matching: MatchingSettings | None = None,
    allow_new_warnings: bool = False,
) -> AddedPhrasing:
    """Append ``phrasing`` to the ``questions`` of ``topic_id`` in ``kb_dir/faq.yaml``.

    Only one line is inserted (or one item added to a ``[flow, list]``); every other byte,
    comment and blank line stays as the admins wrote it. The result is validated with the
    whole knowledge folder on a temporary copy before ``faq.yaml`` is replaced atomically, so
    a running bot never reads a half-written file.

    Raises :class:`KnowledgeError` and leaves the file untouched when the change would not
    validate, and also, unless ``allow_new_warnings``, when it adds lint warnings: a phrasing
    that is (nearly) another topic's question, or that the matcher gives to another topic,
    makes the bot less sure of both topics, which is the opposite of what was asked for.
    """
    text = " ".join(phrasing.split())  # a phrasing is one line of ordinary spaces
    faq_path = kb_dir / FAQ_FILE
    name = _display_name(faq_path)
    if not text:
        raise KnowledgeError([Problem(name, 0, "", "the phrasing is empty", "write a question")])
    if len(text) > MAX_PHRASING_CHARS:
        raise KnowledgeError(
            [
                Problem(
                    name,
                    0,
                    "",
                    f"the phrasing is {len(text)} characters, over the limit of "
                    f"{MAX_PHRASING_CHARS}",
                    "shorten it to the question itself",
                )
            ]
        )
    with _locked(kb_dir):
        before = load_knowledge(kb_dir, clinic, matching)
        if topic_id not in before.topics_by_id:
            raise KnowledgeError(
                [
                    Problem(
                        name,
                        0,
                        "",
                        f"there is no topic `{topic_id}`",
                        "choose one of: " + ", ".join(before.topics_by_id),
                    )
                ]
            )
        key = normalise_question(text)
        if any(normalise_question(q) == key for q in before.topic(topic_id).questions):
            return AddedPhrasing(
                topic_id, text, False, 0, before, _answers(before, topic_id, text)
            )
        real = faq_path.resolve()  # replace the file a symlink points to, not the link
        raw = real.read_bytes()
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        source = raw[len(bom) :].decode("utf-8")
        new_source, line = insert_phrasing(source, topic_id, text, name)
        new_raw = bom + new_source.encode("utf-8")
        after = _validate(kb_dir, new_raw, clinic, matching)
        added = _new_warnings(before, after)
        if added and not allow_new_warnings:
            # Blocking this change makes them errors for whoever asked for it.
            raise KnowledgeError(dataclasses.replace(p, severity="error") for p in added)
        _replace(real, raw, new_raw, name)
    return AddedPhrasing(topic_id, text, True, line, after, _answers(after, topic_id, text))


def insert_phrasing(
    source: str, topic_id: str, phrasing: str, name: str = FAQ_FILE
) -> tuple[str, int]:
    """``source`` with ``phrasing`` appended to the topic's questions, and the 1-based line.

    Raises :class:`KnowledgeError` if the topic or its ``questions`` list cannot be found, or
    if the insertion would change anything else (checked by parsing the result).
    """
    loader = StrictSafeLoader(source)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError:
        raise KnowledgeError(
            [Problem(name, 0, "", "is not valid YAML", "run `backpain-bot check`")]
        ) from None
    finally:
        loader.dispose()
    questions = _questions_node(root, topic_id)
    if questions is None:
        raise KnowledgeError(
            [
                Problem(
                    name,
                    0,
                    "",
                    f"cannot find the `questions` list of topic `{topic_id}`",
                    "check the topic has `questions:` with at least one question",
                )
            ]
        )
    newline = "\r\n" if "\r\n" in source else "\n"
    if questions.flow_style:
        # `questions: [a, b]`: add `, new` right after the last item, inside the brackets.
        scalar = _scalar(phrasing, flow=True)
        if questions.value:
            pos = questions.value[-1].end_mark.index
            insert = ", " + scalar
        else:
            pos = questions.end_mark.index - 1  # before the closing bracket
            insert = scalar
        line = source.count("\n", 0, pos) + 1
    else:
        # Block list: a new `- item` line under the last item, at the same indentation, after
        # any comment on the last item's line so that comment stays where it was.
        last = questions.value[-1]
        if last.end_mark.column == 0:
            pos = last.end_mark.index  # a block scalar ends at the start of the next line
        else:
            end = source.find("\n", last.end_mark.index)
            pos = len(source) if end < 0 else end + 1
        indent = " " * questions.start_mark.column
        insert = f"{indent}- {_scalar(phrasing, flow=False)}{newline}"
        if pos == len(source) and source and not source.endswith("\n"):
            insert = newline + insert.removesuffix(newline)  # the file still ends unterminated
        line = source.count("\n", 0, pos) + 1 + insert.startswith(newline)
    result = source[:pos] + insert + source[pos:]
    _check_only_appended(source, result, topic_id, phrasing, name)
    return result, line


def _questions_node(root: yaml.Node | None, topic_id: str) -> yaml.SequenceNode | None:
    topics = _value(root, "topics")
    if not isinstance(topics, yaml.SequenceNode):
        return None
    for topic in topics.value:
        id_node = _value(topic, "id")
        if isinstance(id_node, yaml.ScalarNode) and id_node.value == topic_id:
            questions = _value(topic, "questions")
            return questions if isinstance(questions, yaml.SequenceNode) else None
    return None


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node if isinstance(value_node, yaml.Node) else None
    return None


def _scalar(text: str, *, flow: bool) -> str:
    """``text`` as YAML the way PyYAML would write it: plain when safe, quoted otherwise."""
    dumped = yaml.safe_dump(
        [text], default_flow_style=flow, allow_unicode=True, width=1_000_000
    ).rstrip("\n")
    inner = dumped[1:-1] if flow else dumped[2:]
    return inner if "\n" not in inner else _double_quoted(text)


def _double_quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def _check_only_appended(old: str, new: str, topic_id: str, phrasing: str, name: str) -> None:
    """The proof that the insertion did what it says: the data differ by one list item."""
    try:
        expected: Any = copy.deepcopy(parse_yaml(old, name).data)
        got = parse_yaml(new, name).data
    except KnowledgeError:
        got, expected = None, True
    else:
        for topic in expected["topics"]:
            if isinstance(topic, dict) and topic.get("id") == topic_id:
                topic["questions"].append(phrasing)
                break
    if got != expected:
        raise KnowledgeError(
            [
                Problem(
                    name,
                    0,
                    "",
                    f"could not add the phrasing to `{topic_id}` without changing other lines",
                    "add it by hand under the topic's `questions:`",
                )
            ]
        )


def _validate(
    kb_dir: Path,
    faq: bytes,
    clinic: ClinicSettings | None,
    matching: MatchingSettings | None,
) -> KnowledgeBase:
    """Load the whole knowledge folder with the new faq.yaml, in a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="backpain-kb-") as tmp:
        copy_dir = Path(tmp)
        for filename in (*FILE_MODELS, *OPTIONAL_FILE_MODELS):
            if (kb_dir / filename).exists():
                shutil.copyfile(kb_dir / filename, copy_dir / filename)
        if (kb_dir / I18N_DIR).is_dir():
            # Translations are checked against the English topics, so they come along.
            shutil.copytree(kb_dir / I18N_DIR, copy_dir / I18N_DIR)
        (copy_dir / FAQ_FILE).write_bytes(faq)
        try:
            kb = load_knowledge(copy_dir, clinic, matching)
        except KnowledgeError as exc:
            raise KnowledgeError(_renamed(exc.problems, kb_dir)) from None
    return dataclasses.replace(kb, directory=kb_dir, warnings=_renamed(kb.warnings, kb_dir))


def _renamed(problems: tuple[Problem, ...], kb_dir: Path) -> tuple[Problem, ...]:
    """Problems found in the temporary copy, named after the real files."""
    return tuple(
        dataclasses.replace(p, file=_display_name(kb_dir / _inside(p.file))) for p in problems
    )


def _inside(file: str) -> Path:
    """``faq.yaml``, or ``i18n/es/faq.yaml`` for a translation, from a problem's file name."""
    path = Path(file)
    return Path(*path.parts[-3:]) if path.parent.parent.name == I18N_DIR else Path(path.name)


def _new_warnings(before: KnowledgeBase, after: KnowledgeBase) -> list[Problem]:
    # Lines move when a line is inserted, and counts in messages change ("only 5 questions"),
    # so a warning is identified by its file, place and kind of fix; appending keeps the
    # index paths of every existing question.
    def key(p: Problem) -> tuple[str, str, str]:
        return (Path(p.file).name, p.path, p.hint)

    seen = {key(p) for p in before.warnings}
    return [p for p in after.warnings if key(p) not in seen]


def _answers(kb: KnowledgeBase, topic_id: str, text: str) -> bool:
    return kb.matcher.decide(text).topic_id == topic_id


def _replace(real: Path, old: bytes, new: bytes, name: str) -> None:
    """Write ``new`` next to ``real`` and rename it over, unless the file changed meanwhile."""
    fd, tmp_name = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(real.stat().st_mode))
        # An admin's editor may have saved in the meantime; never overwrite their work.
        if real.read_bytes() != old:
            raise KnowledgeError(
                [
                    Problem(
                        name,
                        0,
                        "",
                        "the file was changed while the phrasing was being added",
                        "try again",
                    )
                ]
            )
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # durability of the rename; not all filesystems allow it
        dir_fd = os.open(real.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def _locked(kb_dir: Path) -> Iterator[None]:
    """One writer at a time (the Telegram bot and the terminal may both edit)."""
    # Locking the folder itself leaves no lock file among the admins' files.
    fd = os.open(kb_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _display_name(path: Path) -> str:
    """Like the loader names files: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
