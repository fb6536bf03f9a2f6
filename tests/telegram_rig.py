"""The real Telegram adapter in-process: PTB's Application on a loop thread, FakeBotApi around it.

``BotRig`` runs :class:`bot.adapters.telegram.TelegramBot` with python-telegram-bot's real
``Application`` and ``Bot`` talking HTTP to a :class:`tests.botapi.FakeBotApi`. Updates are
handed to ``Application.process_update`` directly, so a call returns once the bot has finished
with the update: the conversation harness needs no waiting at all. (The polling path is covered
by tests/test_telegram_adapter.py and the subprocess end-to-end tests.)

``TelegramDriver`` is the harness driver (see tests/harness.py) built on it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar

from telegram import Update

from bot.adapters.telegram import TelegramBot
from bot.config import Settings, TelegramSettings
from bot.knowledge import KnowledgeBase
from bot.storage import Storage
from tests.botapi import FakeBotApi, Queued, SentMessage

T = TypeVar("T")
# Matches bot.config.TOKEN_PATTERN, unlike FakeBotApi's default token.
TOKEN = "123456789:AAHtest-token-for-offline-tests-0123456"
CALL_TIMEOUT = 10.0


class BotRig:
    """A FakeBotApi plus the Telegram adapter on its own event loop thread."""

    def __init__(
        self,
        kb: KnowledgeBase,
        data_dir: Path,
        *,
        settings: Settings | None = None,
        api: FakeBotApi | None = None,
        clock: Any = None,
    ) -> None:
        self.api = api or FakeBotApi(TOKEN).start()
        self._own_api = api is None
        self.settings = settings or Settings(
            telegram=TelegramSettings(api_base_url=self.api.base_url), data_dir=data_dir
        )
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="BotRig", daemon=True)
        self._thread.start()
        self._kb = kb
        self._clock = clock
        self.storage: Storage
        self.bot: TelegramBot
        self.call(self._setup())

    async def _setup(self) -> None:
        # SQLite connections belong to the thread that opened them: open it on the loop thread.
        self.storage = Storage.open(self.settings.data_dir, env={})
        self.bot = TelegramBot(
            self.settings, self.api.token, self._kb, self.storage, clock=self._clock
        )
        self.app = self.bot.build(rate_limit=False)
        await self.app.initialize()

    async def _teardown(self) -> None:
        await self.app.shutdown()
        self.storage.close()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def run(self, function: Any, *args: Any) -> Any:
        """Call a plain function on the loop thread (storage calls must happen there)."""

        async def wrapper() -> Any:
            return function(*args)

        return self.call(wrapper())

    def process(self, queued: Queued) -> None:
        """Hand a queued update to the Application and return when it has been handled."""
        update = Update.de_json(queued.update, self.app.bot)
        self.call(self.app.process_update(update))

    def close(self) -> None:
        try:
            self.call(self._teardown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()
            if self._own_api:
                self.api.stop()


class TelegramDriver:
    """The harness driver for Telegram: buttons are inline keyboards, presses callback queries."""

    name = "telegram"
    USER = 4242

    def __init__(self, kb: KnowledgeBase) -> None:
        from tests.harness import START, Shown

        self._shown = Shown
        self.now = START
        self._tmp = TemporaryDirectory(prefix="tg-driver-")
        self.rig = BotRig(kb, Path(self._tmp.name), clock=self._clock)
        self.api = self.rig.api
        self.history: list[Any] = []
        self.turns: list[list[SentMessage]] = []

    def _clock(self) -> datetime:
        self.now += timedelta(seconds=30)
        return self.now

    def close(self) -> None:
        try:
            self.rig.close()
        finally:
            self._tmp.cleanup()

    def load_session(self, session: dict[str, Any]) -> None:
        data = json.loads(json.dumps(session))
        self.rig.run(self.rig.storage.save_session, self.USER, self.USER, data, self.now)

    def _turn(self, queued: Queued) -> Any:
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
        shown = self._shown(
            "\n\n".join(texts), [str(b["text"]) for m in sent for b in m.buttons], None
        )
        self.history.append(shown)
        self.turns.append(sent)
        return shown

    def say(self, text: str) -> Any:
        return self._turn(self.api.user_text(self.USER, text))

    def _press_in(self, turn: int, label: str) -> Any:
        for message in reversed(self.turns[turn]):
            for button in message.buttons:
                if button.get("text") == label and "callback_data" in button:
                    queued = self.api.press_button(self.USER, message, button["callback_data"])
                    return self._turn(queued)
        raise AssertionError(f"no button {label!r} in {self.history[turn].options}")

    def press(self, label: str) -> Any:
        return self._press_in(-1, label)

    def press_earlier(self, label: str, turns_ago: int) -> Any:
        return self._press_in(-1 - turns_ago, label)

    def press_action(self, action: str) -> Any:
        """Forged callback data: the raw action, unsigned, on the newest message with buttons."""
        for turn in reversed(self.turns):
            for message in reversed(turn):
                if message.buttons:
                    queued = self.api.press_button(self.USER, message, action, strict=False)
                    return self._turn(queued)
        raise AssertionError("no message with buttons to press on")
