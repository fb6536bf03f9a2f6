"""One conversation harness: a conversation is written once and played through every driver.

A driver plays one person talking to the bot through one transport and reports what the bot
showed after each message as a :class:`Shown`. ``CoreDriver`` calls the engine directly,
``ConsoleDriver`` types into the terminal adapter and reads its output back, and
``TelegramDriver`` runs the real Telegram adapter over the offline Bot API server (press = the
inline button's callback_data, ``press_earlier`` = a button on an older message,
``press_action`` = forged callback data, ``load_session`` = a row in its storage). Drivers with
a ``close`` method are closed by the ``chat`` fixture.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, Protocol

import pytest
import yaml

from bot.adapters.console import ConsoleChat
from bot.engine import Effect, Engine, Event, Press, parse_input
from bot.knowledge import KnowledgeBase
from tests.botapi import Queued, SentMessage
from tests.telegram_rig import BotRig

SCENARIOS = Path(__file__).parent / "scenarios"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class UnsupportedError(Exception):
    """The transport cannot do this (a terminal has no old buttons to press)."""


@dataclass
class Shown:
    """What the bot showed in reply to one message."""

    text: str
    options: list[str]
    urgent: bool | None  # None when the transport does not say


class Driver(Protocol):
    name: str
    history: list[Shown]

    def load_session(self, session: dict[str, Any]) -> None: ...
    def enable_callbacks(self) -> None: ...
    def say(self, text: str) -> Shown: ...
    def press(self, label: str) -> Shown: ...
    def press_earlier(self, label: str, turns_ago: int) -> Shown: ...
    def press_action(self, action: str) -> Shown: ...


class CoreDriver:
    """Drives ``Engine.handle`` directly; sessions round-trip through JSON as storage would."""

    name = "core"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.engine = Engine(kb)
        self.session: dict[str, Any] = self.engine.new_session()
        self.now = START
        self.history: list[Shown] = []
        self.actions: list[list[tuple[str, str]]] = []  # per turn: (label, action)
        self.effects: list[Effect] = []

    def load_session(self, session: dict[str, Any]) -> None:
        self.session = json.loads(json.dumps(session))

    def enable_callbacks(self) -> None:
        self.engine = Engine(self.engine.kb, callbacks=True)

    def _handle(self, event: Event) -> Shown:
        self.now += timedelta(seconds=30)
        turn = self.engine.handle(self.session, event, self.now)
        self.session = json.loads(json.dumps(turn.session))
        self.effects.extend(turn.effects)
        shown = Shown(
            "\n\n".join(r.text for r in turn.replies),
            [o.label for r in turn.replies for o in r.options],
            any(r.urgent for r in turn.replies),
        )
        self.history.append(shown)
        self.actions.append([(o.label, o.action) for r in turn.replies for o in r.options])
        return shown

    def say(self, text: str) -> Shown:
        return self._handle(parse_input(text))

    def _press_in(self, turn: int, label: str) -> Shown:
        for option_label, action in self.actions[turn]:
            if option_label == label:
                return self._handle(Press(action))
        raise AssertionError(f"no button {label!r} in {self.history[turn].options}")

    def press(self, label: str) -> Shown:
        return self._press_in(-1, label)

    def press_earlier(self, label: str, turns_ago: int) -> Shown:
        return self._press_in(-1 - turns_ago, label)

    def press_action(self, action: str) -> Shown:
        return self._handle(Press(action))


_OPTION = re.compile(r"(?:^|  )(\d+)\) (.+?)(?=  \d+\) |$)")


class ConsoleDriver:
    """Types into the terminal adapter and reads back what it printed."""

    name = "console"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.out = io.StringIO()
        self.now = START
        self.chat = ConsoleChat(Engine(kb), self.out, width=80, clock=self._clock)
        self.history: list[Shown] = []
        self._numbers: dict[str, int] = {}

    def _clock(self) -> datetime:
        self.now += timedelta(seconds=30)
        return self.now

    def load_session(self, session: dict[str, Any]) -> None:
        self.chat.session = json.loads(json.dumps(session))

    def enable_callbacks(self) -> None:
        self.chat.engine = Engine(self.chat.engine.kb, callbacks=True)

    def say(self, text: str) -> Shown:
        start = self.out.tell()
        self.chat.feed(text)
        printed = self.out.getvalue()[start:]
        options: list[str] = []
        self._numbers = {}
        for line in printed.splitlines():
            if not re.match(r"\d+\) ", line):
                continue  # reply text, not a line of numbered options
            for number, label in _OPTION.findall(line):
                options.append(label)
                self._numbers[label] = int(number)
        shown = Shown(printed, options, None)
        self.history.append(shown)
        return shown

    def press(self, label: str) -> Shown:
        if label not in self._numbers:
            raise AssertionError(f"no option {label!r} printed in {list(self._numbers)}")
        return self.say(str(self._numbers[label]))

    def press_earlier(self, label: str, turns_ago: int) -> Shown:
        raise UnsupportedError("a terminal shows no old buttons")

    def press_action(self, action: str) -> Shown:
        raise UnsupportedError("a terminal cannot send raw button data")


class TelegramDriver:
    """The real Telegram adapter (PTB's Application) over FakeBotApi; see tests/telegram_rig.py.

    Buttons are inline keyboards and presses callback queries with the bot's signed data;
    ``press_action`` sends raw unsigned data (forged), and a refused press the bot answers only
    with a toast shows that toast's text.
    """

    name = "telegram"
    USER = 4242

    def __init__(self, kb: KnowledgeBase) -> None:
        self.now = START
        self._tmp = TemporaryDirectory(prefix="tg-driver-")
        self.rig = BotRig(kb, Path(self._tmp.name), clock=self._clock)
        self.api = self.rig.api
        self.history: list[Shown] = []
        self.turns: list[list[SentMessage]] = []

    def _clock(self) -> datetime:
        self.now += timedelta(seconds=30)
        return self.now

    def close(self) -> None:
        try:
            self.rig.close()
        finally:
            self._tmp.cleanup()

    def enable_callbacks(self) -> None:
        """An admin chat configured (one the fake server does not know: delivery just fails)."""
        bot = self.rig.bot
        telegram = bot.settings.telegram.model_copy(update={"admin_chat_id": -100999})
        bot.settings = bot.settings.model_copy(update={"telegram": telegram})
        bot.engine = bot.engine  # the setter offers call backs once an admin chat is set

    def load_session(self, session: dict[str, Any]) -> None:
        data = json.loads(json.dumps(session))
        self.rig.run(self.rig.storage.save_session, self.USER, self.USER, data, self.now)

    def _turn(self, queued: Queued) -> Shown:
        mark = queued.update_id and self.api.mark()
        self.rig.process(queued)
        sent = self.api.messages_since(mark, self.USER)
        answer = None
        if queued.callback_query is not None:
            answer = self.api.callback_answers.get(queued.callback_query["id"])
            assert answer is not None, "the callback query was not answered"
        texts = [m.plain_text for m in sent]
        if answer and answer.get("text") and not texts:
            texts = [str(answer["text"])]  # only a toast: that is what the person saw
        shown = Shown("\n\n".join(texts), [str(b["text"]) for m in sent for b in m.buttons], None)
        self.history.append(shown)
        self.turns.append(sent)
        return shown

    def say(self, text: str) -> Shown:
        return self._turn(self.api.user_text(self.USER, text))

    def _press_in(self, turn: int, label: str) -> Shown:
        for message in reversed(self.turns[turn]):
            for button in message.buttons:
                if button.get("text") == label and "callback_data" in button:
                    queued = self.api.press_button(self.USER, message, button["callback_data"])
                    return self._turn(queued)
        raise AssertionError(f"no button {label!r} in {self.history[turn].options}")

    def press(self, label: str) -> Shown:
        return self._press_in(-1, label)

    def press_earlier(self, label: str, turns_ago: int) -> Shown:
        return self._press_in(-1 - turns_ago, label)

    def press_action(self, action: str) -> Shown:
        """Forged callback data: the raw action, unsigned, on the newest message with buttons."""
        for turn in reversed(self.turns):
            for message in reversed(turn):
                if message.buttons:
                    queued = self.api.press_button(self.USER, message, action, strict=False)
                    return self._turn(queued)
        raise AssertionError("no message with buttons to press on")


DRIVERS: dict[str, type[CoreDriver] | type[ConsoleDriver] | type[TelegramDriver]] = {
    "core": CoreDriver,
    "console": ConsoleDriver,
    "telegram": TelegramDriver,
}


# --- scenarios as data ---------------------------------------------------------------------


@dataclass
class Scenario:
    file: str
    name: str
    steps: list[dict[str, Any]]
    session: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    callbacks: bool = False  # as with telegram.admin_chat_id set: call backs are offered


def load_scenarios() -> list[Scenario]:
    scenarios: list[Scenario] = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in data["scenarios"]:
            scenarios.append(
                Scenario(
                    path.stem,
                    entry["name"],
                    entry["steps"],
                    entry.get("session"),
                    callbacks=bool(entry.get("callbacks", data.get("callbacks", False))),
                )
            )
    return scenarios


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def play(driver: Driver, scenario: Scenario) -> None:
    """Run a scenario's steps; a failing check names the step and shows the bot's reply."""
    if scenario.session is not None:
        driver.load_session(scenario.session)
    if scenario.callbacks:
        driver.enable_callbacks()
    last: Shown | None = None
    for number, step in enumerate(scenario.steps, 1):
        ((key, value),) = step.items()
        where = f"{scenario.file}: {scenario.name}: step {number} ({key}: {value!r})"
        try:
            if key == "user":
                last = driver.say(str(value))
            elif key == "press":
                last = driver.press(str(value))
            elif key == "press_earlier":
                last = driver.press_earlier(str(value["label"]), int(value["turns_ago"]))
            elif key == "press_action":
                last = driver.press_action(str(value))
            else:
                assert last is not None, f"{where}: check before any message"
                check(last, key, value, where)
        except UnsupportedError as exc:
            pytest.skip(f"{driver.name}: {exc}")


def check(shown: Shown, key: str, value: Any, where: str) -> None:
    text = " ".join(shown.text.split())  # wrapping must not matter
    if key == "bot_contains":
        for part in _as_list(value):
            assert " ".join(part.split()) in text, f"{where}\nbot said:\n{shown.text}"
    elif key == "bot_not_contains":
        for part in _as_list(value):
            assert " ".join(part.split()) not in text, f"{where}\nbot said:\n{shown.text}"
    elif key == "options":
        assert shown.options == _as_list(value), f"{where}\noptions: {shown.options}"
    elif key == "options_include":
        missing = [v for v in _as_list(value) if v not in shown.options]
        assert not missing, f"{where}\nmissing {missing} in {shown.options}"
    elif key == "options_exclude":
        present = [v for v in _as_list(value) if v in shown.options]
        assert not present, f"{where}\nunexpected {present} in {shown.options}"
    elif key == "options_count":
        assert len(shown.options) == int(value), f"{where}\noptions: {shown.options}"
    elif key == "urgent":
        if shown.urgent is not None:
            assert shown.urgent is bool(value), f"{where}\nbot said:\n{shown.text}"
    else:
        raise AssertionError(f"{where}: unknown scenario step `{key}`")
