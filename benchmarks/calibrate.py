"""Grid-search the answer threshold and margin on the tuning sets (never on the held-out set).

Run: .venv/bin/python benchmarks/calibrate.py [--kb knowledge] [--set dev.yaml dev2.yaml]
Prints the best thresholds for the current scoring weights; copy them into MatchingSettings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import calibrate_thresholds, load_cases  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    parser.add_argument(
        "--set",
        type=Path,
        nargs="+",
        default=[ROOT / "tests" / "eval" / "dev.yaml", ROOT / "tests" / "eval" / "dev2.yaml"],
    )
    args = parser.parse_args()
    if any(path.name.startswith("heldout") for path in args.set):
        print("refusing to calibrate on the held-out set", file=sys.stderr)
        return 2
    kb = load_knowledge(args.kb)
    cases = [case for path in args.set for case in load_cases(path)]
    thresholds, top1, rejection = calibrate_thresholds(
        kb.matcher, cases, detector=kb.red_flags_detector
    )
    print(
        f"answer_score={thresholds.answer_score} suggest_score={thresholds.suggest_score} "
        f"margin={thresholds.margin}: top-1 {top1:.1%}, rejection {rejection:.1%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
