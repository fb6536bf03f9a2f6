"""How long a fresh process takes to load the shipped knowledge: without and with the cache.

Each load runs in a new Python process, as a start of the bot or of `backpain-bot ask` does
(nothing from an earlier load is left in memory), and times `load_knowledge_cached(lint=False)`
alone; the imports before it are timed apart. "cold" has the cache turned off: every file
read and every example learned. "cached" reads a cache folder one earlier process filled.

Run: .venv/bin/python benchmarks/bench_load.py [--runs 7] [--kb knowledge]
A script, not a timed test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_ONE_LOAD = """
import json, sys, time
start = time.perf_counter()
from pathlib import Path
from bot.knowledge_cache import load_knowledge_cached
imported = time.perf_counter()
load_knowledge_cached(Path(sys.argv[1]), lint=False)
done = time.perf_counter()
print(json.dumps({"import": (imported - start) * 1000, "load": (done - imported) * 1000}))
"""


def one_load(kb: Path, cache: str) -> dict[str, float]:
    env = {**os.environ, "BACKPAIN_BOT_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _ONE_LOAD, str(kb)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = json.loads(out)
    return figures


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.0f} ms (min {min(values):.0f}, max {max(values):.0f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="backpain-cache-") as folder:
        one_load(args.kb, folder)  # fills the cache
        # Alternated, so a busy moment of the machine falls on both kinds alike.
        cold: list[dict[str, float]] = []
        cached: list[dict[str, float]] = []
        for _ in range(args.runs):
            cold.append(one_load(args.kb, "off"))
            cached.append(one_load(args.kb, folder))
    print(f"{args.runs} fresh processes each, `load_knowledge_cached(lint=False)` of {args.kb}:")
    print(f"  cold (cache off)   load {summary([r['load'] for r in cold])}")
    print(f"  from the cache     load {summary([r['load'] for r in cached])}")
    print(f"  imports before it  {summary([r['import'] for r in cold + cached])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
