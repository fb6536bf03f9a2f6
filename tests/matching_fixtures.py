"""Shared fixtures for the matcher, red-flag and ask tests: a tiny knowledge base built in code."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.config import MatchingSettings
from bot.knowledge import KnowledgeBase, build_matching, load_knowledge
from bot.matching import Matcher
from bot.safety import RedFlagDetector
from bot.schema import FaqFile, RedFlagsFile, SynonymsFile

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_KB = ROOT / "knowledge"


def _topic(topic_id: str, questions: list[str]) -> dict[str, object]:
    return {
        "id": topic_id,
        "title": topic_id.replace("-", " ").capitalize(),
        "questions": questions,
        "answer": f"About {topic_id}.",
        "source": "clinic",
    }


TINY_FAQ = FaqFile.model_validate(
    {
        "version": 1,
        "topics": [
            _topic(
                "sciatica",
                [
                    "Does physical therapy help sciatica?",
                    "nerve pain down my leg",
                    "sciatic nerve pain exercises",
                ],
            ),
            _topic(
                "stretching",
                ["Which stretches help a stiff back?", "how do I loosen tight muscles"],
            ),
            _topic(
                "booking",
                ["How do I book an appointment?", "what is your phone number"],
            ),
            _topic(
                "herniated-disc",
                ["Can physical therapy help a herniated disc?", "bulging disc exercises"],
            ),
        ],
    }
)
TINY_SYNONYMS = SynonymsFile.model_validate(
    {
        "version": 1,
        "synonyms": [
            {"term": "physical therapy", "variants": ["physio", "pt", "physiotherapy"]},
            {"term": "herniated disc", "variants": ["slipped disc", "slipped disk"]},
        ],
    }
)
TINY_RED_FLAGS = RedFlagsFile.model_validate(
    {
        "version": 1,
        "guidance": ["test"],
        "message": "Call 911 now.",
        "categories": [
            {
                "id": "cauda-equina",
                "title": "Bladder",
                "advice": "Go to hospital.",
                "phrases": ["can't pee", "numb down there", "wet myself"],
            },
            {
                "id": "major-trauma",
                "title": "Fall",
                "advice": "Get checked.",
                "phrases": ["fell off", "car crash"],
                "unless": ["last year", "fell off the wagon"],
            },
            {
                "id": "night-pain",
                "title": "Night",
                "advice": "See a doctor.",
                "phrases": ["wakes me at night", "worse at night"],
            },
        ],
    }
)


def tiny(settings: MatchingSettings | None = None) -> tuple[Matcher, RedFlagDetector]:
    return build_matching(TINY_FAQ, TINY_SYNONYMS, TINY_RED_FLAGS, settings)


@cache
def shipped() -> KnowledgeBase:
    """The shipped knowledge base, loaded once per test run."""
    return load_knowledge(SHIPPED_KB)
