"""Property test: `backpain-bot check` on mutated knowledge files exits 0 or 1, never crashes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import cmd_check
from bot.schema import FILE_MODELS, OPTIONAL_FILE_MODELS

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
FILES = tuple(sorted({**FILE_MODELS, **OPTIONAL_FILE_MODELS}))

# One mutation: (kind, position as a fraction of the file, payload).
mutation = st.tuples(
    st.sampled_from(["delete-line", "duplicate-line", "insert", "truncate", "indent", "dedent"]),
    st.floats(min_value=0, max_value=1),
    st.text(
        alphabet=st.sampled_from([*":-[]{}&*!|>#'\"\t\n ?%@`,", "é", "💥", "\x00", "a"]),
        max_size=8,
    ),
)


def mutate(text: str, mutations: list[tuple[str, float, str]]) -> str:
    for kind, where, payload in mutations:
        lines = text.splitlines(keepends=True) or [""]
        i = min(int(where * len(lines)), len(lines) - 1)
        if kind == "delete-line":
            del lines[i]
        elif kind == "duplicate-line":
            lines.insert(i, lines[i])
        elif kind == "insert":
            line = lines[i]
            cut = int(where * len(line))
            lines[i] = line[:cut] + payload + line[cut:]
        elif kind == "truncate":
            lines = lines[:i]
        elif kind == "indent":
            lines[i] = "  " + lines[i]
        elif kind == "dedent":
            lines[i] = lines[i].lstrip()
        text = "".join(lines)
    return text


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fuzz") / "kb"
    shutil.copytree(KNOWLEDGE, target)
    return target


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(filename=st.sampled_from(FILES), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_check_never_crashes_on_mutated_files(
    kb_dir: Path, filename: str, mutations: list[tuple[str, float, str]]
) -> None:
    original = (KNOWLEDGE / filename).read_text(encoding="utf-8")
    (kb_dir / filename).write_text(mutate(original, mutations), encoding="utf-8")
    out = io.StringIO()
    try:
        code = cmd_check(kb_dir, out)
    finally:
        (kb_dir / filename).write_text(original, encoding="utf-8")
    lines = out.getvalue().splitlines()
    assert code in (0, 1)
    assert lines, "check must always say something"
    assert lines[-1].endswith("valid"), lines[-1]
    if code == 1:
        assert any(line.startswith(str(kb_dir)) for line in lines[:-1]), lines
