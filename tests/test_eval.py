"""Floors on the matcher's figures, so a regression fails CI; and the eval set loader/command."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest

from bot.cli import cmd_eval
from bot.evaluation import EvalSetError, Report, evaluate_default, load_cases
from tests.matching_fixtures import ROOT, SHIPPED_KB, shipped

EVAL = ROOT / "tests" / "eval"

# Floors a little under the figures measured when they were set (docs/matching.md has the
# current numbers). Raise them when the matcher improves; never lower them to pass.
# Held-out sets: measured only, never tuned on; every dev* set but dev6 is a tuning set, and
# since the fifth round also training data: its in-scope messages are knowledge/examples.yaml,
# so its top-1 here is partly memory (benchmarks/examples_loo.py scores each left out).
# Fifth round (knowledge/examples.yaml): heldout 92.0 / 94.1, heldout2 89.6 / 91.8, heldout3
# 92.9 / 95.2, heldout4 89.2 / 92.9, dev6 93.0 / 94.5 (top-1 / rejection).
FLOORS = {
    # Held out: measured only, never tuned on (90.6 / 95.6 / 98.0 / 2.7% when set; 91.1 / 97.1
    # / 98.0 / 2.4% after the third round).
    "heldout.yaml": {"top1": 0.9, "rejection": 0.94, "recall": 0.97, "false_urgent": 0.03},
    # Second held-out set, written blind after this round's tuning had begun; first run
    # 88.3 / 86.9 / 100 / 3.6%.
    "heldout2.yaml": {"top1": 0.88, "rejection": 0.9, "recall": 0.98, "false_urgent": 0.045},
    # Third held-out set, written blind at the start of the third round: first run 90.6 / 93.5
    # / 100 / 1.6%, 90.3 / 93.5 / 100 / 1.4% at the round's end.
    "heldout3.yaml": {"top1": 0.91, "rejection": 0.93, "recall": 1.0, "false_urgent": 0.02},
    # Fourth round (third session of 2026-11-27), written blind and first run at its end:
    # heldout4 88.4 / 88.1 / 100 / 1.7%; heldout_redflags recall 93.3%, false urgent 17.0% of
    # its near misses (all its non-urgent messages are near misses), 94.7 / 17.0% at the end.
    "heldout4.yaml": {"top1": 0.875, "rejection": 0.91, "recall": 1.0, "false_urgent": 0.025},
    # heldout_redflags2: written blind late in the round, first run on its last commit:
    # recall 90.3%, false urgent 10.0% of its near misses.
    # Fifth round, written blind and first run on the round's last code: heldout5 89.6 / 91.1
    # / 100 / 1.3% (the round's starting code: 88.8 / 86.7 / 100 / 1.3%).
    "heldout5.yaml": {"top1": 0.875, "rejection": 0.88, "recall": 1.0, "false_urgent": 0.02},
    # heldout_redflags3: fifth round, blind, first run on the round's last code: recall 94.7%,
    # false urgent 12.4% of its near misses; the likeness reminder follows 7 of the 8 misses.
    # Its near misses' top-1 was 75.0%, 73.9% (one of 88) after the sixth round's examples,
    # 72.7% (one more) after the seventh round's urgent and other examples.
    "heldout_redflags3.yaml": {
        "top1": 0.72,
        "rejection": 0.6,
        "recall": 0.94,
        "false_urgent": 0.14,
    },
    # Seventh round, written blind at the round's start and run for totals only, first midway:
    # heldout6 93.7 / 88.6 / 100 / 1.0% (the round's starting code: 93.3 / 88.6 / 100 / 1.4%,
    # its end the same as midway); heldout_redflags4 recall 97.3%, false urgent 13.0% of its
    # near misses midway, 98.0 / 13.0% at the end (start: 95.9 / 13.0%).
    "heldout6.yaml": {"top1": 0.92, "rejection": 0.85, "recall": 1.0, "false_urgent": 0.02},
    # Written blind in the eighth round; first run top-1 88.6%, rejection 91.2%, recall
    # 95.8% (one of 24 missed), false urgent 2.4%.
    "heldout7.yaml": {"top1": 0.87, "rejection": 0.88, "recall": 0.95, "false_urgent": 0.03},
    # Written blind at the ninth round's start; first run on that round's first code (5e9e16e):
    # top-1 86.0%, rejection 90.3%, recall 100% (24), false urgent 2.2%.
    "heldout8.yaml": {"top1": 0.85, "rejection": 0.87, "recall": 1.0, "false_urgent": 0.03},
    "heldout_redflags4.yaml": {
        "top1": 0.8,
        "rejection": 0.6,
        "recall": 0.97,
        "false_urgent": 0.15,
    },
    "heldout_redflags2.yaml": {
        "top1": 0.75,
        "rejection": 0.4,
        "recall": 0.9,
        "false_urgent": 0.12,
    },
    # Its near misses' top-1: 64.8% (59 of 91, one fewer) after the seventh round's examples.
    "heldout_redflags.yaml": {
        "top1": 0.64,
        "rejection": 0.4,
        "recall": 0.93,
        "false_urgent": 0.19,
    },
    # Tuning sets (figures when set: dev 97.9/100/100/0.0, dev2 95.8/100/100/0.8,
    # dev3 97.5/98.3/-/0.2).
    "dev.yaml": {"top1": 0.97, "rejection": 0.98, "recall": 1.0, "false_urgent": 0.01},
    "dev2.yaml": {"top1": 0.95, "rejection": 0.98, "recall": 1.0, "false_urgent": 0.015},
    "dev3.yaml": {"top1": 0.97, "rejection": 0.96, "recall": 1.0, "false_urgent": 0.01},
    # Look-alikes (110 out of scope): rejection 79.1% at its first run, 100% when set.
    "dev4.yaml": {"top1": 0.98, "rejection": 0.97, "recall": 1.0, "false_urgent": 0.01},
    # Red-flag tuning sets: recall 100% on all four; false urgent 3.3%, 7.0%, 3.2% and 4.0% of
    # their near misses when set (target <= 2% of all messages; these sets are near misses
    # on purpose). Their few out-of-scope messages make the rejection figure coarse.
    # dev_redflags' ceiling was 0.04 until the fourth round: an all-clear no longer reaches
    # into another sentence (recall first: "I fell off a ladder. My old injury had fully
    # healed" must stay urgent), which costs its "motorbike crash. Fully healed" near miss.
    # 0.06 since the eighth round: "at school" no longer shrinks to "school" as a distant
    # past (it set aside a car crash on the school run), and a child's temperature "off
    # school (just a cold)" is no longer set aside by it.
    "dev_redflags.yaml": {"top1": 0.8, "rejection": 0.75, "recall": 1.0, "false_urgent": 0.06},
    "dev_redflags2.yaml": {"top1": 0.67, "rejection": 1.0, "recall": 1.0, "false_urgent": 0.08},
    "dev_redflags3.yaml": {"top1": 0.93, "rejection": 0.95, "recall": 1.0, "false_urgent": 0.04},
    "dev_redflags4.yaml": {"top1": 0.83, "rejection": 0.45, "recall": 1.0, "false_urgent": 0.05},
    # Third round. dev5 (first run 77.4 / 89.1 / 97.1 / 1.9%) and dev_redflags5 (first run
    # recall 92.2%, false urgent 18.0% of its near misses) are tuning sets; dev6 is the
    # validation set, run for totals only (first run 90.7 / 90.4 / 100 / 1.9%).
    "dev5.yaml": {"top1": 0.85, "rejection": 0.92, "recall": 1.0, "false_urgent": 0.015},
    "dev_redflags5.yaml": {"top1": 0.62, "rejection": 0.4, "recall": 1.0, "false_urgent": 0.04},
    "dev6.yaml": {"top1": 0.915, "rejection": 0.93, "recall": 1.0, "false_urgent": 0.02},
    # Fourth round tuning sets, written blind (first runs: dev7 88.1 / 92.3 / 100 / 1.9%;
    # dev_redflags6 recall 96.0%, false urgent 12.1%; dev_redflags7 recall 90.7%, false urgent
    # 15.6% of their near misses).
    "dev7.yaml": {"top1": 0.93, "rejection": 0.92, "recall": 1.0, "false_urgent": 0.015},
    "dev_redflags6.yaml": {"top1": 0.8, "rejection": 0.6, "recall": 1.0, "false_urgent": 0.08},
    "dev_redflags7.yaml": {"top1": 0.76, "rejection": 0.6, "recall": 0.99, "false_urgent": 0.15},
    # dev8: out-of-scope look-alikes and controls (first run: rejection 77.7%, top-1 98.6%).
    "dev8.yaml": {"top1": 0.98, "rejection": 0.91, "recall": 1.0, "false_urgent": 0.01},
    # dev_redflags8: almost no textbook wording, many languages (first run recall 75.6%).
    "dev_redflags8.yaml": {"top1": 0.75, "rejection": 0.4, "recall": 0.93, "false_urgent": 0.17},
    # Sixth round: general sets written blind, 400 each before near-duplicates were cut, and
    # then learned from (knowledge/examples.yaml), so these floors are partly memory. First
    # runs, before any change made on them: dev9 88.4 / 85.7 / 95.8 / 1.2%, dev11 87.8 / 84.4
    # / 100 / 1.5%, dev12 86.0 / 91.4 / 100 / 1.8%.
    "dev9.yaml": {"top1": 0.91, "rejection": 0.97, "recall": 1.0, "false_urgent": 0.02},
    "dev11.yaml": {"top1": 0.9, "rejection": 0.88, "recall": 1.0, "false_urgent": 0.02},
    "dev12.yaml": {"top1": 0.91, "rejection": 0.97, "recall": 1.0, "false_urgent": 0.02},
    # dev10 (first run 91.6 / 100 / 100 / 0.0%, with dev9, dev11 and dev12 learned), and two
    # red-flag sets (first runs: recall 91.9% and 91.7%, false urgent 15.9% and 14.5% of their
    # near misses; 96.6% and 96.6% after the families they showed).
    "dev10.yaml": {"top1": 0.91, "rejection": 0.97, "recall": 1.0, "false_urgent": 0.01},
    "dev_redflags9.yaml": {"top1": 0.6, "rejection": 0.6, "recall": 0.96, "false_urgent": 0.17},
    "dev_redflags10.yaml": {"top1": 0.68, "rejection": 0.6, "recall": 0.96, "false_urgent": 0.16},
    # Four more general sets, written blind late in the sixth round (first runs, everything
    # before them learned: dev13 92.4 / 80.0 / 96.0 / 1.0%, dev14 89.7 / 79.5 / 95.8 / 1.0%,
    # dev15 91.6 / 92.1 / 100 / 1.4%, dev16 85.9 / 87.2 / 100 / 2.5%).
    "dev13.yaml": {"top1": 0.93, "rejection": 0.9, "recall": 1.0, "false_urgent": 0.015},
    "dev14.yaml": {"top1": 0.91, "rejection": 0.84, "recall": 1.0, "false_urgent": 0.015},
    "dev15.yaml": {"top1": 0.9, "rejection": 0.92, "recall": 1.0, "false_urgent": 0.02},
    "dev16.yaml": {"top1": 0.87, "rejection": 0.92, "recall": 1.0, "false_urgent": 0.03},
    # Seventh round, written blind (first runs, everything before them learned: dev17 84.8 /
    # 89.1 / 100 / 2.2%, dev18 86.0 / 95.5 / 100 / 0.7%, dev19 93.2 / 81.1 / 100 / 0.7%, dev20
    # 87.7 / 97.2 / 100 / 1.0%). Their in-scope messages do not teach the topic model
    # (scripts/seed_examples.py, TEACHES_ONLY), so top-1 here is not memory; their
    # other messages are learned, so rejection partly is. Red-flag sets: first runs recall
    # 93.3% and 89.8%, false urgent 18.6% and 10.0% of their near misses; 98.7% and 100%,
    # 11.4% and 4.3% after the families they showed.
    "dev17.yaml": {"top1": 0.84, "rejection": 0.97, "recall": 1.0, "false_urgent": 0.015},
    "dev18.yaml": {"top1": 0.85, "rejection": 0.95, "recall": 1.0, "false_urgent": 0.01},
    "dev19.yaml": {"top1": 0.92, "rejection": 0.91, "recall": 1.0, "false_urgent": 0.015},
    "dev20.yaml": {"top1": 0.87, "rejection": 0.95, "recall": 1.0, "false_urgent": 0.01},
    "dev_redflags11.yaml": {"top1": 0.7, "rejection": 0.8, "recall": 0.98, "false_urgent": 0.13},
    "dev_redflags12.yaml": {"top1": 0.78, "rejection": 0.65, "recall": 1.0, "false_urgent": 0.06},
    # Three more red-flag sets late in the round: first runs recall 91.9%, 94.0% and 93.2%,
    # false urgent 17.4%, 5.9% and 15.7% of their near misses (dev_redflags13 on the code
    # before any change made for the other two).
    "dev_redflags13.yaml": {"top1": 0.6, "rejection": 0.9, "recall": 0.98, "false_urgent": 0.09},
    "dev_redflags14.yaml": {"top1": 0.8, "rejection": 0.8, "recall": 1.0, "false_urgent": 0.02},
    "dev_redflags15.yaml": {"top1": 0.74, "rejection": 0.6, "recall": 0.96, "false_urgent": 0.06},
    # And two at the round's very end: first runs recall 94.6% and 93.2%, false urgent 21.7%
    # and 16.4% of their near misses; only their urgent messages are learned.
    "dev_redflags16.yaml": {"top1": 0.68, "rejection": 0.4, "recall": 0.99, "false_urgent": 0.13},
    "dev_redflags17.yaml": {"top1": 0.75, "rejection": 0.6, "recall": 0.98, "false_urgent": 0.12},
    # Eighth round, written blind at its start. First runs: dev_redflags18 recall 92.0%, false
    # urgent 8.7%; dev_redflags19 94.6%, 13.0%; dev21 top-1 91.2%, rejection 89.3%, false
    # urgent 2.5%. dev_redflags19 teaches only its urgent messages, dev_redflags18 none, dev21
    # its urgent and out-of-scope ones (so its rejection floor is partly memory: 90.8% before).
    "dev_redflags18.yaml": {"top1": 0.64, "rejection": 0.8, "recall": 1.0, "false_urgent": 0.09},
    "dev_redflags19.yaml": {"top1": 0.75, "rejection": 0.75, "recall": 0.98, "false_urgent": 0.06},
    "dev21.yaml": {"top1": 0.91, "rejection": 0.95, "recall": 1.0, "false_urgent": 0.015},
    # Written blind mid-round; first run recall 92.5%, false urgent 7.2%. Teaches its urgent ones.
    "dev_redflags20.yaml": {
        "top1": 0.68,
        "rejection": 0.85,
        "recall": 0.975,
        "false_urgent": 0.02,
    },
    # Written blind late in the round (mixed-language and transliterated); first run recall
    # 86.5%, false urgent 17.1%. Teaches its urgent ones.
    "dev_redflags21.yaml": {"top1": 0.63, "rejection": 0.7, "recall": 0.99, "false_urgent": 0.09},
    # Ninth round, written blind at its start. First runs: dev22 top-1 84.6%, rejection
    # 90.0%, recall 100%, false urgent 1.3%; dev_redflags22 recall 98.6%, false urgent 20.6%.
    # dev22 teaches its urgent and out-of-scope messages (rejection 100% since: memory),
    # dev_redflags22 its urgent ones.
    # After the round's red-flag families: dev22 86.1 / 100 / 100 / 0.0%, dev_redflags22
    # recall 100%, false urgent 0.0% of its near misses.
    "dev22.yaml": {"top1": 0.86, "rejection": 0.97, "recall": 1.0, "false_urgent": 0.005},
    "dev_redflags22.yaml": {"top1": 0.75, "rejection": 0.85, "recall": 1.0, "false_urgent": 0.01},
    # Written blind mid-round; first run top-1 83.6%, rejection 90.2%, recall 100%, false
    # urgent 1.0%.
    # After the round's second red-flag batch: dev23 84.0 / 92.7 / 100 / 0.3%.
    "dev23.yaml": {"top1": 0.835, "rejection": 0.9, "recall": 1.0, "false_urgent": 0.01},
    # Written blind mid-round; first run recall 93.9%, false urgent 21.7% of its near misses;
    # after its families 100% and 5.8%. Teaches its urgent messages.
    "dev_redflags23.yaml": {"top1": 0.78, "rejection": 0.8, "recall": 1.0, "false_urgent": 0.06},
}


@cache
def report(name: str) -> Report:
    kb = shipped()
    return evaluate_default(kb.matcher, kb.red_flags_detector, load_cases(EVAL / name))


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_figures_hold_their_floors(name: str) -> None:
    floors, r = FLOORS[name], report(name)
    assert r.top1 >= floors["top1"]
    assert r.rejection >= floors["rejection"]
    assert r.red_flag_recall >= floors["recall"]
    assert r.false_urgent <= floors["false_urgent"]


@pytest.mark.parametrize("name", ["heldout.yaml", "heldout2.yaml", "heldout3.yaml"])
def test_sets_have_the_promised_mix(name: str) -> None:
    r = report(name)
    assert len(r.outcomes) >= 250
    assert len(r.out_of_scope) >= 50
    assert len(r.red_flags) >= 40
    assert sum(o.case.near_miss for o in r.outcomes) >= 20


def test_labels_name_existing_topics() -> None:
    ids = set(shipped().topics_by_id)
    for name in FLOORS:
        for case in load_cases(EVAL / name):
            assert case.accepted <= ids, case


def test_eval_command_prints_every_figure() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cmd_eval(SHIPPED_KB, EVAL / "dev.yaml", out, err) == 0, err.getvalue()
    text = out.getvalue()
    for label in (
        "in-scope top-1 accuracy",
        "out-of-scope rejection",
        "red-flag recall",
        "false-urgent rate",
        "red-flag reminder",
        "suggest rate",
        "time per message",
        "most frequent confusions",
    ):
        assert label in text


def test_bad_set_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ncases:\n  - text: hi\n    expct: none\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="unknown keys"):
        load_cases(bad)
    err = io.StringIO()
    assert cmd_eval(SHIPPED_KB, bad, io.StringIO(), err) == 1
    assert "cases[0]" in err.getvalue()


def test_eval_scores_what_the_engine_sends() -> None:
    # The engine answers "who created you" about itself, not with the topic the matcher
    # alone would answer it with; eval must count that as a rejection, and still score a
    # real question asked next to it.
    from bot.evaluation import Case

    kb = shipped()
    assert kb.matcher.decide("who created you").outcome == "answer"  # the trap
    cases = [
        Case("who created you", None),
        Case("are you a bot or does physio help sciatica?", "sciatica"),
    ]
    result = evaluate_default(kb.matcher, kb.red_flags_detector, cases)
    assert [o.correct for o in result.outcomes] == [True, True]
