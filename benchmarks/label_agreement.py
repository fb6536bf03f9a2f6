"""How often two independent labellers agree on a set, and the bot's figures where they agree.

Run: .venv/bin/python benchmarks/label_agreement.py tests/eval/heldout.yaml [...]
Each set needs second labels in tests/eval/second_labels/<name>.yaml: the same texts in the same
order, labelled by someone who read only the texts (tests/eval/README.md). Prints totals only,
never a case, so it is safe to run on held-out sets.

A case's label is its topic (with `also`), `none`, or URGENT. Two labels agree when they share a
topic (or both say none, or both say urgent). Agreement is the ceiling of any bot judged by one
labeller: where careful people disagree, no answer can be right by both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import Case, Report, evaluate_default, load_cases  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402

URGENT = "URGENT"
NONE = "none"


def labels(case: Case) -> frozenset[str]:
    """What the labeller accepts: URGENT, or the topics (with `also`), or none."""
    if case.urgent:
        return frozenset({URGENT})
    return case.accepted or frozenset({NONE})


def agree(first: Case, second: Case) -> bool:
    return not labels(first).isdisjoint(labels(second))


def figures(report: Report) -> str:
    return (
        f"top-1 {report.top1:6.1%} ({len(report.in_scope)}), "
        f"rejection {report.rejection:6.1%} ({len(report.out_of_scope)}), "
        f"recall {report.red_flag_recall:6.1%} ({len(report.red_flags)}), "
        f"false urgent {report.false_urgent:5.1%} ({len(report.not_urgent)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", type=Path, nargs="+")
    args = parser.parse_args()
    kb = load_knowledge(ROOT / "knowledge", lint=False)
    for path in args.sets:
        second_path = path.parent / "second_labels" / path.name
        first, second = load_cases(path), load_cases(second_path)
        if [c.text for c in first] != [c.text for c in second]:
            print(f"{second_path}: its texts are not {path}'s, in the same order", file=sys.stderr)
            return 1
        pairs = list(zip(first, second, strict=True))
        agreed = [a for a, b in pairs if agree(a, b)]
        urgent_split = sum(a.urgent != b.urgent for a, b in pairs)
        both_urgent = [(a, b) for a, b in pairs if a.urgent and b.urgent]
        same_category = sum(a.category == b.category for a, b in both_urgent)
        topic_pairs = [(a, b) for a, b in pairs if a.expect and not a.urgent and not b.urgent]
        topic_agreed = sum(agree(a, b) for a, b in topic_pairs)
        print(f"== {path.name}: {len(pairs)} cases")
        print(
            f"labellers agree on {len(agreed)} ({len(agreed) / len(pairs):.1%}); "
            f"urgent or not: {urgent_split} split; red-flag category: {same_category} of "
            f"{len(both_urgent)} alike; first labeller's in-scope topics: {topic_agreed} of "
            f"{len(topic_pairs)} ({topic_agreed / max(1, len(topic_pairs)):.1%}) shared"
        )
        whole = evaluate_default(kb.matcher, kb.red_flags_detector, first)
        print(f"  all cases, first labels:   {figures(whole)}")
        where_agreed = evaluate_default(kb.matcher, kb.red_flags_detector, agreed)
        print(f"  where the labellers agree: {figures(where_agreed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
