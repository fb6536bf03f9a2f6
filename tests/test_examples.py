"""knowledge/examples.yaml: people's messages teach the topic model, never the word index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import MatchingSettings
from bot.knowledge import EXAMPLES_FILE, build_matching, load_knowledge
from bot.knowledge_edit import add_phrasing
from bot.schema import FaqFile
from tests.matching_fixtures import (
    SHIPPED_KB,
    TINY_FAQ,
    TINY_RED_FLAGS,
    TINY_SYNONYMS,
    shipped,
    tiny,
)

# Worded the way the tuning sets' messages are, but not one of them (nor a faq question).
WOBBLY = "how do I build up my back so it feels less wobbly when I lift my kids"
RIGHT_FOR_ME = "is physio right for me, I'm 40 and sit at a desk all day with an achy back"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(SHIPPED_KB, target)
    return target


def _write_examples(kb_dir: Path, body: str) -> None:
    (kb_dir / EXAMPLES_FILE).write_text("version: 1\nexamples:\n" + body, encoding="utf-8")


def test_the_shipped_examples_name_every_topic_and_load_clean() -> None:
    kb = load_knowledge(SHIPPED_KB)
    assert not [w for w in kb.warnings if w.file.endswith(EXAMPLES_FILE)]
    text = (SHIPPED_KB / EXAMPLES_FILE).read_text(encoding="utf-8")
    for topic in kb.topics:
        assert f"\n  {topic.id}:\n" in text, f"no examples for {topic.id}"


@pytest.mark.parametrize(
    ("message", "without", "with_examples"),
    [(WOBBLY, "education", "strengthening"), (RIGHT_FOR_ME, "posture", "who-should-consider")],
)
def test_examples_tell_neighbouring_topics_apart(
    kb_copy: Path, message: str, without: str, with_examples: str
) -> None:
    taught = load_knowledge(kb_copy, lint=False).matcher.decide(message)
    (kb_copy / EXAMPLES_FILE).unlink()
    untaught = load_knowledge(kb_copy, lint=False).matcher.decide(message)
    assert (untaught.outcome, untaught.topic_id) == ("answer", without)
    assert (taught.outcome, taught.topic_id) == ("answer", with_examples)


def test_a_folder_without_examples_loads_and_answers(kb_copy: Path) -> None:
    (kb_copy / EXAMPLES_FILE).unlink()
    kb = load_knowledge(kb_copy)
    assert kb.matcher.decide("does physio help sciatica?").topic_id == "sciatica"


def test_example_words_are_not_indexed() -> None:
    """A word only the examples use still counts against a match: examples shape which topic
    wins, not whether a message about something else looks known."""
    examples = {"stretching": ["my trampoline makes my back stiff, which stretches?"]}
    plain, _ = build_matching(TINY_FAQ, TINY_SYNONYMS, TINY_RED_FLAGS)
    taught, _ = build_matching(TINY_FAQ, TINY_SYNONYMS, TINY_RED_FLAGS, None, examples)
    message = "trampoline park opening hours"
    assert plain.unknown_share(message) == taught.unknown_share(message) == 1.0
    assert taught.decide(message).outcome != "answer"


def test_examples_move_the_topic_model_toward_their_topic() -> None:
    # "exercises" is in a question of both sciatica and herniated-disc; the word pair
    # "nerve exercises" is only in the examples.
    message = "which nerve exercises?"
    examples = {"herniated-disc": ["nerve exercises for my disc", "any nerve exercises"]}
    plain, _ = build_matching(TINY_FAQ, TINY_SYNONYMS, TINY_RED_FLAGS)
    taught, _ = build_matching(TINY_FAQ, TINY_SYNONYMS, TINY_RED_FLAGS, None, examples)

    def score(matcher_ranked: list[tuple[str, float]], topic: str) -> float:
        return dict(matcher_ranked)[topic]

    before = [(m.topic_id, m.score) for m in plain.rank(message)[0]]
    after = [(m.topic_id, m.score) for m in taught.rank(message)[0]]
    assert score(after, "herniated-disc") > score(before, "herniated-disc")
    assert score(after, "sciatica") < score(before, "sciatica")


def test_the_topic_model_never_makes_a_weak_match_confident() -> None:
    """Many examples can push a topic's posterior to 1; without enough shared words the
    message is still only offered as a choice."""
    message = "pins and needles in my hand when I sleep on my arm, is that my back?"
    # Without the class of messages not to answer, which would hold this one back too.
    settings = MatchingSettings(max_none_share=1.0)
    matcher = load_knowledge(SHIPPED_KB, matching=settings, lint=False).matcher
    decision = matcher.decide(message)
    assert decision.outcome != "answer", decision
    # The same message is answered once the bar on the words alone is taken away, so the
    # bar is what holds it back.
    loose = settings.model_copy(update={"min_word_score": 0.0})
    kb = load_knowledge(SHIPPED_KB, matching=loose, lint=False)
    assert kb.matcher.decide(message).outcome == "answer"
    assert "words alone" in decision.reason


def test_the_same_example_in_two_places_is_a_warning_with_its_line(kb_copy: Path) -> None:
    _write_examples(
        kb_copy,
        '  booking:\n    - "can I come in tomorrow?"\n'
        '  sciatica:\n    - "leg on fire"\n    - "Can I come in tomorrow"\n'
        'urgent:\n  cauda-equina:\n    - "leg on fire!"\n',
    )
    warnings = [str(w).replace(f"{kb_copy}/", "") for w in load_knowledge(kb_copy).warnings]
    hint = "(keep it under the one place it belongs)"
    assert (
        "examples.yaml:7: examples.sciatica[1]: warning: the same message is also under "
        f"`booking` {hint}"
    ) in warnings, warnings
    assert (
        "examples.yaml:10: urgent.cauda-equina[0]: warning: the same message is also under "
        f"`sciatica` {hint}"
    ) in warnings, warnings


def test_an_admin_edit_keeps_the_examples(kb_copy: Path) -> None:
    """The bot takes the base an edit validated as its new one: the examples come along."""
    before = load_knowledge(kb_copy, lint=False).matcher.decide(WOBBLY)
    added = add_phrasing(kb_copy, "booking", "can my partner come to the appointment?")
    assert added.changed
    after = added.knowledge.matcher.decide(WOBBLY)
    assert (
        (after.outcome, after.topic_id)
        == (before.outcome, before.topic_id)
        == (
            "answer",
            "strengthening",
        )
    )


# Messages the bot should not answer, the way knowledge/examples.yaml lists them under `other`.
NOT_FOR_US = [
    "how do I stretch new leather boots",
    "stretching leather shoes that pinch",
    "leather jacket too tight, can it stretch",
    "how to stretch a canvas on a frame",
]


def test_a_match_that_reads_like_the_other_messages_is_only_offered() -> None:
    message = "how do I stretch tight leather boots"
    plain, _ = tiny(MatchingSettings(max_none_share=1.0))
    taught, _ = build_matching(
        TINY_FAQ, TINY_SYNONYMS, TINY_RED_FLAGS, MatchingSettings(), other=NOT_FOR_US
    )
    # The words alone make a confident stretching answer ...
    assert plain.decide(message).outcome == "answer"
    # ... but the message reads like the leather ones, so stretching is only offered.
    decision = taught.decide(message)
    assert taught.none_share(message) >= MatchingSettings().max_none_share
    assert decision.outcome == "suggest"
    assert decision.matches[0].topic_id == "stretching"
    assert "something else" in decision.reason
    # A question about a back is answered as before.
    assert taught.none_share("which stretches help a stiff back") < 0.5
    assert taught.decide("which stretches help a stiff back").topic_id == "stretching"


def test_without_other_messages_nothing_is_held_back() -> None:
    plain, _ = tiny()
    assert plain.none_share("how do I stretch tight leather boots") == 0.0
    assert plain.decide("how do I stretch tight leather boots").outcome == "answer"


def test_a_large_base_weighs_only_the_candidates_against_the_other_messages() -> None:
    # Over 200 topics the matcher keeps no feature index: the class of messages not to
    # answer is weighed against the candidate topics only, not every topic of the base.
    topics = [
        {
            "id": f"topic-{n}",
            "title": f"Topic {n}",
            "questions": [f"question about widget{n} and gadget{n}"],
            "answer": "An answer.",
            "source": "clinic",
        }
        for n in range(250)
    ] + [
        {
            "id": "stretching",
            "title": "Stretching",
            "questions": ["Which stretches help a stiff back?", "how do I stretch my back"],
            "answer": "Stretch.",
            "source": "clinic",
        }
    ]
    faq = FaqFile.model_validate({"version": 1, "topics": topics})
    settings = MatchingSettings(max_none_share=0.5)
    matcher, _ = build_matching(faq, TINY_SYNONYMS, TINY_RED_FLAGS, settings, other=NOT_FOR_US)
    assert not matcher.nb_by_feature  # the large-base path
    message = "how do I stretch tight leather boots"
    assert matcher.none_share(message, ["stretching"]) > 0.5
    assert matcher.none_share("which stretches help a stiff back", ["stretching"]) < 0.1
    assert matcher.none_share(message, []) == 1.0  # no candidate: only the class is weighed
    assert matcher.decide(message).outcome == "suggest"
    assert matcher.decide("which stretches help a stiff back").topic_id == "stretching"


@pytest.mark.parametrize(
    "message",
    [
        "how do I stretch tight leather boots",
        "which stretches help a stiff back after gardening",
        "does physio help sciatica? also what's a good recipe for banana bread",
        "is my back pain the sort physio suits",
    ],
)
def test_none_share_after_ranking_is_the_same_as_from_scratch(message: str) -> None:
    # `decide` ranks first, and none_share then reuses the topic model's gains for the
    # message instead of walking its features again: the value must be the very same.
    matcher = shipped().matcher
    matcher.decide(message)
    reused = matcher.none_share(message)
    matcher._last_gains = None
    assert matcher.none_share(message) == reused
    assert 0.0 < reused < 1.0
