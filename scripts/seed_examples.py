"""Add the tuning sets' in-scope messages to knowledge/examples.yaml, under their topics.

Run: .venv/bin/python scripts/seed_examples.py [--kb knowledge]

The tuning sets (tests/eval/dev*.yaml but dev6, the validation set) were written blind, the
way people write; their in-scope messages teach the matcher's topic model how people word
each topic. The validation and held-out sets are never read: they measure what it learned.
Messages already in the file stay as they are (a clinic's own additions included); only new
ones are added, and the file is rewritten in topic order.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import load_cases  # noqa: E402
from bot.knowledge import EXAMPLES_FILE, load_knowledge, normalise_question  # noqa: E402
from bot.schema import ExamplesFile, schema_filename  # noqa: E402
from bot.yamlfile import read_yaml  # noqa: E402

EVAL = ROOT / "tests" / "eval"
# Never examples: the validation set decides what is kept, the held-out sets are the test.
NOT_FOR_TRAINING = ("dev6.yaml",)

HEADER = f"""\
# yaml-language-server: $schema=schemas/{schema_filename(EXAMPLES_FILE)}
#
# Messages people sent, each under the topic it asks about. The bot never shows them: it
# learns from them which wordings go with which topic, so a message worded like one of these
# is told apart from a neighbouring topic. Add a message the bot answered wrongly here, under
# the topic it should have had (see README.md, "Teaching the bot a wording").
#
# Seeded from the tuning sets in tests/eval/ by scripts/seed_examples.py.
"""


def tuning_sets() -> list[Path]:
    return [p for p in sorted(EVAL.glob("dev*.yaml")) if p.name not in NOT_FOR_TRAINING]


def render(examples: dict[str, list[str]], topic_order: list[str]) -> str:
    lines = [HEADER, "version: 1", "examples:"]
    for topic_id in sorted(examples, key=topic_order.index):
        lines.append(f"  {topic_id}:")
        # JSON strings are valid YAML double-quoted strings: emoji, quotes and colons are safe.
        lines += [f"    - {json.dumps(text, ensure_ascii=False)}" for text in examples[topic_id]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    args = parser.parse_args()
    kb = load_knowledge(args.kb, lint=False)
    topic_order = [t.id for t in kb.topics]
    path = args.kb / EXAMPLES_FILE
    examples: dict[str, list[str]] = {}
    if path.exists():
        current = ExamplesFile.model_validate(read_yaml(path).data)
        examples = {k: list(v) for k, v in current.examples.items()}
    seen = {normalise_question(t) for texts in examples.values() for t in texts}
    added = 0
    for set_path in tuning_sets():
        for case in load_cases(set_path):
            if case.expect is None or case.urgent or case.expect not in topic_order:
                continue
            key = normalise_question(case.text)
            if key in seen:
                continue
            seen.add(key)
            examples.setdefault(case.expect, []).append(case.text)
            added += 1
    path.write_text(render(examples, topic_order), encoding="utf-8")
    total = sum(len(v) for v in examples.values())
    print(f"{path}: {added} messages added, {total} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
