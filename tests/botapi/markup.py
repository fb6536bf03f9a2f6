"""Telegram-style HTML parse_mode parser: plain text, entities and Telegram's error texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


class EntityParseError(ValueError):
    """Raised with the text Telegram puts after "Bad Request: can't parse entities: "."""


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    start: int
    language: str | None = None
    children: list[str] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode an HTML entity starting at ``text[pos] == "&"`` the way Telegram does."""
    end = text.find(";", pos + 1, pos + 12)
    if end == -1:
        return None, pos
    body = text[pos + 1 : end]
    if body.startswith("#"):
        digits = body[1:]
        try:
            code = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits, 10)
        except ValueError:
            return None, pos
        if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, pos
        return chr(code), end + 1
    if body in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[body], end + 1
    return None, pos


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities); raise EntityParseError like Telegram."""
    out: list[str] = []
    u16 = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def boff(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    while i < n:
        c = text[i]
        if c == "&":
            decoded, j = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += utf16_len(decoded)
                i = j
                continue
        if c != "<":
            out.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i += 1
            name_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {boff(begin)}")
            i += 1
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {boff(begin)}")
            top = stack.pop()
            if end_name and end_name != top.tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {boff(begin)}, "
                    f'expected "</{top.tag}>", found "</{end_name}>"'
                )
            _close(top, stack, u16, entities)
            continue
        name_start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {boff(begin)}")
        tag = text[name_start:i].lower()
        if tag not in SUPPORTED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {boff(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {boff(begin)}')
            if text[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and not text[i].isspace() and text[i] not in "=>/\"'":
                i += 1
            attr = text[attr_start:i].lower()
            if not attr:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {boff(begin)}'
                )
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {boff(begin)}')
            if text[i] != "=":
                attrs[attr] = ""
                continue
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {boff(begin)}')
            if text[i] in "\"'":
                quote = text[i]
                i += 1
                value: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded, j = _decode_entity(text, i)
                        if decoded is not None:
                            value.append(decoded)
                            i = j
                            continue
                    value.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {boff(begin)}")
                i += 1
                attrs[attr] = "".join(value)
            else:
                value_start = i
                while i < n and text[i] in _NAME_TOKEN_CHARS:
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {boff(begin)}")
                if not text[i].isspace() and text[i] != ">":
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset {boff(i)}"
                    )
                attrs[attr] = text[value_start:i].lower()
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {boff(begin)}'
            )
        stack.append(_Open(tag, attrs, u16))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return _strip("".join(out), entities)


def _close(top: _Open, stack: list[_Open], u16: int, entities: list[dict[str, Any]]) -> None:
    length = u16 - top.start
    if top.tag == "code" and stack and stack[-1].tag == "pre":
        cls = top.attrs.get("class", "")
        if cls.startswith("language-") and top.start == stack[-1].start:
            stack[-1].language = cls.removeprefix("language-")
            return
    if length <= 0:
        return
    if top.tag == "a" and "href" not in top.attrs:
        return
    entity: dict[str, Any] = {
        "type": _ENTITY_TYPES[top.tag],
        "offset": top.start,
        "length": length,
    }
    if top.tag == "a":
        entity["url"] = top.attrs["href"]
    elif top.tag == "pre" and top.language:
        entity["language"] = top.language
    elif top.tag == "blockquote" and "expandable" in top.attrs:
        entity["type"] = "expandable_blockquote"
    elif top.tag == "tg-emoji":
        entity["custom_emoji_id"] = top.attrs.get("emoji-id", "")
    entities.append(entity)


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram and shift/clip the entities accordingly."""
    stripped = text.strip()
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, result


def html_to_text(text: str) -> str:
    """What a user sees for ``text`` sent with parse_mode HTML (raises EntityParseError)."""
    return parse_html(text)[0]
