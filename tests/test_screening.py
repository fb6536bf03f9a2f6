"""The screening: typed answers, the generic walker, scored questionnaires, validation, diagram."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.problems import KnowledgeError
from bot.schema import AnswerId, ScreeningFile, Step
from bot.screening import (
    DIAGRAM_FILE,
    Answered,
    Finished,
    advance,
    diagram_markdown,
    mermaid,
    parse_answer,
    scores,
    summary,
)
from tests.harness import CoreDriver

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
FIXTURES = Path(__file__).parent / "fixtures" / "screening"


def with_screening(tmp_path: Path, fixture: str) -> Path:
    """A copy of the shipped knowledge base whose screening.yaml is a fixture."""
    target = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, target, ignore=shutil.ignore_patterns("*.md"))
    shutil.copy(FIXTURES / fixture, target / "screening.yaml")
    return target


def errors_of(kb_dir: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir)
    return [str(p).replace(f"{kb_dir}/", "") for p in caught.value.errors]


# --- typed answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meaning"),
    [
        ("yes", "yes"),
        ("Yes ", "yes"),
        ("y", "yes"),
        ("yeah", "yes"),
        ("YEP!", "yes"),
        ("yes, since May", "yes"),
        ("I do", "yes"),
        ("no", "no"),
        ("n", "no"),
        ("nope", "no"),
        ("No.", "no"),
        ("nah", "no"),
        ("no never", "no"),
        ("not really", "no"),
        ("not sure", "not-sure"),
        ("Not sure.", "not-sure"),
        ("unsure", "not-sure"),
        ("I don't know", "not-sure"),
        ("dunno", "not-sure"),
        ("maybe", "not-sure"),
        ("no idea", "not-sure"),
        ("back", "back"),
        ("go back", "back"),
        ("cancel", "cancel"),
        ("stop", "cancel"),
        ("yes but does physio help?", None),
        ("what is sciatica", None),
        ("asdf", None),
        ("", None),
        ("   ", None),
        ("🙂", None),
    ],
)
def test_parse_answer(typed: str, meaning: str | None) -> None:
    assert parse_answer(typed) == meaning


# --- the shipped screening -------------------------------------------------------------------


def test_shipped_screening_asks_red_flags_first_then_the_articles_five(kb: KnowledgeBase) -> None:
    groups = [step.group for step in kb.screening.steps]
    assert groups == ["red-flags"] * 8 + ["consider"] * 5
    outcomes = {o.id: o for o in kb.screening.outcomes}
    for urgent in ("urgent", "urgent-unsure"):
        assert outcomes[urgent].urgent
        assert outcomes[urgent].immediate
    assert "911" in outcomes["urgent"].text
    assert "+1 555 0100" in outcomes["pt-likely"].text
    assert "https://example.com/book" in outcomes["pt-likely"].text


def _walk(screening: ScreeningFile, answers: list[AnswerId]) -> tuple[list[Answered], object]:
    given: list[Answered] = []
    result: Step | Finished = advance(screening, given)
    for answer in answers:
        assert isinstance(result, Step), f"ended early with {result}"
        given.append((result.id, answer))
        result = advance(screening, given)
    return given, result


@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        (["no"] * 13, "self-care"),
        (["no"] * 8 + ["yes"] + ["no"] * 4, "pt-likely"),
        (["no"] * 12 + ["yes"], "pt-likely"),
        (["no"] * 8 + ["not-sure"] * 5, "self-care"),
        (["yes"], "urgent"),
        (["no"] * 7 + ["yes"], "urgent"),
        (["not-sure"], "urgent-unsure"),
        (["no"] * 5 + ["not-sure"], "urgent-unsure"),
    ],
)
def test_outcomes_of_the_shipped_screening(
    kb: KnowledgeBase, answers: list[AnswerId], outcome: str
) -> None:
    _, result = _walk(kb.screening, answers)
    assert isinstance(result, Finished)
    assert result.outcome.id == outcome


def test_summary_lists_answers_in_the_order_given(kb: KnowledgeBase) -> None:
    given, _ = _walk(kb.screening, ["no", "not-sure"])
    labels: dict[AnswerId, str] = {"yes": "Yes", "no": "No", "not-sure": "Not sure"}
    assert summary(kb.screening, given, labels) == (
        "- New bladder or bowel problems: No\n"
        "- Numbness around genitals, bottom or inner thighs: Not sure"
    )


# --- a scored questionnaire ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_knowledge(with_screening(tmp_path_factory.mktemp("scored"), "scored.yaml"))


def test_scored_questionnaire_branches_with_next(scored: KnowledgeBase) -> None:
    screening = scored.screening
    # "no" to sitting skips the chair question.
    nxt = advance(screening, [("sitting-hours", "no")])
    assert isinstance(nxt, Step)
    assert nxt.id == "stretch-breaks"
    nxt = advance(screening, [("sitting-hours", "yes")])
    assert isinstance(nxt, Step)
    assert nxt.id == "chair"


@pytest.mark.parametrize(
    ("answers", "outcome", "totals"),
    [
        # desk 3 and habits 4: both subscale bands hold.
        (["yes", "yes", "no", "no", "no"], "desk-heavy", {"desk": 3, "habits": 4, "total": 7}),
        # total 3, inside the 3..5 band on the total.
        (["no", "not-sure", "no", "no"], "busy", {"desk": 0, "habits": 3, "total": 3}),
        # total 6 is above the band, and desk 2 is below the desk-heavy band: the fallback.
        (["yes", "no", "no", "no", "no"], "see-someone", {"desk": 2, "habits": 4, "total": 6}),
        (["no", "yes", "no", "yes"], "see-someone", {"desk": 0, "habits": 0, "total": 0}),
        # 5 points on the alarm subscale end the questionnaire at once.
        (["no", "yes", "yes"], "stop", {"alarm": 5, "total": 5}),
        # `next` can lead straight to an outcome.
        (["no", "yes", "not-sure"], "see-someone", {"alarm": 0, "total": 0}),
    ],
)
def test_scored_questionnaire_outcomes_by_bands(
    scored: KnowledgeBase, answers: list[AnswerId], outcome: str, totals: dict[str, float]
) -> None:
    given, result = _walk(scored.screening, answers)
    assert isinstance(result, Finished)
    assert result.outcome.id == outcome
    computed = scores(scored.screening, given)
    assert {k: computed[k] for k in totals} == totals


def test_scored_questionnaire_through_the_engine(scored: KnowledgeBase) -> None:
    chat = CoreDriver(scored)
    assert "Do you sit for more than six hours" in chat.say("/screen").text
    chat.press("No")
    chat.press("Yes")
    shown = chat.press("Yes")
    assert shown.urgent
    assert "Made-up urgent outcome." in shown.text
    assert "- Sharp, sudden pain: Yes" in shown.text
    assert "Uncomfortable chair" not in shown.text


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "unreachable-step.yaml",
            [
                "screening.yaml:10: steps[1]: no answer leads to step `orphan` "
                "(remove it, or point a `next:` at it)"
            ],
        ),
        (
            "missing-outcome.yaml",
            [
                "screening.yaml:10: steps[0].next.yes: `urgnet` is neither a step nor an "
                "outcome (did you mean `urgent`?)"
            ],
        ),
        (
            "no-fallback.yaml",
            [
                "screening.yaml:10: outcomes: no outcome without conditions, so a screening "
                "can end with no outcome (add a last outcome with no `when:`)"
            ],
        ),
        (
            "duplicate-step.yaml",
            [
                "screening.yaml:9: steps[1].id: duplicate step id `first` "
                "(give each step its own id)",
                "screening.yaml:14: outcomes[0].id: duplicate id `first` "
                "(steps and outcomes each need their own id)",
            ],
        ),
        (
            "rules.yaml",
            [
                "screening.yaml:13: outcomes[0].immediate: an immediate outcome needs `when:` "
                "conditions (without them it would end the screening after the first answer)",
                "screening.yaml:18: outcomes[1].when[0]: can never hold: the highest possible "
                "`g` score is 1 (lower `min:`, or give the steps' answers more points)",
                "screening.yaml:23: outcomes[2].when[0]: `min` is above `max` "
                "(swap the two numbers)",
                "screening.yaml:28: outcomes[3].when[0].group: no step is in group `gg` "
                "(use a group named by a step, or `total`)",
                "screening.yaml:29: outcomes[3].when[1]: needs `min:` or `max:` "
                "(add a score limit)",
            ],
        ),
        (
            "structure.yaml",
            [
                "screening.yaml:5: steps[0].id: text is 42 characters, over the limit of 30 "
                "(shorten it)",
                "screening.yaml:13: steps[1].scores.maybe: `maybe` is not allowed here "
                "(use one of 'yes', 'no' or 'not-sure')",
                "screening.yaml:15: outcomes[0]: `title` is missing "
                "(write a short label for buttons)",
            ],
        ),
    ],
)
def test_broken_screening_reports_file_and_line(
    tmp_path: Path, fixture: str, expected: list[str]
) -> None:
    assert errors_of(with_screening(tmp_path, fixture)) == expected


def test_step_ids_leave_room_in_button_data(kb: KnowledgeBase) -> None:
    assert all(len(f"s:{step.id}:u".encode()) <= 40 for step in kb.screening.steps)


# --- the diagram -----------------------------------------------------------------------------


def test_diagram_beside_screening_yaml_is_current(kb: KnowledgeBase) -> None:
    on_disk = (KNOWLEDGE / DIAGRAM_FILE).read_text(encoding="utf-8")
    assert on_disk == diagram_markdown(kb.screening), (
        "knowledge/screening.md is out of date: run "
        'python -c "from bot.screening import write_diagram; write_diagram()"'
    )


def test_diagram_draws_every_step_outcome_and_rule(
    kb: KnowledgeBase, scored: KnowledgeBase
) -> None:
    chart = mermaid(kb.screening)
    assert chart.startswith("flowchart TD\n")
    for step in kb.screening.steps:
        assert step.summary in chart
    for outcome in kb.screening.outcomes:
        assert outcome.title in chart
    assert 'group_red_flags -.->|"after any answer: red-flags ≥ 2"| outcome_urgent' in chart
    assert 'rules -->|"consider ≥ 1"| outcome_pt_likely' in chart
    assert 'rules -->|"otherwise"| outcome_self_care' in chart
    branched = mermaid(scored.screening)
    assert 'step_sitting_hours -->|"no"| step_stretch_breaks' in branched
    assert 'step_sharp_pain -->|"not sure"| outcome_see_someone' in branched
    assert 'rules -->|"3 ≤ total ≤ 5"| outcome_busy' in branched
    assert 'rules -->|"desk ≥ 3 and habits ≥ 2"| outcome_desk_heavy' in branched
