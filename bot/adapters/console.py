"""Terminal chat: the engine in a terminal, options numbered and chosen by number or label."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from bot.engine import Command, Effect, Engine, ForgetUser, LogUnanswered, parse_input
from bot.replies import Reply

MAX_WIDTH: Final = 80
PROMPT: Final = "> "


def effect_notes(effects: Iterable[Effect]) -> list[str]:
    """Perform the engine's side effects for the terminal, which stores nothing.

    This is the one place storage plugs in later; until then it says honestly what did not
    happen, so the chat's words ("I've noted the question") are not taken at face value.
    """
    notes: list[str] = []
    for effect in effects:
        if isinstance(effect, LogUnanswered):
            notes.append("(Terminal chat: nothing is saved, so this question was not logged.)")
        elif isinstance(effect, ForgetUser):
            notes.append(
                "(Terminal chat: nothing is saved on disk; this chat's memory is cleared.)"
            )
    return notes


def wrap(text: str, width: int) -> list[str]:
    """Wrap each line of a reply to ``width``, keeping blank lines and list indents."""
    lines: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            lines.append("")
            continue
        bullet = line[: len(line) - len(line.lstrip())]
        if line.lstrip().startswith(("- ", "• ")):
            bullet += "  "
        lines.extend(
            textwrap.wrap(
                line,
                width=width,
                subsequent_indent=bullet,
                break_long_words=True,
                break_on_hyphens=False,
            )
        )
    return lines


def option_lines(labels: Iterable[str], width: int, start: int = 1) -> list[str]:
    """``1) Yes  2) No`` packed onto lines of ``width``, never splitting one option."""
    lines: list[str] = []
    current = ""
    for number, label in enumerate(labels, start):
        item = f"{number}) {label}"
        if current and len(current) + 2 + len(item) > width:
            lines.append(current)
            current = item
        else:
            current = f"{current}  {item}" if current else item
    if current:
        lines.append(current)
    return lines


class ConsoleChat:
    """One person's chat: feeds lines to the engine and writes the replies to ``out``."""

    def __init__(
        self,
        engine: Engine,
        out: TextIO,
        *,
        width: int = MAX_WIDTH,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        session: dict[str, Any] | None = None,
        language_hint: str | None = None,
    ) -> None:
        self.engine = engine
        # The terminal's locale (LANG), used like Telegram's language until /language.
        self.language_hint = language_hint
        self.out = out
        self.width = max(20, min(width, MAX_WIDTH))
        self.clock = clock
        self.session: dict[str, Any] = session if session is not None else engine.new_session()

    def start(self) -> None:
        self._turn(Command("start"))

    def feed(self, line: str) -> None:
        """One line typed by the person: a command, a number, a label or free text."""
        self._turn(parse_input(line))

    def _turn(self, event: Command | Any) -> None:
        turn = self.engine.handle(self.session, event, self.clock(), self.language_hint)
        # Round-trip through JSON as storage will, so a session that cannot be saved fails here.
        self.session = json.loads(json.dumps(turn.session))
        self.render(turn.replies, effect_notes(turn.effects))

    def render(self, replies: Iterable[Reply], notes: Iterable[str] = ()) -> None:
        number = 1
        for reply in replies:
            self.out.write("\n")
            for line in wrap(reply.text, self.width):
                self.out.write(line + "\n")
            labels = [option.label for option in reply.options]
            if labels:
                self.out.write("\n")
                for line in option_lines(labels, self.width, number):
                    self.out.write(line + "\n")
                number += len(labels)
        for note in notes:
            self.out.write("\n")
            for line in wrap(note, self.width):
                self.out.write(line + "\n")
        self.out.flush()


def run(
    engine: Engine,
    inp: TextIO,
    out: TextIO,
    *,
    interactive: bool,
    width: int = MAX_WIDTH,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    language_hint: str | None = None,
) -> int:
    """Chat until end of input or Ctrl-C; one message per line. Returns an exit status."""
    chat = ConsoleChat(engine, out, width=width, clock=clock, language_hint=language_hint)
    try:
        chat.start()
        while True:
            if interactive:
                out.write("\n" + PROMPT)
                out.flush()
            line = inp.readline()
            if not line:
                break
            line = line.rstrip("\r\n")
            if not interactive:
                # Piped input is not echoed by a terminal; show it so the transcript reads
                # as a conversation.
                out.write(f"\n{PROMPT}{line}\n")
            chat.feed(line)
    except KeyboardInterrupt:
        pass
    if interactive:
        out.write("\nBye!\n")
    out.flush()
    return 0
