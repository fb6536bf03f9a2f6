"""The Telegram adapter in-process: PTB's real Application against FakeBotApi."""

from __future__ import annotations

import pytest

from bot.knowledge import KnowledgeBase
from tests.harness import Scenario, load_scenarios, play
from tests.telegram_rig import TelegramDriver

SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.file}:{s.name}" for s in SCENARIOS])
def test_scenarios_through_telegram(kb: KnowledgeBase, scenario: Scenario) -> None:
    driver = TelegramDriver(kb)
    try:
        play(driver, scenario)
    finally:
        driver.close()
