"""Speed of the matcher and red-flag check: per-message median/p99, load+index time, peak memory.

Run: .venv/bin/python benchmarks/bench_matching.py [--kb knowledge] [--sizes 1000 10000]
     .venv/bin/python benchmarks/bench_matching.py --sizes --split   # check and decide apart
A script, not a timed test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import MatchingSettings  # noqa: E402
from bot.evaluation import load_cases  # noqa: E402
from bot.knowledge import build_matching, load_knowledge  # noqa: E402
from bot.matching import Matcher, tokenize  # noqa: E402
from bot.safety import RedFlagDetector  # noqa: E402
from bot.schema import FaqFile  # noqa: E402

QUESTIONS_PER_TOPIC = 8


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def time_queries(
    matcher: Matcher, detector: RedFlagDetector, queries: list[str], rounds: int = 3
) -> tuple[float, float]:
    """Median and p99 in ms of the red-flag reading (as the bot reads: phrases, then likeness)
    + decision per message."""
    times: list[float] = []
    for query in queries:  # warm caches (typo corrections) the way a running bot has them
        detector.read(query)
        matcher.decide(query)
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            detector.read(query)
            matcher.decide(query)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), percentile(times, 0.99)


def time_apart(
    matcher: Matcher, detector: RedFlagDetector, queries: list[str], rounds: int = 5
) -> dict[str, tuple[float, float]]:
    """Median and p99 in ms of the red-flag check, the decision and both, each message's best
    of ``rounds`` (less noisy than every round on a shared machine: it shows what the code
    costs, not what the neighbours do)."""
    for query in queries:
        detector.read(query)
        matcher.decide(query)
    best: dict[str, list[float]] = {"check": [], "decide": [], "both": []}
    for query in queries:
        check = decide = both = math.inf
        for _ in range(rounds):
            start = time.perf_counter()
            detector.read(query)
            middle = time.perf_counter()
            matcher.decide(query)
            end = time.perf_counter()
            check = min(check, middle - start)
            decide = min(decide, end - middle)
            both = min(both, end - start)
        best["check"].append(check * 1000)
        best["decide"].append(decide * 1000)
        best["both"].append(both * 1000)
    return {k: (statistics.median(v), percentile(v, 0.99)) for k, v in best.items()}


def generated_faq(topics: int, vocabulary: list[str], rng: random.Random) -> FaqFile:
    """A big knowledge base: each topic has its own made-up key words plus shared real words."""
    items = []
    for i in range(topics):
        keys = [f"{rng.choice('bcdfgklmnprst')}{rng.choice('aeiou')}{i:x}{j}" for j in range(3)]
        questions = []
        for _ in range(QUESTIONS_PER_TOPIC):
            words = rng.sample(vocabulary, 5) + rng.sample(keys, 2)
            rng.shuffle(words)
            questions.append(" ".join(words) + "?")
        items.append(
            {
                "id": f"topic-{i}",
                "title": f"Topic {i}",
                "questions": questions,
                "answer": "An answer.",
                "source": "clinic",
            }
        )
    return FaqFile.model_validate({"version": 1, "topics": items})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--set", type=Path, default=ROOT / "tests" / "eval" / "dev.yaml")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument(
        "--split",
        action="store_true",
        help="also time the red-flag check and the decision apart on every dev*.yaml message",
    )
    args = parser.parse_args()

    rows: list[tuple[str, str, float, float, float, float]] = []
    # What the bot does at start: read, validate and index (the admins' lint is not run there).
    start = time.perf_counter()
    kb = load_knowledge(args.kb, lint=False)
    load_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    load_knowledge(args.kb)
    lint_load_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    build_matching(kb.faq, kb.synonyms, kb.red_flags, MatchingSettings(), kb.examples)
    index_ms = (time.perf_counter() - start) * 1000
    queries = [case.text for case in load_cases(args.set)]
    median, p99 = time_queries(kb.matcher, kb.red_flags_detector, queries)
    tracemalloc.start()
    build_matching(kb.faq, kb.synonyms, kb.red_flags, MatchingSettings(), kb.examples)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rows.append(
        (
            f"shipped ({len(kb.topics)} topics)",
            f"{len(queries)} dev msgs",
            median,
            p99,
            load_ms,
            peak,
        )
    )
    print(
        f"(shipped: load_knowledge {load_ms:.0f} ms, of which matcher+detector index "
        f"{index_ms:.0f} ms; with the admins' lint, as `check` loads, {lint_load_ms:.0f} ms "
        "warm)",
        file=sys.stderr,
    )

    rng = random.Random(3)
    vocabulary = sorted({t for t in (w for q in queries for w in tokenize(q)) if len(t) > 2})
    for size in args.sizes:
        faq = generated_faq(size, vocabulary, rng)
        # Timed without tracemalloc (it slows allocation-heavy code several times over),
        # then built again under it for the peak memory.
        start = time.perf_counter()
        matcher, detector = build_matching(faq, kb.synonyms, kb.red_flags, MatchingSettings())
        build_ms = (time.perf_counter() - start) * 1000
        tracemalloc.start()
        build_matching(faq, kb.synonyms, kb.red_flags, MatchingSettings())
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        # Queries: the dev messages (mostly no match), plus questions of random topics with a
        # typo and a word dropped (matches), so both paths are timed.
        sampled = []
        for topic in rng.sample(list(faq.topics), 200):
            words = rng.choice(topic.questions).split()
            words.pop(rng.randrange(len(words)))
            word = words[0]
            words[0] = word[:-2] + word[-1] + word[-2] if len(word) > 3 else word
            sampled.append(" ".join(words))
        median, p99 = time_queries(matcher, detector, queries + sampled, rounds=1)
        rows.append(
            (f"generated {size} topics", f"{len(queries) + 200} msgs", median, p99, build_ms, peak)
        )

    if args.split:
        sets = sorted(args.set.parent.glob("dev*.yaml"))  # never the held-out sets
        every = [case.text for path in sets for case in load_cases(path)]
        apart = time_apart(kb.matcher, kb.red_flags_detector, every)
        print(f"shipped, {len(every)} dev*.yaml messages, each its best of 5 rounds:")
        for part, (med, p99v) in apart.items():
            print(f"  {part:6s} median {med:.3f} ms  p99 {p99v:.3f} ms")

    header = ("knowledge base", "queries", "median ms", "p99 ms", "load+index ms", "peak MB")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for name, what, med, p99v, load, mem in rows:
        print(f"| {name} | {what} | {med:.3f} | {p99v:.3f} | {load:.0f} | {mem:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
