"""Group the unanswered-question log into similar questions, most frequent first, for review."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from rapidfuzz import fuzz, process

from bot.config import ClinicSettings, MatchingSettings
from bot.knowledge import KnowledgeBase
from bot.knowledge_edit import AddedPhrasing, add_phrasing
from bot.matching import Normaliser, stem
from bot.storage import Storage, UnansweredQuestion

# token_set_ratio a question needs with a group's leader to join it. Calibrated by hand on
# rewordings such as "does yoga help my back" / "can yoga help back pain" (same group) and
# "yoga for back pain" / "swimming for back pain" (different groups).
GROUP_SCORE: Final = 80.0
# token_set_ratio is 100 whenever one question's words are a subset of the other's, which
# would pour a long story into the group of any word it mentions. So the two must also share
# a third of their words, or read alike as a whole (token_sort_ratio, which forgives typos).
MIN_SHARED: Final = 1 / 3
GROUP_SORT_SCORE: Final = 60.0
# Without knowledge loaded, these stand in for the matcher's generic words: every question
# in the log mentions them, so they say nothing about which questions belong together.
_FALLBACK_GENERIC: Final = ("back", "pain", "ache", "hurt", "sore", "backache")
_PREFIX: Final = 3
# Topics offered besides the closest one (buttons in Telegram, numbers in the terminal).
MAX_ALTERNATIVES: Final = 3
# Candidates looked at per question beyond the best one; bounds the Python-level work.
_CANDIDATES: Final = 5
# Most recent rows looked at, so a review stays within a second or two whatever the log
# holds; older rows wait for a later review.
MAX_ROWS: Final = 5000


@dataclass(frozen=True)
class QuestionGroup:
    """Similar unanswered questions, with the topic they came closest to."""

    representative: str
    members: tuple[UnansweredQuestion, ...]
    closest_topic: str | None
    # Other topics worth offering, best first (never includes closest_topic).
    alternatives: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(m.id for m in self.members)

    @property
    def ref(self) -> str:
        """A short id that survives regrouping while the group's first question is kept.

        Fits Telegram's 64-byte callback data; look the group up again with :func:`find_group`.
        """
        return str(min(self.ids))

    @property
    def questions(self) -> tuple[str, ...]:
        """Distinct member texts, most frequent first (the representative first)."""
        counts = Counter(m.question.strip() for m in self.members)
        ordered = sorted(counts, key=lambda q: (q != self.representative, -counts[q], len(q)))
        return tuple(ordered)

    @property
    def last_seen(self) -> datetime:
        return max(m.created_at for m in self.members)


def question_key(
    text: str,
    normaliser: Normaliser,
    generic: frozenset[str] = frozenset(),
    *,
    correct: bool = True,
) -> str:
    """Content stems, sorted: the matcher's view of a question, so rewordings compare equal.

    ``generic`` stems ("back", "pain") are left out unless nothing else is left.
    """
    stems = normaliser.content(normaliser.stems(text, correct=correct))
    specific = [s for s in stems if s not in generic]
    if specific or stems:
        return " ".join(sorted(specific or stems))
    # Only stop words ("hi?", "ok thanks"): compare the folded text instead of nothing.
    return " ".join(text.casefold().split())


def _similar(key: str, leader: str) -> bool:
    words, other = set(key.split()), set(leader.split())
    if len(words & other) >= MIN_SHARED * len(words | other):
        return True
    return fuzz.token_sort_ratio(key, leader, processor=None) >= GROUP_SORT_SCORE


def group_questions(
    rows: Iterable[UnansweredQuestion],
    kb: KnowledgeBase | None = None,
    *,
    normaliser: Normaliser | None = None,
    score: float = GROUP_SCORE,
    ask_matcher: int = 50,
) -> list[QuestionGroup]:
    """Group similar questions (leader clustering), most frequent first.

    With ``kb`` the questions are normalised like the matcher does (typos, synonyms) and each
    group's topic is checked against the current topics, and the first ``ask_matcher``
    groups also get the matcher's current suggestions; without it only stemming is used.
    """
    norm = normaliser or (kb.matcher.normaliser if kb else None)
    # Typo correction needs the knowledge's vocabulary; without it, words would be "corrected"
    # towards stop words.
    correct = norm is not None
    norm = norm or Normaliser.build((), None)
    if kb is not None:
        m = kb.matcher
        generic = frozenset(t for t, n in m.df.items() if n > m.generic_df)
    else:
        generic = frozenset(stem(w) for w in _FALLBACK_GENERIC)
    recent = sorted(rows, key=lambda r: r.id)[-MAX_ROWS:]
    # Identical keys first: real logs repeat the same question many times, and each distinct
    # key then costs one scan of the leaders instead of each row.
    by_key: dict[str, list[UnansweredQuestion]] = {}
    for row in recent:
        by_key.setdefault(question_key(row.question, norm, generic, correct=correct), []).append(
            row
        )
    # Frequent keys lead, so a group is named after its most common wording.
    keys = sorted(by_key, key=lambda k: (-len(by_key[k]), by_key[k][0].id))
    leaders: list[str] = []
    members: dict[str, list[UnansweredQuestion]] = {}
    # Leaders by the first letters of each word: only leaders sharing one are scored, which
    # keeps the cost near linear on real logs and still catches typos past those letters.
    index: dict[str, list[int]] = {}
    for key in keys:
        prefixes = {word[:_PREFIX] for word in key.split()}
        candidates = sorted({i for p in prefixes for i in index.get(p, ())})
        found = process.extract(
            key,
            [leaders[i] for i in candidates],
            scorer=fuzz.token_set_ratio,
            processor=None,
            score_cutoff=score,
            limit=_CANDIDATES,
        )
        home = next((leader for leader, _, _ in found if _similar(key, leader)), None)
        if home is None:
            for p in prefixes:
                index.setdefault(p, []).append(len(leaders))
            leaders.append(key)
            members[key] = []
            home = key
        members[home].extend(by_key[key])
    groups = [_make_group(members[leader], kb) for leader in leaders]
    groups.sort(key=lambda g: (-g.count, -g.last_seen.timestamp(), g.representative))
    if kb is not None:
        # Asking the matcher costs about a millisecond a group; the long tail of one-off
        # questions is rarely reviewed, so only the first groups get its suggestions.
        groups[:ask_matcher] = [_with_matcher(g, kb) for g in groups[:ask_matcher]]
    return groups


def _make_group(rows: Sequence[UnansweredQuestion], kb: KnowledgeBase | None) -> QuestionGroup:
    rows = sorted(rows, key=lambda r: r.id)
    texts = Counter(r.question.strip() for r in rows)
    # The most frequent wording; among equals the shortest, since it reads best as a phrasing.
    representative = min(texts, key=lambda q: (-texts[q], len(q), q))
    known = set(kb.topics_by_id) if kb else None
    logged = Counter(
        r.closest_topic
        for r in rows
        if r.closest_topic and (known is None or r.closest_topic in known)
    )
    ranked = [topic for topic, _ in logged.most_common()]
    closest = ranked[0] if ranked else None
    return QuestionGroup(
        representative, tuple(rows), closest, tuple(ranked[1 : MAX_ALTERNATIVES + 1])
    )


def _with_matcher(group: QuestionGroup, kb: KnowledgeBase) -> QuestionGroup:
    """The group with the matcher's current ranking added after the logged topics."""
    # The matcher's view today may differ from when the questions were logged.
    ranked = [t for t in (group.closest_topic, *group.alternatives) if t]
    for match in kb.matcher.decide(group.representative).matches:
        if match.topic_id not in ranked:
            ranked.append(match.topic_id)
    return dataclasses.replace(
        group,
        closest_topic=ranked[0] if ranked else None,
        alternatives=tuple(ranked[1 : MAX_ALTERNATIVES + 1]),
    )


def find_group(groups: Iterable[QuestionGroup], ref: str) -> QuestionGroup | None:
    """The group with this :attr:`QuestionGroup.ref`, or None if it is gone (handled)."""
    return next((g for g in groups if g.ref == ref), None)


def review(
    storage: Storage, kb: KnowledgeBase | None = None, since: datetime | None = None
) -> list[QuestionGroup]:
    """The groups to review now: not dismissed, most frequent first."""
    return group_questions(storage.unanswered(since), kb)


def accept_group(
    storage: Storage,
    kb_dir: Path,
    group: QuestionGroup,
    topic_id: str,
    phrasing: str | None = None,
    *,
    clinic: ClinicSettings | None = None,
    matching: MatchingSettings | None = None,
) -> AddedPhrasing:
    """Add the group's question to ``topic_id`` in faq.yaml, then drop the group from the log.

    Raises :class:`bot.problems.KnowledgeError` (and keeps the log) if the change is refused.
    """
    added = add_phrasing(
        kb_dir, topic_id, phrasing or group.representative, clinic=clinic, matching=matching
    )
    storage.delete_unanswered(group.ids)
    return added


def dismiss_group(storage: Storage, group: QuestionGroup) -> int:
    """Hide the group's questions from later reviews; return how many were hidden."""
    return storage.dismiss_unanswered(group.ids)
