"""config.example.yaml documents every setting in bot/config.py, and loading fails clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from bot.config import (
    API_BASE_URL_ENV,
    TOKEN_ENV,
    ConfigError,
    Settings,
    load_settings,
    require_token,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.yaml"
VALID_TOKEN = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"

Key = tuple[str, ...]
MISSING = object()


def code_settings(model: type[BaseModel], prefix: Key = ()) -> dict[Key, Any]:
    """Every leaf setting of ``model`` (recursing into sections) with its default, as JSON."""
    defaults = model().model_dump(mode="json")
    leaves: dict[Key, Any] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            leaves.update(code_settings(annotation, (*prefix, name)))
        else:
            leaves[(*prefix, name)] = defaults[name]
    return leaves


def example_nodes() -> dict[Key, yaml.Node]:
    """Every leaf key of config.example.yaml with its YAML value node."""
    root = yaml.compose(EXAMPLE.read_text(encoding="utf-8"))
    assert root is not None, "config.example.yaml is empty"
    leaves: dict[Key, yaml.Node] = {}

    def walk(node: yaml.Node, prefix: Key) -> None:
        assert isinstance(node, yaml.MappingNode), f"{'.'.join(prefix)} must be a mapping"
        for key, value in node.value:
            if isinstance(value, yaml.MappingNode):
                walk(value, (*prefix, key.value))
            else:
                leaves[(*prefix, key.value)] = value

    walk(root, ())
    return leaves


def key_lines(text: str) -> dict[Key, int]:
    """The 0-based line of every key (sections included) in the example."""
    root = yaml.compose(text)
    assert root is not None, "config.example.yaml is empty"
    lines: dict[Key, int] = {}

    def walk(node: yaml.Node, prefix: Key) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*prefix, key.value)] = key.start_mark.line
                walk(value, (*prefix, key.value))

    walk(root, ())
    return lines


def comment_above(lines: list[str], line: int) -> list[str]:
    """The ``##`` comment lines directly above ``line``, without the ``##``."""
    block: list[str] = []
    index = line - 1
    while index >= 0 and lines[index].strip().startswith("##"):
        block.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return block


def dotted(key: Key) -> str:
    return ".".join(key)


def test_every_setting_in_code_is_in_the_example_and_back() -> None:
    in_code = code_settings(Settings)
    in_example = example_nodes()
    missing = sorted(dotted(key) for key in in_code.keys() - in_example.keys())
    unknown = sorted(dotted(key) for key in in_example.keys() - in_code.keys())
    hint = "\n".join(f"  {key}: {in_code[tuple(key.split('.'))]!r}" for key in missing)
    assert not missing, (
        "settings in bot/config.py missing from config.example.yaml "
        f"(add them with a ## comment and their default):\n{hint}"
    )
    assert not unknown, f"config.example.yaml has keys bot/config.py does not know: {unknown}"


def test_example_values_are_the_code_defaults() -> None:
    in_code = code_settings(Settings)
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for key, default in in_code.items():
        value: Any = example
        for part in key:
            value = value.get(part, MISSING) if isinstance(value, dict) else MISSING
        if value is MISSING:
            continue  # reported by test_every_setting_in_code_is_in_the_example_and_back
        assert value == default, (
            f"config.example.yaml: {dotted(key)} is {value!r} but the default in "
            f"bot/config.py is {default!r}; the example must show the defaults"
        )


def test_every_key_has_a_comment_whose_default_matches_the_code() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    in_code = code_settings(Settings)
    for key, line in key_lines(text).items():
        block = comment_above(lines, line)
        if key not in in_code:
            continue  # a section such as telegram: may be explained by its keys' comments
        explanation = [entry for entry in block if entry and not entry.startswith("Default:")]
        assert explanation, f"config.example.yaml: {dotted(key)} needs a ## line explaining it"
        stated = [entry for entry in block if entry.startswith("Default:")]
        assert len(stated) == 1, f"config.example.yaml: {dotted(key)} needs one '## Default:' line"
        shown = yaml.safe_load(stated[0].removeprefix("Default:").strip())
        assert shown == in_code[key], (
            f"config.example.yaml: the comment says {dotted(key)} defaults to {shown!r}, "
            f"but bot/config.py says {in_code[key]!r}"
        )


def test_example_loads_and_equals_the_defaults() -> None:
    settings = load_settings(EXAMPLE, env={})
    # Folders in a config file are relative to that file's folder.
    assert settings.knowledge_dir == ROOT / "knowledge"
    assert settings.data_dir == ROOT / "data"
    relative = settings.model_copy(
        update={"knowledge_dir": Path("knowledge"), "data_dir": Path("data")}
    )
    assert relative == Settings()
    assert relative == load_settings(None, env={})


def test_token_in_the_example_is_empty_and_points_at_the_environment() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    positions = key_lines(text)
    token_comment = " ".join(comment_above(lines, positions[("telegram", "token")]))
    base_comment = " ".join(comment_above(lines, positions[("telegram", "api_base_url")]))
    assert TOKEN_ENV in token_comment
    assert API_BASE_URL_ENV in base_comment
    assert load_settings(EXAMPLE, env={}).telegram.token == ""


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "telegram:\n  token: '111111111:from-the-file-aaaaaaaaaaaaaaaaaaaaaaa'\n"
        "  api_base_url: http://file.invalid/bot\n",
        encoding="utf-8",
    )
    env = {TOKEN_ENV: VALID_TOKEN, API_BASE_URL_ENV: "http://127.0.0.1:8081/bot"}
    settings = load_settings(config, env=env)
    assert settings.telegram.token == VALID_TOKEN
    assert settings.telegram.api_base_url == "http://127.0.0.1:8081/bot"
    assert require_token(settings) == VALID_TOKEN


def test_environment_alone_needs_no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, VALID_TOKEN)
    monkeypatch.delenv(API_BASE_URL_ENV, raising=False)
    settings = load_settings(None)
    assert require_token(settings) == VALID_TOKEN
    assert settings.telegram.api_base_url == Settings().telegram.api_base_url


def test_an_empty_environment_variable_does_not_blank_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"telegram:\n  token: '{VALID_TOKEN}'\n", encoding="utf-8")
    settings = load_settings(config, env={TOKEN_ENV: ""})
    assert settings.telegram.token == VALID_TOKEN


def test_missing_token_names_the_environment_variable() -> None:
    with pytest.raises(ConfigError, match=TOKEN_ENV):
        require_token(load_settings(None, env={}))


@pytest.mark.parametrize(
    "token",
    ["abc", "987654321", "987654321:short", "bot987654321:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"],
)
def test_malformed_token_names_the_environment_variable(token: str) -> None:
    with pytest.raises(ConfigError, match="malformed") as caught:
        require_token(load_settings(None, env={TOKEN_ENV: token}))
    assert TOKEN_ENV in str(caught.value)
    assert token not in str(caught.value), "the token must not be echoed into logs"


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("telegram:\n  tokn: x\n", "telegram.tokn"),
        ("privacy:\n  retention_days: ninety\n", "privacy.retention_days"),
        ("privacy:\n  retention_days: 0\n", "privacy.retention_days"),
        ("matching:\n  answer_score: 150\n", "matching.answer_score"),
        ("clinic:\n  fax: '555'\n", "clinic.fax"),
        ("telegram:\n  admin_ids: [alice]\n", "telegram.admin_ids"),
        ("data_dir: a\ndata_dir: b\n", "data_dir"),
    ],
)
def test_bad_setting_is_named(tmp_path: Path, content: str, names: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert names in str(caught.value)
    assert str(config) in str(caught.value)


@pytest.mark.parametrize(
    "content",
    ["telegram:\n  token: [\n", "- just\n- a list\n", "just some text\n"],
    ids=["syntax-error", "list", "scalar"],
)
def test_unusable_config_file_is_a_config_error_naming_the_file(
    tmp_path: Path, content: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert str(config) in str(caught.value)


def test_an_empty_config_file_means_all_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("# nothing set yet\n", encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.clinic.emergency_number == "911"
    assert settings.data_dir == tmp_path / "data"


@pytest.mark.parametrize("name", ["missing.yaml", "a-folder"])
def test_unreadable_config_file_is_a_config_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "a-folder").mkdir()
    with pytest.raises(ConfigError, match="cannot be read") as caught:
        load_settings(tmp_path / name, env={})
    assert name in str(caught.value)
