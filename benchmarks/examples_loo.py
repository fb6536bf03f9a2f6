"""Each tuning set scored with its own messages taken out of knowledge/examples.yaml.

The tuning sets' in-scope messages are the shipped examples, so `backpain-bot eval` on a
tuning set measures partly what the topic model was shown. Left out one set at a time, each
set is scored by a matcher that never saw its messages: the figure to tune by.

Run: .venv/bin/python benchmarks/examples_loo.py [SET ...]   (default: every tuning set)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import evaluate, load_cases  # noqa: E402
from bot.knowledge import load_knowledge, normalise_question  # noqa: E402
from bot.matching import Matcher  # noqa: E402

EVAL = ROOT / "tests" / "eval"
KNOWLEDGE = ROOT / "knowledge"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", type=Path)
    args = parser.parse_args()
    sets = args.sets or [p for p in sorted(EVAL.glob("dev*.yaml")) if p.name != "dev6.yaml"]
    kb = load_knowledge(KNOWLEDGE, lint=False)
    examples = kb.examples
    shipped, detector = kb.index.get()
    print("| set | top-1 shipped | top-1 left out | rejection shipped | rejection left out |")
    print("|---|---|---|---|---|")
    sums = [0.0, 0.0, 0.0, 0.0]
    for path in sets:
        cases = load_cases(path)
        own = {normalise_question(c.text) for c in cases}
        rest = {
            topic: [t for t in texts if normalise_question(t) not in own]
            for topic, texts in examples.items()
        }
        left_out = Matcher(kb.faq, kb.synonyms, shipped.settings, shipped.normaliser, rest)
        with_own = evaluate(shipped, detector, cases, time.perf_counter)
        without = evaluate(left_out, detector, cases, time.perf_counter)
        figures = [with_own.top1, without.top1, with_own.rejection, without.rejection]
        sums = [s + f for s, f in zip(sums, figures, strict=True)]
        print(f"| {path.stem} | " + " | ".join(f"{100 * f:.1f}%" for f in figures) + " |")
    print("| mean | " + " | ".join(f"{100 * s / len(sets):.2f}%" for s in sums) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
