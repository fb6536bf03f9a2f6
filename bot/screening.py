"""Walking the screening: one generic step function, outcome rules, scores, a Mermaid diagram."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from bot.schema import ANSWER_IDS, AnswerId, Outcome, ScoreBand, ScreeningFile, Step

Answered = tuple[str, AnswerId]  # (step id, answer), in the order they were given
Control = Literal["back", "cancel"]

# Typed answers belong to a language: a Spanish session reads "sí", "claro", "no sé" and an
# English one "yeah", "dunno". Each language has its own lists rather than one merged list,
# because words collide across languages: "y" is "yes" in an English chat but "and" in a
# Spanish one ("y me duele la pierna"), and "no se" is a whole answer only in Spanish.
# The phrases are compared with the message folded (case, punctuation) and also with its
# accents removed, so "si" and "sí", "adios" and "adiós" both match a phrase written without
# accents, while a phrase written with an accent ("no sé") matches only when it was typed so.


@dataclass(frozen=True)
class AnswerWords:
    """One language's typed screening answers."""

    yes: frozenset[str]  # the whole message
    no: frozenset[str]
    not_sure: tuple[str, ...]  # the whole message, or its start ("not sure, maybe")
    not_sure_exact: frozenset[str]  # only as the whole message
    back: frozenset[str]
    cancel: frozenset[str]
    first_word_yes: frozenset[str]  # "yes, since May"
    first_word_no: frozenset[str]  # "no never"


ENGLISH_ANSWERS: Final = AnswerWords(
    yes=frozenset(
        [
            "yes",
            "y",
            "yeah",
            "yea",
            "yep",
            "yup",
            "ya",
            "yah",
            "aye",
            "sure",
            "correct",
            "true",
            "definitely",
            "absolutely",
            "affirmative",
            "i do",
            "i have",
            "i am",
            "it is",
            "it does",
            "right",
            "uh huh",
            "of course",
        ]
    ),
    no=frozenset(
        [
            "no",
            "n",
            "nope",
            "nah",
            "na",
            "never",
            "negative",
            "none",
            "false",
            "not really",
            "not at all",
            "i dont",
            "i do not",
            "i havent",
            "i have not",
            "i am not",
            "im not",
            "it isnt",
            "it doesnt",
            "no way",
            "nothing like that",
        ]
    ),
    not_sure=(
        "not sure",
        "unsure",
        "dont know",
        "do not know",
        "i dont know",
        "idk",
        "dunno",
        "no idea",
        "maybe",
        "perhaps",
        "possibly",
        "not certain",
        "im not sure",
        "i am not sure",
        "cant tell",
        "can not tell",
        "cannot tell",
        "hard to say",
        "no clue",
    ),
    not_sure_exact=frozenset(),
    back=frozenset(["back", "go back", "previous", "previous question", "undo"]),
    cancel=frozenset(["cancel", "stop", "quit", "exit", "end", "stop it", "cancel it"]),
    first_word_yes=frozenset(["yes", "yeah", "yep", "yup", "yea", "y"]),
    first_word_no=frozenset(["no", "nope", "nah", "never"]),
)

SPANISH_ANSWERS: Final = AnswerWords(
    yes=frozenset(
        [
            "si",
            "sip",
            "sii",
            "siii",
            "claro",
            "claro que si",
            "por supuesto",
            "desde luego",
            "efectivamente",
            "exacto",
            "correcto",
            "cierto",
            "afirmativo",
            "asi es",
            "eso es",
            "totalmente",
            "seguro",
            "si tengo",
            "lo tengo",
            "me pasa",
            "si me pasa",
            "yes",  # English slips into Spanish chats; "y" alone does not (it means "and")
        ]
    ),
    no=frozenset(
        [
            "no",
            "nop",
            "nope",
            "nunca",
            "jamas",
            "negativo",
            "para nada",
            "en absoluto",
            "de ninguna manera",
            "claro que no",
            "que va",
            "nada",
            "nada de eso",
            "ninguno",
            "ninguna",
            "tampoco",
            "no tengo",
            "no me pasa",
            "no lo tengo",
            "no nunca",
        ]
    ),
    # "no se" without the accent also starts "no se me duerme la pierna" (a "no" answer), so
    # only the accented "no sé" counts as a start; unaccented, it must be the whole message.
    not_sure=(
        "no sé",
        "no lo se",
        "no estoy seguro",
        "no estoy segura",
        "no lo tengo claro",
        "no sabria decir",
        "no sabria decirte",
        "no tengo ni idea",
        "no tengo idea",
        "ni idea",
        "no me acuerdo",
        "no recuerdo",
        "no estoy muy seguro",
        "no estoy muy segura",
        "quizas",
        "quiza",
        "tal vez",
        "a lo mejor",
        "puede ser",
        "puede que",
        "es posible",
        "dificil de decir",
    ),
    not_sure_exact=frozenset(["no se", "nose", "nse", "depende", "mas o menos", "puede"]),
    back=frozenset(
        ["atras", "volver", "volver atras", "anterior", "pregunta anterior", "deshacer"]
    ),
    cancel=frozenset(
        ["cancelar", "cancela", "parar", "para", "salir", "terminar", "basta", "stop", "dejalo"]
    ),
    first_word_yes=frozenset(["si", "sip", "claro"]),
    first_word_no=frozenset(["no", "nop", "nunca", "jamas", "tampoco"]),
)

# By the knowledge base's ``language`` code; a language without lists reads English words.
ANSWER_WORDS: Final[Mapping[str, AnswerWords]] = {"en": ENGLISH_ANSWERS, "es": SPANISH_ANSWERS}


def fold(text: str) -> str:
    """Case, apostrophes and punctuation folded: "Don't know!" -> "dont know" (accents kept)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"['’‘`]", "", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def unaccented(folded: str) -> str:
    """A folded text without its accents: "adiós, no sé" -> "adios, no se"."""
    decomposed = unicodedata.normalize("NFD", folded)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def parse_answer(text: str, language: str = "en") -> AnswerId | Control | None:
    """What a typed reply means for a screening step, or None when it is not an answer.

    ``language``: the code of the language the conversation is in (its word lists are used).
    """
    words = ANSWER_WORDS.get(language, ENGLISH_ANSWERS)
    folded = fold(text)
    if not folded:
        return None
    forms = {folded, unaccented(folded)}

    def whole(phrases: frozenset[str]) -> bool:
        return not forms.isdisjoint(phrases)

    if whole(words.back):
        return "back"
    if whole(words.cancel):
        return "cancel"
    if whole(words.yes):
        return "yes"
    if whole(words.no):
        return "no"
    if whole(words.not_sure_exact) or any(
        form == p or form.startswith(p + " ") for form in forms for p in words.not_sure
    ):
        return "not-sure"
    # "Yes, since May" answers the question; "yes but does physio help?" is a question.
    if text.rstrip().endswith("?"):
        return None
    first = {form.split()[0] for form in forms}
    if not first.isdisjoint(words.first_word_yes):
        return "yes"
    if not first.isdisjoint(words.first_word_no):
        return "no"
    return None


# --- walking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """The screening ended: the outcome chosen and the scores that chose it."""

    outcome: Outcome
    scores: Mapping[str, float]


def step_index(screening: ScreeningFile) -> dict[str, int]:
    return {step.id: i for i, step in enumerate(screening.steps)}


def find_step(screening: ScreeningFile, step_id: str) -> Step | None:
    for step in screening.steps:
        if step.id == step_id:
            return step
    return None


def find_outcome(screening: ScreeningFile, outcome_id: str) -> Outcome | None:
    for outcome in screening.outcomes:
        if outcome.id == outcome_id:
            return outcome
    return None


def scores(screening: ScreeningFile, answers: Iterable[Answered]) -> dict[str, float]:
    """Points per group (subscale) and in ``total``; answers to unknown steps count nothing."""
    by_id = {step.id: step for step in screening.steps}
    result: dict[str, float] = {"total": 0.0}
    for step in screening.steps:
        result.setdefault(step.group, 0.0)
    for step_id, answer in answers:
        answered = by_id.get(step_id)
        if answered is None:
            continue
        points = float(answered.scores.get(answer, 0))
        result[answered.group] += points
        result["total"] += points
    return result


def band_holds(band: ScoreBand, totals: Mapping[str, float]) -> bool:
    value = totals.get(band.group, 0.0)
    if band.min is not None and value < band.min:
        return False
    return band.max is None or value <= band.max


def outcome_holds(outcome: Outcome, totals: Mapping[str, float]) -> bool:
    return all(band_holds(band, totals) for band in outcome.when)


def advance(screening: ScreeningFile, answers: Sequence[Answered]) -> Step | Finished:
    """The one generic step function: given all answers so far, what comes next.

    After every answer the ``immediate`` outcomes are checked (that is how a warning sign ends
    the screening at once); then the answer's ``next`` (or the following step) is taken; past
    the last step the first outcome whose rules hold is chosen.
    """
    if not answers:
        return screening.steps[0]
    totals = scores(screening, answers)
    for outcome in screening.outcomes:
        if outcome.immediate and outcome_holds(outcome, totals):
            return Finished(outcome, totals)
    last_id, last_answer = answers[-1]
    index = step_index(screening)[last_id]
    step = screening.steps[index]
    target = step.next.get(last_answer)
    if target is None and index + 1 < len(screening.steps):
        return screening.steps[index + 1]
    if target is not None:
        found = find_step(screening, target)
        if found is not None:
            return found
        named = find_outcome(screening, target)
        if named is not None:
            return Finished(named, totals)
        raise LookupError(f"`{target}` is neither a step nor an outcome")
    for outcome in screening.outcomes:
        if outcome_holds(outcome, totals):
            return Finished(outcome, totals)
    raise LookupError("no outcome holds and none is unconditional")


def summary(
    screening: ScreeningFile, answers: Iterable[Answered], labels: Mapping[AnswerId, str]
) -> str:
    """One line per answered step, in the order asked, for the person to show a therapist."""
    by_id = {step.id: step for step in screening.steps}
    lines = [
        f"- {by_id[step_id].summary}: {labels[answer]}"
        for step_id, answer in answers
        if step_id in by_id
    ]
    return "\n".join(lines)


# --- the diagram -----------------------------------------------------------------------------


def _node(kind: str, ident: str) -> str:
    # Mermaid ids may not contain dashes in every renderer; labels carry the real id.
    return f"{kind}_{ident.replace('-', '_')}"


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _band_text(band: ScoreBand) -> str:
    def number(value: float) -> str:
        return f"{value:g}"

    if band.min is not None and band.max is not None:
        return f"{number(band.min)} ≤ {band.group} ≤ {number(band.max)}"
    if band.min is not None:
        return f"{band.group} ≥ {number(band.min)}"
    if band.max is not None:
        return f"{band.group} ≤ {number(band.max)}"
    return "always"


def _rules_text(outcome: Outcome) -> str:
    return " and ".join(_band_text(b) for b in outcome.when) if outcome.when else "otherwise"


_ANSWER_WORDS: Final[dict[AnswerId, str]] = {"yes": "yes", "no": "no", "not-sure": "not sure"}


def mermaid(screening: ScreeningFile) -> str:
    """A Mermaid flowchart of the steps, their branches and the outcome rules."""
    lines = [
        "flowchart TD",
        f"    start(({_label('Start')})) --> {_node('step', screening.steps[0].id)}",
    ]
    groups: dict[str, list[Step]] = {}
    for step in screening.steps:
        groups.setdefault(step.group, []).append(step)
    for group, members in groups.items():
        lines.append(f"    subgraph {_node('group', group)}[{_label(group)}]")
        for step in members:
            points = ", ".join(
                f"{_ANSWER_WORDS[a]} {step.scores[a]:g}" for a in ANSWER_IDS if step.scores.get(a)
            )
            text = f"{step.summary}" + (f"<br/><small>{points}</small>" if points else "")
            lines.append(f"        {_node('step', step.id)}[{_label(text)}]")
        lines.append("    end")
    for outcome in screening.outcomes:
        lines.append(f"    {_node('outcome', outcome.id)}([{_label(outcome.title)}])")
    ends = False
    for i, step in enumerate(screening.steps):
        default = screening.steps[i + 1].id if i + 1 < len(screening.steps) else None
        targets: dict[str | None, list[str]] = {}
        for answer in ANSWER_IDS:
            targets.setdefault(step.next.get(answer, default), []).append(_ANSWER_WORDS[answer])
        for target, words in targets.items():
            label = "" if len(words) == len(ANSWER_IDS) else f"|{_label(' / '.join(words))}|"
            if target is None:
                ends = True
                node = "rules"
            elif find_step(screening, target) is not None:
                node = _node("step", target)
            else:
                node = _node("outcome", target)
            lines.append(f"    {_node('step', step.id)} -->{label} {node}")
    for outcome in screening.outcomes:
        if outcome.immediate:
            sources = {b.group for b in outcome.when}
            text = _label("after any answer: " + _rules_text(outcome))
            for group in sorted(sources):
                node = _node("group", group) if group in groups else "start"
                lines.append(f"    {node} -.->|{text}| {_node('outcome', outcome.id)}")
    if ends:
        lines.append(f"    rules{{{_label('first outcome whose rules hold')}}}")
        for outcome in screening.outcomes:
            if not outcome.immediate:
                text = _label(_rules_text(outcome))
                lines.append(f"    rules -->|{text}| {_node('outcome', outcome.id)}")
    lines.append("    classDef urgent fill:#fde2e1,stroke:#b42318,color:#7a271a")
    urgent = [_node("outcome", o.id) for o in screening.outcomes if o.urgent]
    if urgent:
        lines.append(f"    class {','.join(urgent)} urgent")
    return "\n".join(lines) + "\n"


DIAGRAM_FILE: Final = "screening.md"


def diagram_markdown(screening: ScreeningFile) -> str:
    """The contents of knowledge/screening.md: a short note for admins and the diagram."""
    return (
        "# The screening, drawn\n\n"
        "Made from `screening.yaml`; do not edit by hand. After changing `screening.yaml`, run\n"
        '`python -c "from bot.screening import write_diagram; write_diagram()"` (a test fails\n'
        "while this file is out of date). GitHub and most editors draw the diagram below.\n\n"
        "Solid arrows are answers; dotted arrows are checked after every answer and end the\n"
        "screening at once; red boxes are urgent-care outcomes.\n\n"
        "```mermaid\n" + mermaid(screening) + "```\n"
    )


def write_diagram(kb_dir: Path = Path("knowledge")) -> Path:
    """Regenerate ``screening.md`` beside ``screening.yaml`` from the validated knowledge."""
    from bot.knowledge import load_knowledge  # here, so the engine's import stays light

    kb = load_knowledge(kb_dir)
    target = kb_dir / DIAGRAM_FILE
    target.write_text(diagram_markdown(kb.screening), encoding="utf-8")
    return target
