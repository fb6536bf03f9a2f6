"""Problems found in knowledge files, reported to admins as ``FILE:LINE: where: what (fix)``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one place of a knowledge file, with a hint for fixing it."""

    file: str
    line: int  # 1-based; 0 when the whole file is concerned
    path: str  # e.g. "topics[3].answer"; empty for the whole file
    message: str
    hint: str = ""
    severity: Severity = "error"

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line else self.file
        where = f" {self.path}:" if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{location}:{where} {prefix}{self.message}{hint}"


class KnowledgeError(Exception):
    """Knowledge files do not validate; holds every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.summary())

    @property
    def errors(self) -> Sequence[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        return "\n".join(lines) if lines else "knowledge files are invalid"
