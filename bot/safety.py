"""Red-flag detection: phrases from red_flags.yaml found in a message, typos and order forgiven."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.matching import Normaliser, stem, words
from bot.schema import RedFlagsFile

# Words dropped from both phrases and messages before matching, so "numb down there" finds
# "it's numb down there". Negations stay: they are part of phrases such as "can't pee".
# "myself" and "me" stay too: without them "wet myself" would be just "wet" ("wet weather")
# and "wakes me up" just "wake up" ("stiff when I wake up").
FILLER: Final = frozenset(
    stem(w)
    for w in words(
        "a an the my i im ive mine your our his her their its it is am are was were be "
        "been being this that these those so just really very bit little quite and or of to at"
    )
)
# Extra tokens allowed inside a phrase's span ("can't feel the toilet paper when I wipe").
_SLACK: Final = 3
# An `unless` phrase cancels a red-flag phrase only this close to it, so one harmless mention
# ("my mum had cancer") cannot hide another, real one elsewhere in a long message.
_VETO_REACH: Final = 4
# Someone else's symptom ("my uncle was in a car crash", "one of my residents is incontinent")
# is not the writer's red flag; only when that person comes shortly before the symptom and
# the writer does not come in between ("my wife says I wet myself" still fires). Pronouns
# ("they found a tumour") are not here: too often they stand for the writer's doctors.
_OTHERS: Final = frozenset(
    stem(w)
    for w in words(
        "mum mom mother mam mummy dad father daddy wife husband partner son daughter child "
        "children kid kids baby toddler teenager teen boyfriend girlfriend brother sister "
        "uncle aunt auntie cousin "
        "nephew niece grandma grandmother grandpa grandfather granny grandad nan nana gran "
        "friend mate neighbour neighbor colleague coworker boss patient client resident "
        "dog cat someone somebody"
    )
)
_OTHERS_REACH: Final = 6
_POSSESSIVE: Final = frozenset(words("her his their"))
_FIRST_PERSON: Final = frozenset(words("i me my myself im ive id ill mine we us our"))
# An explicit negation right before a symptom ("no fever", "without any weight loss"), only
# in categories marked `negatable`; these words may stand between the two.
_NEGATIONS: Final = frozenset(
    words("no not without never nor dont doesnt havent hasnt didnt isnt arent wasnt zero")
)
_NEGATION_SKIP: Final = frozenset(words("a an any had have got been sign signs of real"))


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


@dataclass(frozen=True)
class _Concept:
    category: int
    text: str
    groups: tuple[tuple[tuple[str, ...], ...], ...]
    within: int
    # Every word of each group's options: a concept is only tried when each group has at
    # least one of its words in the message, so most messages skip most concepts cheaply.
    words: tuple[frozenset[str], ...]


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


def _concept_spans(concept: _Concept, positions: dict[str, list[int]]) -> list[tuple[int, int]]:
    """(first, last) positions where one option of every group occurs within the window."""
    occurrences: list[list[tuple[int, int]]] = []
    for group in concept.groups:
        found = [span for option in group for span in _spans(option, positions)]
        if not found:
            return []
        occurrences.append(found)
    spans: list[tuple[int, int]] = []
    for lo, hi in occurrences[0]:
        first, last = lo, hi
        for others in occurrences[1:]:
            olo, ohi = min(others, key=lambda s: min(abs(s[0] - hi), abs(lo - s[1])))
            first, last = min(first, olo), max(last, ohi)
        # `within` counts the words between the group words, not the words themselves.
        if last - first + 1 <= concept.within + len(concept.groups):
            spans.append((first, last))
    return spans


@dataclass(frozen=True)
class _Veto:
    tokens: tuple[str, ...]
    # A veto holding a whole symptom phrase ("mum had cancer") cancels only the words it covers;
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
        self.negatable: tuple[bool, ...] = tuple(c.negatable for c in red_flags.categories)
        self.phrases: list[_Phrase] = []
        self.concepts: list[_Concept] = []
        self.unless: list[list[_Veto]] = []
        for index, category in enumerate(red_flags.categories):
            for phrase in category.phrases:
                tokens = self._tokens(phrase, correct=False)
                if tokens:
                    self.phrases.append(_Phrase(index, phrase, tokens))
            own = [set(p.tokens) for p in self.phrases if p.category == index]
            for concept in category.concepts:
                groups = tuple(
                    tuple(o for o in (self._tokens(x, correct=False) for x in group) if o)
                    for group in concept.all_of
                )
                if all(groups):
                    text = " + ".join("/".join(group[:3]) for group in concept.all_of)
                    group_words = tuple(frozenset(t for o in g for t in o) for g in groups)
                    self.concepts.append(
                        _Concept(index, text, groups, concept.within, group_words)
                    )
            vetoes = [self._tokens(p, correct=False) for p in category.unless]
            reach = [0 if any(o <= set(v) for o in own) else _VETO_REACH for v in vetoes]
            self.unless.append([_Veto(v, r) for v, r in zip(vetoes, reach, strict=True) if v])
        # Longer phrases first: the most specific explanation is the one reported.
        self.phrases.sort(key=lambda p: -len(p.tokens))
        # Each phrase is filed under one of its words: a message only tries the phrases
        # filed under its own words, not all of them.
        self.by_token: dict[str, list[int]] = {}
        for index, entry in enumerate(self.phrases):
            self.by_token.setdefault(entry.tokens[0], []).append(index)
        self.concept_words: frozenset[str] = frozenset(
            option[0] for c in self.concepts for option in c.groups[0]
        )

    def _tokens(self, text: str, *, correct: bool) -> tuple[str, ...]:
        stems = self.normaliser.stems(text, correct=correct)
        return tuple(t for t in stems if t not in FILLER)

    def check(self, text: str) -> RedFlagHit | None:
        """The first red flag the message describes, or None."""
        raw = self.normaliser.stems(text[: self.max_chars], correct=True)
        # Phrases match on the words that matter; context rules look at every word.
        where = [i for i, t in enumerate(raw) if t not in FILLER]
        if not where:
            return None
        positions: dict[str, list[int]] = {}
        for i, r in enumerate(where):
            positions.setdefault(raw[r], []).append(i)
        vetoes: dict[int, list[tuple[int, int]]] = {}
        candidates = sorted(i for t in positions for i in self.by_token.get(t, ()))
        found: list[tuple[int, str, list[tuple[int, int]]]] = []
        for index in candidates:
            phrase = self.phrases[index]
            spans = _spans(phrase.tokens, positions)
            if spans:
                found.append((phrase.category, phrase.text, spans))
        if not self.concept_words.isdisjoint(positions):
            for concept in self.concepts:
                if any(w.isdisjoint(positions) for w in concept.words):
                    continue
                spans = _concept_spans(concept, positions)
                if spans:
                    found.append((concept.category, concept.text, spans))
        for category, label, spans in found:
            if category not in vetoes:
                # A negated veto is no veto: "I haven't been trying to lose weight".
                vetoes[category] = [
                    (lo - veto.reach, hi + veto.reach)
                    for veto in self.unless[category]
                    for lo, hi in _spans(veto.tokens, positions)
                    if not self._negated(raw, where[lo])
                ]
            near = vetoes[category]
            for lo, hi in spans:
                if any(not (hi < vlo or lo > vhi) for vlo, vhi in near):
                    continue
                if self._someone_else(raw, where[lo]):
                    continue
                if self.negatable[category] and self._negated(raw, where[lo]):
                    continue
                return RedFlagHit(self.category_ids[category], label, 100.0)
        return None

    @staticmethod
    def _someone_else(raw: Sequence[str], start: int) -> bool:
        """Whether the symptom is another person's and the writer then talks about their own.

        "My mother fell this morning and her back hurts, would physio help?" is written for
        her: it stays a red flag. Only when the writer comes back to themselves afterwards
        ("... and I hurt my back lifting her") is the symptom taken as someone else's.
        """
        if _FIRST_PERSON.isdisjoint(raw[start + 1 :]):
            return False
        if start > 0 and raw[start - 1] in _POSSESSIVE:
            return True  # "her cancer", "his fall"
        for p in range(start - 1, max(-1, start - 1 - _OTHERS_REACH), -1):
            if raw[p] in _FIRST_PERSON:
                return False
            if raw[p] in _OTHERS:
                return True
        return False

    @staticmethod
    def _negated(raw: Sequence[str], start: int) -> bool:
        """Whether an explicit negation stands right before the symptom ("no fever")."""
        p = start - 1
        while p >= 0 and raw[p] in _NEGATION_SKIP:
            p -= 1
        return p >= 0 and raw[p] in _NEGATIONS
