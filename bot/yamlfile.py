"""Read one YAML file safely, keeping the line of every node so problems can name it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.problems import KnowledgeError, Problem

PathKey = tuple[str | int, ...]

# Admins' files are a few tens of KB; anything far larger is a mistake (a log pasted in, a
# wrong file), and refusing it keeps a 10 MB file from stalling a reload.
MAX_FILE_BYTES = 1_000_000
# Real knowledge nests four or five levels; deeper input is hostile or broken.
MAX_DEPTH = 40


# libyaml's parser is about ten times faster than the pure-Python one; both are safe loaders.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictSafeLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader for our files only; the global loaders are never modified."""


# The tags plain YAML resolves to on its own. Any other (``!!python/object:...``, ``!!binary``,
# ``!!set``, a made-up ``!include``) was written on purpose and means something these files
# cannot hold; the safe loader would fail on it with a bare traceback or, on a mapping, drop
# it silently and leave a confusing type error for later.
_YAML = "tag:yaml.org,2002:"
_STR = _YAML + "str"
PLAIN_TAGS = frozenset(
    _YAML + name for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


def _written_tag(tag: str) -> str:
    """A tag as the admin wrote it: ``tag:yaml.org,2002:binary`` -> ``!!binary``."""
    return "!!" + tag.removeprefix(_YAML) if tag.startswith(_YAML) else tag


def _plain_bool_is_text(node: yaml.ScalarNode) -> bool:
    # YAML 1.1 reads plain yes/no/on/off as booleans ("the Norway problem"). Admins write
    # "yes" and "no" as answer ids and phrasings, so only true/false count as booleans.
    return node.tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false")


@dataclass
class YamlDocument:
    """Plain Python data from one file and the 1-based line of every value in it."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int:
        """The line of the value at ``path``, or of its nearest ancestor that exists."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _Converter:
    def __init__(self, file: str, loader: StrictSafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.lines: dict[PathKey, int] = {}
        self.problems: list[Problem] = []
        self._seen: set[int] = set()

    def convert(self, node: yaml.Node, path: PathKey, depth: int = 0) -> Any:
        line = node.start_mark.line + 1
        self.lines[path] = line
        if not self._plain_tag(node, path):
            return None
        if depth > MAX_DEPTH:
            raise KnowledgeError(
                [
                    Problem(
                        self.file,
                        line,
                        _dotted(path),
                        "is nested too deeply",
                        "a knowledge file needs only a few levels of indentation",
                    )
                ]
            )
        if id(node) in self._seen and not isinstance(node, yaml.ScalarNode):
            # Composed aliases reuse the node object. Expanding them is how "YAML bombs"
            # blow up, and admins never need them, so they are refused outright.
            raise KnowledgeError(
                [
                    Problem(
                        self.file,
                        line,
                        _dotted(path),
                        "anchors and aliases (& and *) are not supported",
                        "write the value out in full",
                    )
                ]
            )
        self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        # Text is most of every file: taken as written, without the constructor's dispatch
        # (which gives the same string, at a third of the load's parsing time).
        if node.tag == _STR or _plain_bool_is_text(node):
            return node.value
        return self.loader.construct_object(node, deep=True)

    def _plain_tag(self, node: yaml.Node, path: PathKey) -> bool:
        """True if ``node`` holds plain data; otherwise a problem names the tag."""
        if node.tag in PLAIN_TAGS:
            return True
        self.problems.append(
            Problem(
                self.file,
                node.start_mark.line + 1,
                _dotted(path),
                f"unsupported YAML tag `{_written_tag(node.tag)}`",
                "remove the tag; knowledge files hold only plain text, numbers, lists and "
                "mappings",
            )
        )
        return False

    def _mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(
                        self.file,
                        key_line,
                        _dotted(path),
                        "a key must be a plain word",
                        "write `name: value` on its own line",
                    )
                )
                continue
            if not self._plain_tag(key_node, path):
                continue
            key = str(key_node.value)
            if key == "<<":
                self.problems.append(
                    Problem(
                        self.file,
                        key_line,
                        _dotted(path),
                        "merge keys (<<) are not supported",
                        "write the keys out in full",
                    )
                )
                continue
            if key in result:
                self.problems.append(
                    Problem(
                        self.file,
                        key_line,
                        _dotted((*path, key)),
                        f"duplicate key `{key}` (first written on line {first_line[key]})",
                        "keep one of them; YAML would silently drop the first",
                    )
                )
                continue
            first_line[key] = key_line
            result[key] = self.convert(value_node, (*path, key), depth + 1)
            # Missing-value and type errors point at the key's own line.
            self.lines[(*path, key)] = key_line
        return result


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def dotted_path(path: PathKey) -> str:
    """``("topics", 3, "answer")`` -> ``topics[3].answer``, the way problems name places."""
    return _dotted(path)


def parse_yaml(text: str, file: str, *, allow_empty: bool = False) -> YamlDocument:
    """Parse YAML text into a :class:`YamlDocument`; raise :class:`KnowledgeError` if broken."""
    loader = StrictSafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 0
            what = exc.problem or exc.context or "invalid YAML"
            raise KnowledgeError(
                [
                    Problem(
                        file,
                        line,
                        "",
                        f"YAML syntax error: {what}",
                        "check the indentation and that text containing ': ' or '#' is quoted",
                    )
                ]
            ) from None
        except yaml.YAMLError as exc:
            raise KnowledgeError(
                [Problem(file, 0, "", f"YAML syntax error: {exc}", "check the file is valid YAML")]
            ) from None
        except RecursionError:
            raise KnowledgeError(
                [
                    Problem(
                        file,
                        0,
                        "",
                        "is nested too deeply",
                        "a knowledge file needs only a few levels of indentation",
                    )
                ]
            ) from None
        if node is None:
            if allow_empty:
                return YamlDocument(file, None)
            raise KnowledgeError(
                [
                    Problem(
                        file,
                        1,
                        "",
                        "the file is empty",
                        "start it with `version: 1`; see knowledge/README.md",
                    )
                ]
            )
        converter = _Converter(file, loader)
        data = converter.convert(node, ())
        if converter.problems:
            raise KnowledgeError(converter.problems)
        return YamlDocument(file, data, converter.lines)
    finally:
        loader.dispose()


def read_yaml(
    path: Path, display_name: str | None = None, *, allow_empty: bool = False
) -> YamlDocument:
    """Read and parse a file; every failure, even an unreadable file, is a KnowledgeError."""
    name = display_name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise KnowledgeError(
                [
                    Problem(
                        name,
                        0,
                        "",
                        f"the file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,}",
                        "a knowledge file should be a few KB; "
                        "check that the right file was saved here",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise KnowledgeError(
            [
                Problem(
                    name,
                    0,
                    "",
                    f"cannot be read: {exc.strerror or exc}",
                    "check the file exists and the bot may read it",
                )
            ]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise KnowledgeError(
            [
                Problem(
                    name,
                    line,
                    "",
                    "is not UTF-8 text",
                    "save the file as UTF-8 text; a binary file does not belong here",
                )
            ]
        ) from None
    if "\x00" in text:
        raise KnowledgeError(
            [
                Problem(
                    name,
                    text[: text.index("\x00")].count("\n") + 1,
                    "",
                    "contains a NUL byte, so it is not a text file",
                    "save the file as UTF-8 text",
                )
            ]
        )
    return parse_yaml(text, name, allow_empty=allow_empty)
