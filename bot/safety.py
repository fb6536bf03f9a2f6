"""Red-flag detection: phrases from red_flags.yaml found in a message, typos and order forgiven."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.matching import Normaliser, stem, words
from bot.schema import RedFlagsFile

# Words dropped from both phrases and messages before matching, so "wet myself" finds
# "I wet myself" and "numb down there" finds "it's numb down there". Negations stay: they
# are part of phrases such as "can't pee".
FILLER: Final = frozenset(
    stem(w)
    for w in words(
        "a an the my me i im ive myself mine your our his her their its it is am are was were be "
        "been being this that these those so just really very bit little quite and or of to at"
    )
)
# Extra tokens allowed inside a phrase's span ("can't feel the toilet paper when I wipe").
_SLACK: Final = 3
# An `unless` phrase cancels a red-flag phrase only this close to it, so one harmless mention
# ("my mum had cancer") cannot hide another, real one elsewhere in a long message.
_VETO_REACH: Final = 4


@dataclass(frozen=True)
class RedFlagHit:
    """A red flag found in a message: its category, the knowledge phrase, and the score."""

    category_id: str
    phrase: str
    score: float


@dataclass(frozen=True)
class _Phrase:
    category: int
    text: str
    tokens: tuple[str, ...]


def _spans(tokens: Sequence[str], positions: dict[str, list[int]]) -> list[tuple[int, int]]:
    """(first, last) positions wherever every token occurs, in any order, in one window."""
    if any(t not in positions for t in tokens):
        return []
    # Anchor on the rarest token; take each other token's nearest occurrence around it.
    anchor = min(tokens, key=lambda t: len(positions[t]))
    window = len(tokens) + _SLACK
    found: list[tuple[int, int]] = []
    for start in positions[anchor]:
        used = [start]
        for token in tokens:
            if token == anchor:
                continue
            nearest = min(positions[token], key=lambda p: abs(p - start))
            if abs(nearest - start) > window:
                break
            used.append(nearest)
        else:
            found.append((min(used), max(used)))
    return found


@dataclass(frozen=True)
class _Veto:
    tokens: tuple[str, ...]
    # A veto naming the symptom itself ("mum had cancer") cancels only the words it covers;
    # a qualifier ("last year") cancels a phrase a few words away from it.
    reach: int


class RedFlagDetector:
    """Finds red-flag phrases in a message; recall first, ``unless`` phrases veto a category."""

    def __init__(
        self, red_flags: RedFlagsFile, normaliser: Normaliser, max_chars: int = 20_000
    ) -> None:
        self.normaliser = normaliser
        self.max_chars = max_chars
        self.category_ids: tuple[str, ...] = tuple(c.id for c in red_flags.categories)
        self.phrases: list[_Phrase] = []
        self.unless: list[list[_Veto]] = []
        for index, category in enumerate(red_flags.categories):
            for phrase in category.phrases:
                tokens = self._tokens(phrase, correct=False)
                if tokens:
                    self.phrases.append(_Phrase(index, phrase, tokens))
            own = {t for p in self.phrases if p.category == index for t in p.tokens}
            vetoes = [self._tokens(p, correct=False) for p in category.unless]
            self.unless.append([_Veto(v, 0 if own & set(v) else _VETO_REACH) for v in vetoes if v])
        # Longer phrases first: the most specific explanation is the one reported.
        self.phrases.sort(key=lambda p: -len(p.tokens))
        # Each phrase is filed under one of its words: a message only tries the phrases
        # filed under its own words, not all of them.
        self.by_token: dict[str, list[int]] = {}
        for index, entry in enumerate(self.phrases):
            self.by_token.setdefault(entry.tokens[0], []).append(index)

    def _tokens(self, text: str, *, correct: bool) -> tuple[str, ...]:
        stems = self.normaliser.stems(text, correct=correct)
        return tuple(t for t in stems if t not in FILLER)

    def check(self, text: str) -> RedFlagHit | None:
        """The first red flag the message describes, or None."""
        tokens = self._tokens(text[: self.max_chars], correct=True)
        if not tokens:
            return None
        positions: dict[str, list[int]] = {}
        for i, token in enumerate(tokens):
            positions.setdefault(token, []).append(i)
        vetoes: dict[int, list[tuple[int, int]]] = {}
        candidates = sorted(i for t in positions for i in self.by_token.get(t, ()))
        for index in candidates:
            phrase = self.phrases[index]
            found = _spans(phrase.tokens, positions)
            if not found:
                continue
            category = phrase.category
            if category not in vetoes:
                vetoes[category] = [
                    (lo - veto.reach, hi + veto.reach)
                    for veto in self.unless[category]
                    for lo, hi in _spans(veto.tokens, positions)
                ]
            near = vetoes[category]
            if any(all(hi < vlo or lo > vhi for vlo, vhi in near) for lo, hi in found):
                return RedFlagHit(self.category_ids[category], phrase.text, 100.0)
        return None
