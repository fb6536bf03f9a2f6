"""The real Telegram adapter in-process: PTB's Application on a loop thread, FakeBotApi around it.

``BotRig`` runs :class:`bot.adapters.telegram.TelegramBot` with python-telegram-bot's real
``Application`` and ``Bot`` talking HTTP to a :class:`tests.botapi.FakeBotApi`. Updates are
handed to ``Application.process_update`` directly, so a call returns once the bot has finished
with the update: the conversation harness needs no waiting at all. (The polling path is covered
by tests/test_telegram_adapter.py and the subprocess end-to-end tests.)

``tests.harness.TelegramDriver`` is the conversation-harness driver built on it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from telegram import Update

from bot.adapters.telegram import TelegramBot
from bot.config import Settings, TelegramSettings
from bot.knowledge import KnowledgeBase
from bot.storage import Storage
from tests.botapi import FakeBotApi, Queued

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
