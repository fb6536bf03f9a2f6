"""Shared fixtures: the shipped knowledge base, and `chat`, one conversation per driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from tests.harness import DRIVERS, Driver

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE_DIR)


@pytest.fixture(params=sorted(DRIVERS))
def chat(request: pytest.FixtureRequest, kb: KnowledgeBase) -> Iterator[Driver]:
    """A fresh conversation through each transport in turn (core, console, Telegram)."""
    driver: Driver = DRIVERS[request.param](kb)
    yield driver
    close = getattr(driver, "close", None)
    if close is not None:
        close()
