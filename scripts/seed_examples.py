"""Add the tuning sets' messages to knowledge/examples.yaml: in-scope ones under their
topics, urgent ones under their red-flag categories, the rest under `other`.

Run: .venv/bin/python scripts/seed_examples.py [--kb knowledge]

The tuning sets (tests/eval/dev*.yaml but dev6, the validation set) were written blind, the
way people write. Their in-scope messages teach the matcher's topic model how people word
each topic; their urgent messages, against all the others, teach the red-flag likeness model
(bot/likeness.py). The validation and held-out sets are never read: they measure what was
learned. Messages already in the file stay as they are (a clinic's own additions included);
only new ones are added, and the file is rewritten in topic and category order.
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
# What some sets teach, when not all of their messages (the kinds: "topic", "urgent",
# "other"); every other tuning set teaches all three. Each choice was measured:
# - dev17-dev20's 1,066 topic messages, learned, left the tuning sets' left-out top-1 where
#   it was (91.59%) and cost the validation set 1.3 points (92.4 -> 91.1%): the topic model
#   had stopped gaining from more of the same kind of message;
# - the topics of dev_redflags13-15's near misses cost it one right topic (92.4 -> 92.1%),
#   and so did dev_redflags16-17's ten out-of-scope near misses.
TEACHES_ONLY: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "dev17.yaml",
            "dev18.yaml",
            "dev19.yaml",
            "dev20.yaml",
            "dev21.yaml",
            "dev22.yaml",
            "dev_redflags13.yaml",
            "dev_redflags14.yaml",
            "dev_redflags15.yaml",
        ),
        frozenset({"urgent", "other"}),
    ),
    **dict.fromkeys(
        (
            "dev_redflags16.yaml",
            "dev_redflags17.yaml",
            "dev_redflags19.yaml",
            "dev_redflags20.yaml",
            "dev_redflags21.yaml",
            "dev_redflags22.yaml",
            "dev_redflags23.yaml",
            # Its out-of-scope messages, learned, changed no other set's decision but one
            # rejection lost ("what posture should my 6 week old sleep in"): urgent only.
            "dev23.yaml",
        ),
        frozenset({"urgent"}),
    ),
    # Nothing: its urgent messages (many pains told at night) tipped the likeness model into
    # reading "does stretching help at night?", the issue's own example, as night pain.
    "dev_redflags18.yaml": frozenset(),
}
EVERY_KIND = frozenset({"topic", "urgent", "other"})
# The sets' short names for red-flag categories whose id in red_flags.yaml is longer.
CATEGORY_IDS = {"trauma": "major-trauma"}

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


URGENT_COMMENT = """\
# Messages describing an emergency, under their red-flag category (red_flags.yaml). The
# red-flag phrases decide what is urgent; a message worded like these that no phrase catches
# gets one line on where to go. Add a missed red flag here, and its wording to red_flags.yaml."""
OTHER_COMMENT = """\
# Messages that are not urgent and not about a topic: other subjects, and ordinary messages
# that share words with a red flag. They teach what is not urgent."""


def tuning_sets() -> list[Path]:
    return [p for p in sorted(EVAL.glob("dev*.yaml")) if p.name not in NOT_FOR_TRAINING]


def _item(text: str, indent: str) -> str:
    # JSON strings are valid YAML double-quoted strings: emoji, quotes and colons are safe.
    return f"{indent}- {json.dumps(text, ensure_ascii=False)}"


def _section(name: str, by_id: dict[str, list[str]], order: list[str]) -> list[str]:
    lines = [f"{name}:"]
    for key in sorted(by_id, key=order.index):
        lines.append(f"  {key}:")
        lines += [_item(text, "    ") for text in by_id[key]]
    return lines


def render(
    examples: dict[str, list[str]],
    urgent: dict[str, list[str]],
    other: list[str],
    topic_order: list[str],
    category_order: list[str],
) -> str:
    lines = [HEADER, "version: 1", *_section("examples", examples, topic_order)]
    lines += ["", URGENT_COMMENT, *_section("urgent", urgent, category_order)]
    lines += ["", OTHER_COMMENT, "other:", *[_item(text, "  ") for text in other]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    args = parser.parse_args()
    kb = load_knowledge(args.kb, lint=False)
    topic_order = [t.id for t in kb.topics]
    category_order = [c.id for c in kb.red_flags.categories]
    path = args.kb / EXAMPLES_FILE
    examples: dict[str, list[str]] = {}
    urgent: dict[str, list[str]] = {}
    other: list[str] = []
    if path.exists():
        current = ExamplesFile.model_validate(read_yaml(path).data)
        examples = {k: list(v) for k, v in current.examples.items()}
        urgent = {k: list(v) for k, v in current.urgent.items()}
        other = list(current.other)
    seen = {
        normalise_question(t)
        for texts in (*examples.values(), *urgent.values(), other)
        for t in texts
    }
    added = 0
    for set_path in tuning_sets():
        for case in load_cases(set_path):
            key = normalise_question(case.text)
            if key in seen:
                continue
            teaches = TEACHES_ONLY.get(set_path.name, EVERY_KIND)
            if case.urgent:
                category = CATEGORY_IDS.get(case.category or "", case.category or "")
                if category not in category_order:
                    continue  # a set's category the knowledge does not have
                if "urgent" not in teaches:
                    continue
                urgent.setdefault(category, []).append(case.text)
            elif case.expect in topic_order:
                if "topic" not in teaches:
                    continue
                examples.setdefault(case.expect, []).append(case.text)
            elif case.expect is None:
                if "other" not in teaches:
                    continue
                other.append(case.text)
            else:
                continue
            seen.add(key)
            added += 1
    path.write_text(render(examples, urgent, other, topic_order, category_order), encoding="utf-8")
    total = sum(len(v) for v in (*examples.values(), *urgent.values(), other))
    print(f"{path}: {added} messages added, {total} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
