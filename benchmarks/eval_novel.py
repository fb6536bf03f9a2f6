"""Held-out figures on the messages that are new: not near-duplicates of a tuning message or a
faq.yaml question.

Blind writers of different sets still write some of the same messages ("physio for
sciatica?"), and a held-out message that is a near copy of one the bot was tuned on measures
memory, not matching. This prints each set's figures twice: on all its messages, and on those
whose closest tuning message or faq question scores below the cut (rapidfuzz ratio, 0-100).

Run: .venv/bin/python benchmarks/eval_novel.py [--cut 90] [SET ...]
(default: every tests/eval/heldout*.yaml; "seen" is every dev*.yaml, the validation set
included, since versions were chosen by it.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import Case, Report, evaluate_default, load_cases  # noqa: E402
from bot.knowledge import KnowledgeBase, load_knowledge  # noqa: E402

EVAL = ROOT / "tests" / "eval"


def seen_texts(kb: KnowledgeBase, but: Path) -> list[str]:
    """Every message of a tuning or validation set (but ``but``), and every faq.yaml question."""
    paths = [p for p in sorted(EVAL.glob("dev*.yaml")) if p.resolve() != but.resolve()]
    texts = [c.text for path in paths for c in load_cases(path)]
    return texts + [q for topic in kb.topics for q in topic.questions]


def novel(cases: list[Case], seen: list[str], cut: float) -> list[Case]:
    """The cases whose closest seen text scores below ``cut``."""
    kept = []
    for case in cases:
        best = process.extractOne(case.text, seen, scorer=fuzz.ratio)
        if best is None or best[1] < cut:
            kept.append(case)
    return kept


def row(name: str, report: Report) -> str:
    return (
        f"| {name} | {len(report.outcomes)} | {report.top1:.1%} | {report.rejection:.1%} | "
        f"{report.red_flag_recall:.1%} | {report.false_urgent:.1%} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--cut", type=float, default=90.0)
    args = parser.parse_args()
    kb = load_knowledge(ROOT / "knowledge")
    paths = args.sets or sorted(EVAL.glob("heldout*.yaml"))
    print(f"near-duplicate: rapidfuzz ratio >= {args.cut:g} to a tuning message or faq question")
    print("| set | messages | top-1 | rejection | red-flag recall | false urgent |")
    print("|---|---|---|---|---|---|")
    for path in paths:
        cases = load_cases(path)
        kept = novel(cases, seen_texts(kb, path), args.cut)
        for name, subset in ((path.stem, cases), (f"{path.stem}, new only", kept)):
            print(row(name, evaluate_default(kb.matcher, kb.red_flags_detector, subset)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
