"""Each tuning set scored with its own messages taken out of knowledge/examples.yaml.

The tuning sets' messages are the shipped examples, so `backpain-bot eval` on a tuning set
measures partly what was learned from it. Left out one set at a time, each set is scored by
models that never saw its messages: the figures to tune by.

- top-1 and rejection of the matcher (whose topic model learns from the examples);
- the red-flag likeness model (bot/likeness.py): the share of the set's urgent messages it
  would name a category for if no phrase had caught them, and the share of its other
  messages (those no phrase catches or sets aside) that would get the reminder line.

Run: .venv/bin/python benchmarks/examples_loo.py [--likeness 0.95] [SET ...]
(default: every tuning set)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import Case, evaluate, load_cases  # noqa: E402
from bot.knowledge import (  # noqa: E402
    KnowledgeBase,
    MatchingIndex,
    build_matching,
    load_knowledge,
)
from bot.knowledge import normalise_question as normal  # noqa: E402

EVAL = ROOT / "tests" / "eval"
KNOWLEDGE = ROOT / "knowledge"


def left_out(kb: KnowledgeBase, cases: list[Case], likeness: float) -> KnowledgeBase:
    """A base whose models learned from every example but those of ``cases``."""
    own = {normal(c.text) for c in cases}

    def keep(texts: tuple[str, ...] | list[str]) -> list[str]:
        return [t for t in texts if normal(t) not in own]

    settings = kb.matcher.settings.model_copy(update={"red_flag_likeness": likeness})
    matcher, detector = build_matching(
        kb.faq,
        kb.synonyms,
        kb.red_flags,
        settings,
        {topic: keep(list(texts)) for topic, texts in kb.examples.items()},
        {category: keep(list(texts)) for category, texts in kb.urgent_examples.items()},
        keep(list(kb.other_examples)),
    )
    return dataclasses.replace(kb, index=MatchingIndex.ready(matcher, detector))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--likeness", type=float, default=None)
    args = parser.parse_args()
    sets = args.sets or [p for p in sorted(EVAL.glob("dev*.yaml")) if p.name != "dev6.yaml"]
    kb = load_knowledge(KNOWLEDGE, lint=False)
    likeness = args.likeness or kb.matcher.settings.red_flag_likeness
    print(
        "| set | top-1 shipped | top-1 left out | rejection shipped | rejection left out "
        "| urgent it would name | others reminded |"
    )
    print("|---|---|---|---|---|---|---|")
    sums = [0.0] * 4
    named = urgent_total = reminded = others = 0
    for path in sets:
        cases = load_cases(path)
        base = left_out(kb, cases, likeness)
        with_own = evaluate(kb.matcher, kb.red_flags_detector, cases, time.perf_counter)
        without = evaluate(base.matcher, base.red_flags_detector, cases, time.perf_counter)
        figures = [with_own.top1, without.top1, with_own.rejection, without.rejection]
        sums = [s + f for s, f in zip(sums, figures, strict=True)]
        model = base.red_flags_detector.likeness
        assert model is not None, "no urgent examples to learn from"
        urgent = [c for c in cases if c.urgent]
        set_named = sum(model.category_of(c.text) is not None for c in urgent)
        set_others = [o for o in without.outcomes if not o.case.urgent and not o.urgent]
        set_reminded = sum(o.reminded for o in set_others)
        named, urgent_total = named + set_named, urgent_total + len(urgent)
        reminded, others = reminded + set_reminded, others + len(set_others)
        row = [f"{100 * f:.1f}%" for f in figures]
        row += [f"{set_named}/{len(urgent)}", f"{set_reminded}/{len(set_others)}"]
        print(f"| {path.stem} | " + " | ".join(row) + " |")
    mean = [f"{100 * s / len(sets):.2f}%" for s in sums]
    share = [
        f"{100 * named / max(urgent_total, 1):.1f}%",
        f"{100 * reminded / max(others, 1):.1f}%",
    ]
    print("| mean / all | " + " | ".join(mean + share) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
