"""Labelled evaluation sets for the matcher and red-flag check, and the figures on them."""

from __future__ import annotations

import itertools
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.engine import Engine, Text
from bot.knowledge import KnowledgeBase
from bot.matching import Decision, Match, Matcher
from bot.replies import Reply
from bot.routing import route
from bot.safety import RedFlagDetector

ALLOWED_KEYS = frozenset({"text", "expect", "also", "urgent", "category", "near_miss", "note"})


class EvalSetError(ValueError):
    """The labelled set cannot be read; the message says which case and why."""


@dataclass(frozen=True)
class Case:
    """One labelled message. ``expect`` is a topic id, or None for out of scope."""

    text: str
    expect: str | None
    also: tuple[str, ...] = ()
    urgent: bool = False
    category: str | None = None
    near_miss: bool = False

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset(self.also) | ({self.expect} if self.expect else set())


def load_cases(path: Path) -> list[Case]:
    """Read a labelled set (format in tests/eval/README.md); raise EvalSetError on mistakes."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EvalSetError(f"{path}: cannot read the set: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise EvalSetError(f"{path}: expected `version: 1` and a `cases:` list")
    cases: list[Case] = []
    for i, raw in enumerate(data["cases"]):
        cases.append(_case(raw, f"{path}: cases[{i}]"))
    return cases


def _case(raw: Any, where: str) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise EvalSetError(f"{where}: each case needs a `text` string")
    unknown = set(raw) - ALLOWED_KEYS
    if unknown:
        raise EvalSetError(f"{where}: unknown keys {sorted(unknown)}")
    urgent = bool(raw.get("urgent", False))
    if "expect" not in raw and not urgent:
        raise EvalSetError(f"{where}: a case that is not urgent needs `expect`")
    expect = raw.get("expect")
    return Case(
        text=raw["text"],
        expect=None if expect in (None, "none") else str(expect),
        also=tuple(str(a) for a in raw.get("also") or ()),
        urgent=urgent,
        category=raw.get("category"),
        near_miss=bool(raw.get("near_miss", False)),
    )


@dataclass(frozen=True)
class Outcome:
    """What the bot did with one case."""

    case: Case
    decision: Decision
    urgent_category: str | None
    seconds: float
    reminded: bool = False  # the one-line reminder after ruled-out red-flag words followed

    @property
    def urgent(self) -> bool:
        return self.urgent_category is not None

    @property
    def answered(self) -> str | None:
        """The topic the bot answered with (None when urgent, suggesting or not knowing)."""
        return None if self.urgent else self.decision.topic_id

    @property
    def correct(self) -> bool:
        """Whether the bot did the right thing for this case, by its labels."""
        if self.case.urgent:
            return self.urgent
        if self.urgent:
            return False
        if self.case.expect is None:
            return self.answered is None
        return self.answered in self.case.accepted


def _rate(hits: int, total: int) -> float:
    return hits / total if total else 1.0


@dataclass(frozen=True)
class Report:
    """The figures issue 3 asks for, over one labelled set."""

    outcomes: tuple[Outcome, ...]
    confusions: tuple[tuple[str, str, int], ...] = field(default=())

    def _select(self, keep: Callable[[Outcome], bool]) -> list[Outcome]:
        return [o for o in self.outcomes if keep(o)]

    @property
    def in_scope(self) -> list[Outcome]:
        return self._select(lambda o: not o.case.urgent and o.case.expect is not None)

    @property
    def out_of_scope(self) -> list[Outcome]:
        return self._select(lambda o: not o.case.urgent and o.case.expect is None)

    @property
    def red_flags(self) -> list[Outcome]:
        return self._select(lambda o: o.case.urgent)

    @property
    def not_urgent(self) -> list[Outcome]:
        return self._select(lambda o: not o.case.urgent)

    @property
    def top1(self) -> float:
        cases = self.in_scope
        return _rate(sum(o.correct for o in cases), len(cases))

    @property
    def rejection(self) -> float:
        cases = self.out_of_scope
        return _rate(sum(o.correct for o in cases), len(cases))

    @property
    def red_flag_recall(self) -> float:
        cases = self.red_flags
        return _rate(sum(o.urgent for o in cases), len(cases))

    @property
    def false_urgent(self) -> float:
        cases = self.not_urgent
        return sum(o.urgent for o in cases) / len(cases) if cases else 0.0

    @property
    def near_miss_false_urgent(self) -> float:
        cases = [o for o in self.not_urgent if o.case.near_miss]
        return sum(o.urgent for o in cases) / len(cases) if cases else 0.0

    @property
    def suggest_rate(self) -> float:
        """Share of in-scope messages answered with "did you mean" choices instead."""
        cases = self.in_scope
        suggested = sum(o.decision.outcome == "suggest" and not o.urgent for o in cases)
        return suggested / len(cases) if cases else 0.0

    @property
    def in_suggestions(self) -> float:
        """Share of in-scope messages whose right topic is the answer or among the choices."""
        cases = self.in_scope
        hits = sum(
            o.correct
            or (
                o.decision.outcome == "suggest"
                and any(m.topic_id in o.case.accepted for m in o.decision.matches[:3])
            )
            for o in cases
        )
        return _rate(hits, len(cases))

    def reminders(self) -> tuple[int, int, float]:
        """Missed red flags the reminder followed, how many were missed, and the share of the
        other messages it followed."""
        missed = [o for o in self.red_flags if not o.urgent]
        others = [o for o in self.not_urgent if not o.urgent]
        share = sum(o.reminded for o in others) / len(others) if others else 0.0
        return sum(o.reminded for o in missed), len(missed), share

    def timing_ms(self) -> tuple[float, float]:
        """Median and 99th percentile time per message, in milliseconds (safety + matching)."""
        times = sorted(o.seconds * 1000 for o in self.outcomes)
        if not times:
            return 0.0, 0.0
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        return statistics.median(times), p99

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]


def _label(outcome: Outcome) -> str:
    if outcome.urgent:
        return "URGENT"
    decision = outcome.decision
    if decision.outcome == "answer":
        return decision.topic_id or "?"
    return decision.outcome


def evaluate(
    matcher: Matcher,
    detector: RedFlagDetector,
    cases: Iterable[Case],
    clock: Callable[[], float],
    language: str = "en",
) -> Report:
    """Run every case through safety then the engine's route, as the bot does, and compute the
    figures (small talk and a lone question about the bot answer no topic)."""
    outcomes: list[Outcome] = []
    for case in cases:
        start = clock()
        reading = detector.read(case.text)
        hit, reminded = reading.hit, False
        if hit is not None:
            decision = Decision("unknown", (), f"red flag `{hit.phrase}`")
        else:
            chosen = route(matcher, case.text, language)
            decision = chosen.decision or Decision("unknown", (), "small talk or about the bot")
            reminded = reading.reminder is not None and not chosen.warning_signs
        category = hit.category_id if hit else None
        outcomes.append(Outcome(case, decision, category, clock() - start, reminded))
    confusions: Counter[tuple[str, str]] = Counter()
    for o in outcomes:
        if not o.correct:
            expected = "URGENT" if o.case.urgent else (o.case.expect or "none")
            confusions[(expected, _label(o))] += 1
    return Report(
        tuple(outcomes),
        tuple((e, g, n) for (e, g), n in confusions.most_common()),
    )


def evaluate_default(matcher: Matcher, detector: RedFlagDetector, cases: Iterable[Case]) -> Report:
    return evaluate(matcher, detector, cases, time.perf_counter)


# --- calibration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    answer_score: float
    suggest_score: float
    margin: float


def _decide(matches: Sequence[Match], specific: bool, t: Thresholds) -> str | None:
    """The answered topic under thresholds ``t``; mirrors Matcher.decide (``specific`` False
    also stands for a message about something the knowledge base does not cover, or one
    with too many words the base never uses)."""
    if not matches or not specific:
        return None
    best = matches[0].score
    second = matches[1].score if len(matches) > 1 else 0.0
    if best >= t.answer_score and best - second >= t.margin:
        return matches[0].topic_id
    return None


def calibrate_thresholds(
    matcher: Matcher,
    cases: Sequence[Case],
    answer_scores: Iterable[float] = range(40, 91, 2),
    margins: Iterable[float] = (1, 2, 3, 4, 5, 6, 8, 10),
    min_rejection: float = 0.95,
    detector: RedFlagDetector | None = None,
) -> tuple[Thresholds, float, float]:
    """Grid-search answer score and margin on labelled tuning sets (never the held-out one).

    Margins start at 1: the issue asks for an answer only when clearly ahead of the runner-up.
    Maximises in-scope top-1 among the settings that reject at least ``min_rejection`` of
    the out-of-scope messages (the issue's target: a wrong answer to an unrelated question
    costs more than a "did you mean"); when none does, the best top-1 plus rejection. Ties go
    to the stricter setting. Returns the thresholds and the top-1 and rejection they reach.
    With ``detector``, a message it sends to urgent care counts as wrong, as `eval` counts it.
    """
    scored = [
        (
            case,
            matches,
            specific
            and matcher.not_covered(case.text) is None
            and matcher.unknown_share(case.text) <= matcher.settings.max_unknown_share,
        )
        for case in cases
        if not case.urgent
        for matches, specific in [matcher.rank(case.text)]
    ]
    urgent = {id(c) for c, _, _ in scored if detector is not None and detector.check(c.text)}
    best: tuple[tuple[float, float, float], float, float, Thresholds] | None = None
    for answer, margin in itertools.product(list(answer_scores), list(margins)):
        t = Thresholds(float(answer), float(answer) - 20, float(margin))
        in_hits = in_total = out_hits = out_total = 0
        for case, matches, specific in scored:
            got = _decide(matches, specific, t)
            wrong = id(case) in urgent
            if case.expect is None:
                out_total += 1
                out_hits += got is None and not wrong
            else:
                in_total += 1
                in_hits += got in case.accepted and not wrong
        top1, rejection = _rate(in_hits, in_total), _rate(out_hits, out_total)
        feasible = rejection >= min_rejection
        key = (float(feasible), top1 if feasible else top1 + rejection, answer + margin)
        if best is None or key > best[0]:
            best = (key, top1, rejection, t)
    assert best is not None
    return best[3], best[1], best[2]


# --- one question, as `backpain-bot ask` answers it -------------------------------------------


@dataclass(frozen=True)
class AskResult:
    """The bot's reply to one free-text message; ``as_json`` is the ask contract's object."""

    question: str
    topic: str | None
    score: float
    urgent: bool
    suggestions: tuple[str, ...]
    answer: str
    reason: str

    def as_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "topic": self.topic,
            "score": self.score,
            "urgent": self.urgent,
            "suggestions": list(self.suggestions),
            "answer": self.answer,
        }


def ask(kb: KnowledgeBase, text: str, engine: Engine | None = None) -> AskResult:
    """What the bot sends for one message outside a conversation: the engine's own replies,
    each option on a line of its own ("- Title"), with the topic, score and suggestions of the
    red-flag check and the route it took. Pass ``engine`` to reuse one for many messages."""
    _, replies, _ = (engine or Engine(kb)).handle(None, Text(text), datetime.now(UTC))
    answer = "\n\n".join(_as_text(reply) for reply in replies)
    hit = kb.red_flags_detector.check(text)
    if hit is not None:
        return AskResult(text, None, hit.score, True, (), answer, f"red flag `{hit.phrase}`")
    chosen = route(kb.matcher, text, kb.language)
    decision = chosen.decision
    if decision is None:
        kind = (
            "small talk" if chosen.small_talk else "warning signs" if chosen.warning_signs else ""
        )
        return AskResult(text, None, 0.0, False, (), answer, kind or "asks about the bot")
    topic = chosen.topic_id if chosen.topic_id in kb.topics_by_id else None
    suggestions = (
        tuple(m.topic_id for m in decision.matches) if decision.outcome == "suggest" else ()
    )
    return AskResult(text, topic, decision.score, False, suggestions, answer, decision.reason)


def _as_text(reply: Reply) -> str:
    """A reply as plain text, its options (buttons in Telegram) as "- label" lines."""
    return "\n".join([reply.text.strip(), *(f"- {option.label}" for option in reply.options)])


def format_report(report: Report, name: str, confusions: int = 10) -> str:
    """The figures as text, for `backpain-bot eval`."""
    median, p99 = report.timing_ms()
    reminded, missed, reminder_share = report.reminders()
    near = [o for o in report.not_urgent if o.case.near_miss]
    lines = [
        f"{name}: {len(report.outcomes)} messages",
        f"in-scope top-1 accuracy   {report.top1:6.1%}  ({len(report.in_scope)} messages)",
        f"out-of-scope rejection    {report.rejection:6.1%}  "
        f"({len(report.out_of_scope)} messages)",
        f"red-flag recall           {report.red_flag_recall:6.1%}  "
        f"({len(report.red_flags)} messages)",
        f"false-urgent rate         {report.false_urgent:6.1%}  "
        f"({len(report.not_urgent)} non-urgent; near misses {report.near_miss_false_urgent:.1%}"
        f" of {len(near)})",
        f"red-flag reminder         after {reminded} of {missed} missed red flags, "
        f"{reminder_share:.1%} of other messages",
        f"suggest rate (in-scope)   {report.suggest_rate:6.1%}  "
        f"(right topic answered or among choices: {report.in_suggestions:.1%})",
        f"time per message          median {median:.3f} ms, p99 {p99:.3f} ms",
    ]
    if report.confusions:
        lines.append("most frequent confusions (expected -> got: count):")
        lines += [f"  {e} -> {g}: {n}" for e, g, n in report.confusions[:confusions]]
    return "\n".join(lines)
