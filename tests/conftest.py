"""Shared fixtures: the shipped knowledge base, and `chat`, one conversation per driver."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.knowledge_cache import CACHE_ENV
from tests.harness import DRIVERS, Driver

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

# Every load reads the files (tests/test_knowledge_cache.py turns the cache on where it tests
# it): no test depends on what an earlier one, or an earlier run, left in a cache folder.
os.environ[CACHE_ENV] = "off"


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
