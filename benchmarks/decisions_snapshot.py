"""Every decision the matcher and the red-flag check make on a fixed set of texts, as text.

Run before and after a speed change and `diff` the two outputs: any line that differs means
the change altered a decision, a reason, a ranking or a score, and is wrong.

    .venv/bin/python benchmarks/decisions_snapshot.py > /tmp/before.txt
    ... change the code ...
    .venv/bin/python benchmarks/decisions_snapshot.py > /tmp/after.txt
    diff /tmp/before.txt /tmp/after.txt   # must print nothing

Texts: every message of tests/eval/dev*.yaml (never the held-out sets), every question of the
knowledge base (also ranked with itself left out, as the lint can), the red-flag phrases, the
Spanish questions and red-flag phrases through the Spanish matcher and check, and the
benchmark's generated 1,000-topic base with its queries. Scores are printed with repr() and
unrounded per-segment scores in the order the matcher made them, so a change in the last bit
of a float, or in the order a float sum sees its terms, shows up. The last part is the output
of `backpain-bot check` (the admins' lint warnings).
"""

from __future__ import annotations

import contextlib
import io
import random
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_matching import generated_faq  # noqa: E402
from bot.cli import main as cli_main  # noqa: E402
from bot.config import MatchingSettings  # noqa: E402
from bot.evaluation import load_cases  # noqa: E402
from bot.knowledge import build_matching, load_knowledge  # noqa: E402
from bot.matching import Matcher, tokenize  # noqa: E402
from bot.safety import RedFlagDetector  # noqa: E402
from bot.schema import FaqFile, RedFlagsFile  # noqa: E402


def dev_texts() -> list[str]:
    """Every message of the development sets; the held-out sets are never read."""
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "eval").glob("dev*.yaml")):
        texts.extend(case.text for case in load_cases(path))
    return texts


def question_texts(faq: FaqFile) -> list[str]:
    return [q for t in faq.topics for q in (t.title, *t.questions)]


def flag_texts(red_flags: RedFlagsFile) -> list[str]:
    texts = [p for c in red_flags.categories for p in (*c.phrases, *c.unless)]
    texts += [w for c in red_flags.categories for k in c.concepts for g in k.all_of for w in g]
    return texts


def describe(matcher: Matcher, detector: RedFlagDetector, text: str) -> Iterable[str]:
    """The lines that pin down everything both components decide about ``text``."""
    hit = detector.check(text)
    yield f"TEXT {text!r}"
    yield f"  flag {(hit.category_id, hit.phrase, repr(hit.score)) if hit else None}"
    decision = matcher.decide(text)
    yield f"  decide {decision.outcome} | {decision.reason}"
    yield "    " + " ".join(f"{m.topic_id}={m.score!r}" for m in decision.matches)
    matches, specific = matcher.rank(text)
    yield f"  rank specific={specific} " + " ".join(f"{m.topic_id}={m.score!r}" for m in matches)
    share, outside = matcher.unknown_share(text), matcher.not_covered(text)
    yield f"  unknown_share {share!r} not_covered {outside}"
    # Unrounded, per segment, in the order the matcher built them (the order matters: a
    # large base sums its topic model over them in that order).
    for tokens in matcher.segments(text):
        scored = matcher._score_tokens(tokens)
        yield f"  segment {tokens}"
        yield "    " + " ".join(f"{t}:{s!r}:{int(f)}" for t, (s, f) in scored.items())


def own_questions(matcher: Matcher, faq: FaqFile) -> Iterable[str]:
    """Each indexed question ranked with itself left out (``skip``), as the lint could."""
    norm = matcher.normaliser
    qi = 0
    for topic in faq.topics:
        for question in (topic.title, *topic.questions):
            if not norm.content(norm.stems(question, correct=False)):
                continue  # not indexed: no content word
            matches, specific = matcher.rank(question, skip=qi)
            yield f"SKIP {qi} {question!r} specific={specific} " + " ".join(
                f"{m.topic_id}={m.score!r}" for m in matches
            )
            qi += 1


def main() -> int:
    out = sys.stdout
    kb = load_knowledge(ROOT / "knowledge", lint=False)
    matcher, detector = kb.matcher, kb.red_flags_detector
    out.write("== English: dev sets\n")
    dev = dev_texts()
    for text in dev:
        out.writelines(line + "\n" for line in describe(matcher, detector, text))
    out.write("== English: knowledge questions and red-flag phrases\n")
    for text in question_texts(kb.faq) + flag_texts(kb.red_flags):
        out.writelines(line + "\n" for line in describe(matcher, detector, text))
    out.writelines(line + "\n" for line in own_questions(matcher, kb.faq))

    es = kb.for_language("es")
    out.write("== Spanish: questions, red-flag phrases, and the English dev sets\n")
    spanish = question_texts(es.faq) + flag_texts(es.red_flags)
    for text in spanish + dev:
        out.writelines(line + "\n" for line in describe(es.matcher, es.red_flags_detector, text))

    # The benchmark's 1,000-topic base and queries (same seed and recipe as bench_matching).
    out.write("== Generated 1,000 topics\n")
    rng = random.Random(3)
    vocabulary = sorted({t for t in (w for q in dev for w in tokenize(q)) if len(t) > 2})
    faq = generated_faq(1000, vocabulary, rng)
    big_matcher, big_detector = build_matching(faq, kb.synonyms, kb.red_flags, MatchingSettings())
    sampled = []
    for topic in rng.sample(list(faq.topics), 200):
        words = rng.choice(topic.questions).split()
        words.pop(rng.randrange(len(words)))
        sampled.append(" ".join(words))
    for text in sampled + dev[:300]:
        out.writelines(line + "\n" for line in describe(big_matcher, big_detector, text))

    out.write("== backpain-bot check\n")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli_main(["check", "--kb", str(ROOT / "knowledge")])
    out.write(buffer.getvalue())
    out.write(f"exit {code}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
