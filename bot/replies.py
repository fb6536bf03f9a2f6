"""What the engine answers with: text plus options, as plain data every adapter can render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Option:
    """A choice offered under a reply: a button in Telegram, a numbered line in the terminal."""

    label: str
    action: str  # e.g. "topic:sciatica", "answer:yes", "screen"; the engine parses it back


@dataclass(frozen=True)
class Reply:
    """One message from the bot."""

    text: str
    options: tuple[Option, ...] = field(default_factory=tuple)
    urgent: bool = False  # the red-flag route: adapters must not decorate or follow it cheerfully
    # "contact": ask for a phone number (Telegram shows a share-contact keyboard; elsewhere the
    # text asks to type it); "remove": that keyboard is no longer wanted.
    keyboard: Literal["contact", "remove"] | None = None
