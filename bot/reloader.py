"""Notice edited knowledge files and reload them, keeping the last good knowledge on failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge import KnowledgeBase
from bot.problems import KnowledgeError, Problem

Fingerprint = tuple[tuple[str, int, int], ...]
# An editor may save in two steps (truncate, then write) or several files in a row: wait until
# the folder has looked the same for this long before reading it.
DEFAULT_SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: a new knowledge base, or the problems that kept the old one serving."""

    knowledge: KnowledgeBase | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.knowledge is not None


def fingerprint(directory: Path) -> Fingerprint:
    """Names, sizes and modification times of the knowledge files: cheap to take every second."""
    entries: list[tuple[str, int, int]] = []
    # Translations (i18n/<code>/*.yaml) are knowledge too: editing one reloads as well.
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("i18n/*/*.yaml")]):
        try:
            stat = path.stat()
        except OSError:
            continue  # removed between the listing and the stat; the next poll sees it
        entries.append((path.relative_to(directory).as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class KnowledgeReloader:
    """Holds the knowledge in service and swaps in a new one only when it validates."""

    def __init__(
        self,
        directory: Path,
        load: Callable[[], KnowledgeBase],
        current: KnowledgeBase,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    ) -> None:
        self.directory = directory
        self._load = load
        self.current = current
        self._settle = settle_seconds
        self._seen = fingerprint(directory)
        self._pending: Fingerprint | None = None
        self._pending_since = 0.0

    def adopt(self, knowledge: KnowledgeBase) -> None:
        """Serve knowledge loaded elsewhere (an admin's edit made through the bot) from now on.

        The files on disk already say what ``knowledge`` holds, so they are marked as seen:
        the edit is not noticed a second time and announced to the admins as a change.
        """
        self.current = knowledge
        self._seen = fingerprint(self.directory)
        self._pending = None

    def reload(self) -> ReloadOutcome:
        """Reload now (the /reload command); on failure the current knowledge keeps serving."""
        self._seen = fingerprint(self.directory)
        self._pending = None
        try:
            knowledge = self._load()
        except KnowledgeError as exc:
            return ReloadOutcome(None, exc.problems)
        self.current = knowledge
        return ReloadOutcome(knowledge)

    def poll(self, now: float) -> ReloadOutcome | None:
        """Reload if the files changed and have settled; None when there is nothing to do.

        ``now`` is a monotonic clock reading, passed in so tests need no sleeping.
        """
        latest = fingerprint(self.directory)
        if latest == self._seen:
            self._pending = None
            return None
        if latest != self._pending:
            self._pending, self._pending_since = latest, now
            return None
        if now - self._pending_since < self._settle:
            return None
        # A failed load also marks this state as seen, so a broken file is reported once,
        # not every second; the next edit triggers a new attempt.
        return self.reload()
