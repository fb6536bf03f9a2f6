"""Load, validate and lint the knowledge files into one immutable :class:`KnowledgeBase`."""

from __future__ import annotations

import difflib
import re
import string
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from rapidfuzz import fuzz

from bot.config import ClinicSettings, MatchingSettings
from bot.matching import Matcher, Normaliser
from bot.problems import KnowledgeError, Problem
from bot.safety import RedFlagDetector
from bot.schema import (
    ANSWER_IDS,
    FILE_MODELS,
    MAX_BUTTON_CHARS,
    SCHEMA_VERSION,
    FaqFile,
    MessagesFile,
    RedFlagsFile,
    ScreeningFile,
    Strict,
    SynonymsFile,
    Topic,
)
from bot.yamlfile import PathKey, YamlDocument, dotted_path, read_yaml

# The design contract: these topics must exist, the bot and clinics' scripts link to them.
REQUIRED_TOPIC_IDS: Final = (
    "does-pt-work",
    "what-is-pt",
    "treatment-plan",
    "stretching",
    "strengthening",
    "posture",
    "manual-therapy",
    "education",
    "pain-relief",
    "prevention",
    "conditions",
    "herniated-disc",
    "sciatica",
    "chronic-pain",
    "after-surgery",
    "who-should-consider",
    "early-treatment",
    "booking",
)
# Placeholders filled in at reply time by the engine, allowed in any text.
RUNTIME_PLACEHOLDERS: Final = frozenset({"deleted", "summary", "title", "phone"})
MIN_QUESTIONS: Final = 8
NEAR_DUPLICATE_SCORE: Final = 95.0

_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")

# Per-key hints for missing or empty values, written for admins.
_HINTS: Final[dict[str, str]] = {
    "answer": "write the answer text",
    "questions": "add a few ways people ask this, one per line starting with '- '",
    "title": "write a short label for buttons",
    "id": "give it a kebab-case id such as `herniated-disc`",
    "source": 'name the article section, or write "clinic"',
    "phrases": "add the words people use for this symptom",
    "variants": "add the words people use instead of the term",
    "message": "write the message text",
    "question": "write the question text",
    "text": "write the text",
}

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the bot knows, validated; never mutated (a reload builds a new one)."""

    directory: Path
    faq: FaqFile
    synonyms: SynonymsFile
    red_flags: RedFlagsFile
    messages: MessagesFile
    screening: ScreeningFile
    # Built once here, so every message is matched against a ready index.
    matcher: Matcher
    red_flags_detector: RedFlagDetector
    warnings: tuple[Problem, ...] = ()
    topics_by_id: Mapping[str, Topic] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def topics(self) -> tuple[Topic, ...]:
        return tuple(self.faq.topics)

    def topic(self, topic_id: str) -> Topic:
        return self.topics_by_id[topic_id]

    @property
    def question_count(self) -> int:
        return sum(len(t.questions) for t in self.faq.topics)


# --- structure --------------------------------------------------------------------------------


def _describe(error: ErrorDetails, document: YamlDocument) -> Problem:
    loc = tuple(part for part in error["loc"] if part != "[key]")
    path: PathKey = tuple(p for p in loc if isinstance(p, str | int))
    kind = error["type"]
    key = str(path[-1]) if path else ""
    line = document.line_of(path)
    ctx = error.get("ctx") or {}
    message, hint = error["msg"], ""
    if kind == "missing":
        message, hint = f"`{key}` is missing", _HINTS.get(key, f"add `{key}:`")
        path_text = dotted_path(path[:-1])
        return Problem(document.file, line, path_text, message, hint)
    if kind == "extra_forbidden":
        message = f"unknown key `{key}`"
        hint = _unknown_key_hint(key, error, document)
    elif kind in ("string_too_short", "too_short"):
        message, hint = "must not be empty", _HINTS.get(key, "fill it in or remove the key")
    elif kind == "string_too_long":
        limit = ctx.get("max_length")
        length = len(error["input"]) if isinstance(error["input"], str) else "?"
        what = "button label" if limit == MAX_BUTTON_CHARS else "text"
        message = f"{what} is {length} characters, over the limit of {limit}"
        hint = "shorten it" + (" (Telegram refuses longer messages)" if limit == 4096 else "")
    elif kind == "string_pattern_mismatch":
        message = f"`{error['input']}` is not a valid id"
        hint = "use lower-case letters, digits and single dashes, such as `herniated-disc`"
    elif kind == "string_type":
        message = "must be text"
        hint = "put the text in quotes"
    elif kind == "list_type":
        message = "must be a list"
        hint = "write each item on its own line starting with '- '"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = "must be a mapping of `key: value` lines"
        hint = "indent the keys under it"
    elif kind == "literal_error":
        message = f"`{error['input']}` is not allowed here"
        hint = f"use one of {ctx.get('expected', '')}"
    elif kind in ("bool_type",):
        message, hint = "must be true or false", "write true or false"
    elif kind in ("int_type", "float_type"):
        message, hint = "must be a number", "write a number such as 1 or 0.5"
    return Problem(document.file, line, dotted_path(path), message, hint)


def _unknown_key_hint(key: str, error: ErrorDetails, document: YamlDocument) -> str:
    model = _model_at(FILE_MODELS[Path(document.file).name], error["loc"][:-1])
    allowed = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return "allowed keys: " + ", ".join(allowed) if allowed else "remove it"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = _inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _check_version(document: YamlDocument) -> list[Problem]:
    data = document.data
    if not isinstance(data, dict):
        return [
            Problem(
                document.file,
                document.line_of(()),
                "",
                "the top level must be a mapping of keys",
                "start the file with `version: 1`; see knowledge/README.md",
            )
        ]
    if "version" not in data:
        return [
            Problem(
                document.file,
                1,
                "",
                "`version` is missing",
                f"add `version: {SCHEMA_VERSION}` as the first line",
            )
        ]
    version = data["version"]
    line = document.line_of(("version",))
    if version == SCHEMA_VERSION and not isinstance(version, bool):
        return []
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return [
            Problem(
                document.file,
                line,
                "version",
                f"version {version} is newer than this bot understands",
                f"upgrade the bot, or write the file for version {SCHEMA_VERSION}",
            )
        ]
    if isinstance(version, int) and not isinstance(version, bool):
        return [
            Problem(
                document.file,
                line,
                "version",
                f"version {version} is no longer supported",
                f"update the file to version {SCHEMA_VERSION}; see knowledge/README.md",
            )
        ]
    return [
        Problem(
            document.file,
            line,
            "version",
            f"`{version}` is not a version number",
            f"write `version: {SCHEMA_VERSION}`",
        )
    ]


def _walk_strings(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _walk_strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _walk_strings(value, (*path, i))


def _render_placeholders(
    document: YamlDocument, values: Mapping[str, str]
) -> tuple[Any, list[Problem]]:
    """Fill ``{clinic.*}`` placeholders; report any name that is not known."""
    problems: list[Problem] = []
    known = sorted([*values, *RUNTIME_PLACEHOLDERS])

    def fill(path: PathKey, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            if name in RUNTIME_PLACEHOLDERS:
                return match.group(0)
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = (
                f"did you mean {{{close[0]}}}?"
                if close
                else ("known placeholders: " + ", ".join("{" + k + "}" for k in known))
            )
            problems.append(
                Problem(
                    document.file,
                    document.line_of(path),
                    dotted_path(path),
                    f"unknown placeholder {{{name}}}",
                    hint,
                )
            )
            return match.group(0)

        return _PLACEHOLDER.sub(one, text)

    def rebuild(data: Any, path: PathKey) -> Any:
        if isinstance(data, str):
            return fill(path, data)
        if isinstance(data, dict):
            return {k: rebuild(v, (*path, k)) for k, v in data.items()}
        if isinstance(data, list):
            return [rebuild(v, (*path, i)) for i, v in enumerate(data)]
        return data

    return rebuild(document.data, ()), problems


def parse_file(
    document: YamlDocument, model: type[ModelT], clinic: ClinicSettings
) -> tuple[ModelT | None, list[Problem]]:
    """Validate one parsed file against its model: version, placeholders, then structure."""
    problems = _check_version(document)
    if problems:
        return None, problems
    data, problems = _render_placeholders(document, clinic.placeholders())
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        seen: set[tuple[int, str]] = set()
        for error in exc.errors():
            problem = _describe(error, document)
            # A value failing a union (e.g. id or "total") yields one error per branch.
            if (problem.line, problem.path) not in seen:
                seen.add((problem.line, problem.path))
                problems.append(problem)
        return None, problems
    return (None, problems) if problems else (parsed, problems)


# --- meaning ----------------------------------------------------------------------------------


def normalise_question(text: str) -> str:
    """Case, accents, punctuation and spacing folded, for spotting repeated questions."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(str.maketrans(string.punctuation, " " * len(string.punctuation)))
    return " ".join(text.split())


def _check_faq(faq: FaqFile, doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    f = doc.file
    first_seen: dict[str, int] = {}
    for i, topic in enumerate(faq.topics):
        if topic.id in first_seen:
            problems.append(
                Problem(
                    f,
                    doc.line_of(("topics", i, "id")),
                    f"topics[{i}].id",
                    f"duplicate topic id `{topic.id}` (also topics[{first_seen[topic.id]}])",
                    "give each topic its own id",
                )
            )
        else:
            first_seen[topic.id] = i
    ids = set(first_seen)
    for required in REQUIRED_TOPIC_IDS:
        if required not in ids:
            problems.append(
                Problem(
                    f,
                    doc.line_of(("topics",)),
                    "topics",
                    f"the required topic `{required}` is missing",
                    "the bot links to it; add it back (see knowledge/README.md)",
                )
            )
    for i, topic in enumerate(faq.topics):
        for j, rel in enumerate(topic.related):
            path = ("topics", i, "related", j)
            if rel not in ids:
                close = difflib.get_close_matches(rel, sorted(ids), n=1, cutoff=0.6)
                hint = f"did you mean `{close[0]}`?" if close else "name an existing topic id"
                problems.append(
                    Problem(
                        f, doc.line_of(path), dotted_path(path), f"`{rel}` is not a topic id", hint
                    )
                )
            elif rel == topic.id:
                problems.append(
                    Problem(
                        f,
                        doc.line_of(path),
                        dotted_path(path),
                        "a topic cannot be related to itself",
                        "remove it from `related`",
                    )
                )
    return problems


def _lint_faq(faq: FaqFile, doc: YamlDocument) -> list[Problem]:
    warnings: list[Problem] = []
    f = doc.file
    owner: dict[str, tuple[int, int]] = {}
    entries: list[tuple[str, int, int]] = []
    for i, topic in enumerate(faq.topics):
        if len(topic.questions) < MIN_QUESTIONS:
            warnings.append(
                Problem(
                    f,
                    doc.line_of(("topics", i, "questions")),
                    f"topics[{i}].questions",
                    f"only {len(topic.questions)} questions",
                    f"add at least {MIN_QUESTIONS} "
                    "ways people ask this, so the matcher recognises it",
                    "warning",
                )
            )
        for j, question in enumerate(topic.questions):
            key = normalise_question(question)
            path = ("topics", i, "questions", j)
            if key in owner:
                oi, oj = owner[key]
                where = "twice in this topic" if oi == i else f"also under `{faq.topics[oi].id}`"
                warnings.append(
                    Problem(
                        f,
                        doc.line_of(path),
                        dotted_path(path),
                        f"the same question is {where} (topics[{oi}].questions[{oj}])",
                        "keep it under one topic only",
                        "warning",
                    )
                )
                continue
            owner[key] = (i, j)
            entries.append((key, i, j))
    # Nearly identical questions under two topics confuse the matcher as much as exact ones.
    if len(entries) <= 5000:
        for a in range(len(entries)):
            key_a, ia, ja = entries[a]
            for b in range(a + 1, len(entries)):
                key_b, ib, jb = entries[b]
                if ia == ib:
                    continue
                if fuzz.ratio(key_a, key_b, score_cutoff=NEAR_DUPLICATE_SCORE):
                    path = ("topics", ib, "questions", jb)
                    warnings.append(
                        Problem(
                            f,
                            doc.line_of(path),
                            dotted_path(path),
                            f"nearly the same question is under `{faq.topics[ia].id}` "
                            f"(topics[{ia}].questions[{ja}])",
                            "keep it under one topic only",
                            "warning",
                        )
                    )
    related_to = {rel for t in faq.topics for rel in t.related if rel != t.id}
    for i, topic in enumerate(faq.topics):
        if topic.id not in related_to:
            warnings.append(
                Problem(
                    f,
                    doc.line_of(("topics", i, "id")),
                    f"topics[{i}]",
                    f"no other topic relates to `{topic.id}`",
                    "add it to `related` of a topic that leads to it",
                    "warning",
                )
            )
    return warnings


def _check_synonyms(synonyms: SynonymsFile, doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(synonyms.synonyms):
        term = normalise_question(entry.term)
        for j, variant in enumerate(entry.variants):
            path = ("synonyms", i, "variants", j)
            key = normalise_question(variant)
            if key == term:
                problems.append(
                    Problem(
                        doc.file,
                        doc.line_of(path),
                        dotted_path(path),
                        f"`{variant}` is the term itself",
                        "remove it",
                    )
                )
            elif key in seen:
                other = synonyms.synonyms[seen[key]].term
                problems.append(
                    Problem(
                        doc.file,
                        doc.line_of(path),
                        dotted_path(path),
                        f"`{variant}` is also a variant of `{other}`",
                        "keep it under one term only",
                    )
                )
            else:
                seen[key] = i
    return problems


def _check_red_flags(red_flags: RedFlagsFile, doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, category in enumerate(red_flags.categories):
        if category.id in seen:
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(("categories", i, "id")),
                    f"categories[{i}].id",
                    f"duplicate id `{category.id}`",
                    "give each category its own id",
                )
            )
        seen.add(category.id)
    return problems


def _check_bands(screening: ScreeningFile, doc: YamlDocument, groups: set[str]) -> list[Problem]:
    """Conditions that can never hold, and immediate outcomes that would always fire."""
    problems: list[Problem] = []
    f = doc.file
    # The score range each group can reach, so an outcome nobody can get is caught here.
    highest: dict[str, float] = dict.fromkeys(groups, 0.0)
    lowest: dict[str, float] = dict.fromkeys(groups, 0.0)
    for step in screening.steps:
        points = [float(step.scores.get(answer, 0)) for answer in ANSWER_IDS]
        for group in (step.group, "total"):
            highest[group] += max(points)
            lowest[group] += min(points)
    for i, outcome in enumerate(screening.outcomes):
        if outcome.immediate and not outcome.when:
            problems.append(
                Problem(
                    f,
                    doc.line_of(("outcomes", i, "immediate")),
                    f"outcomes[{i}].immediate",
                    "an immediate outcome needs `when:` conditions",
                    "without them it would end the screening after the first answer",
                )
            )
        for j, band in enumerate(outcome.when):
            path: PathKey = ("outcomes", i, "when", j)
            where = dotted_path(path)
            line = doc.line_of(path)
            if band.group not in groups:
                continue
            if band.min is None and band.max is None:
                problems.append(
                    Problem(f, line, where, "needs `min:` or `max:`", "add a score limit")
                )
            elif band.min is not None and band.max is not None and band.min > band.max:
                problems.append(
                    Problem(f, line, where, "`min` is above `max`", "swap the two numbers")
                )
            elif band.min is not None and band.min > highest[band.group]:
                problems.append(
                    Problem(
                        f,
                        line,
                        where,
                        f"can never hold: the highest possible `{band.group}` score is "
                        f"{highest[band.group]:g}",
                        "lower `min:`, or give the steps' answers more points",
                    )
                )
            elif band.max is not None and band.max < lowest[band.group]:
                problems.append(
                    Problem(
                        f,
                        line,
                        where,
                        f"can never hold: the lowest possible `{band.group}` score is "
                        f"{lowest[band.group]:g}",
                        "raise `max:`",
                    )
                )
    return problems


def _check_screening(screening: ScreeningFile, doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    f = doc.file
    step_ids: dict[str, int] = {}
    for i, step in enumerate(screening.steps):
        if step.id in step_ids:
            problems.append(
                Problem(
                    f,
                    doc.line_of(("steps", i, "id")),
                    f"steps[{i}].id",
                    f"duplicate step id `{step.id}`",
                    "give each step its own id",
                )
            )
        step_ids.setdefault(step.id, i)
    outcome_ids: dict[str, int] = {}
    for i, outcome in enumerate(screening.outcomes):
        if outcome.id in outcome_ids or outcome.id in step_ids:
            problems.append(
                Problem(
                    f,
                    doc.line_of(("outcomes", i, "id")),
                    f"outcomes[{i}].id",
                    f"duplicate id `{outcome.id}`",
                    "steps and outcomes each need their own id",
                )
            )
        outcome_ids.setdefault(outcome.id, i)
    groups = {step.group for step in screening.steps} | {"total"}
    for i, outcome in enumerate(screening.outcomes):
        for j, band in enumerate(outcome.when):
            path: PathKey = ("outcomes", i, "when", j, "group")
            if band.group not in groups:
                problems.append(
                    Problem(
                        f,
                        doc.line_of(path),
                        dotted_path(path),
                        f"no step is in group `{band.group}`",
                        "use a group named by a step, or `total`",
                    )
                )
    problems.extend(_check_bands(screening, doc, groups))
    # Reachability: walk from the first step along `next` (or the following step).
    reached_outcomes: set[str] = set()
    for i, step in enumerate(screening.steps):
        for answer, next_id in step.next.items():
            path = ("steps", i, "next", answer)
            if next_id not in step_ids and next_id not in outcome_ids:
                close = difflib.get_close_matches(next_id, [*step_ids, *outcome_ids], n=1)
                problems.append(
                    Problem(
                        f,
                        doc.line_of(path),
                        dotted_path(path),
                        f"`{next_id}` is neither a step nor an outcome",
                        f"did you mean `{close[0]}`?"
                        if close
                        else "name an existing step id or outcome id",
                    )
                )
    if problems:
        return problems
    reached: set[str] = set()
    todo = [screening.steps[0].id]
    ends_by_rules = False
    while todo:
        current = todo.pop()
        if current in reached:
            continue
        reached.add(current)
        index = step_ids[current]
        step = screening.steps[index]
        default = screening.steps[index + 1].id if index + 1 < len(screening.steps) else None
        for answer in ANSWER_IDS:
            target = step.next.get(answer, default)
            if target is None:
                ends_by_rules = True
            elif target in outcome_ids:
                reached_outcomes.add(target)
            else:
                todo.append(target)
    for i, step in enumerate(screening.steps):
        if step.id not in reached:
            problems.append(
                Problem(
                    f,
                    doc.line_of(("steps", i, "id")),
                    f"steps[{i}]",
                    f"no answer leads to step `{step.id}`",
                    "remove it, or point a `next:` at it",
                )
            )
    rule_outcomes = [o for o in screening.outcomes if o.when or o.immediate]
    fallback = [o for o in screening.outcomes if not o.when and not o.immediate]
    if ends_by_rules and not fallback:
        problems.append(
            Problem(
                f,
                doc.line_of(("outcomes",)),
                "outcomes",
                "no outcome without conditions, so a screening can end with no outcome",
                "add a last outcome with no `when:`",
            )
        )
    for i, outcome in enumerate(screening.outcomes):
        reachable = (
            outcome.id in reached_outcomes
            or (ends_by_rules and (outcome in rule_outcomes or outcome is fallback[0]))
            or outcome.immediate
        )
        if not reachable:
            problems.append(
                Problem(
                    f,
                    doc.line_of(("outcomes", i, "id")),
                    f"outcomes[{i}]",
                    f"no answer or rule can reach outcome `{outcome.id}`",
                    "give it a `when:` rule, point a `next:` at it, or remove it",
                )
            )
    return problems


# --- loading ----------------------------------------------------------------------------------


def _display_name(path: Path) -> str:
    """``knowledge/faq.yaml`` relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_knowledge(
    directory: Path,
    clinic: ClinicSettings | None = None,
    matching: MatchingSettings | None = None,
) -> KnowledgeBase:
    """Load every knowledge file; raise :class:`KnowledgeError` listing every problem found."""
    clinic = clinic or ClinicSettings()
    problems: list[Problem] = []
    warnings: list[Problem] = []
    parsed: dict[str, Strict] = {}
    documents: dict[str, YamlDocument] = {}
    for filename, model in FILE_MODELS.items():
        path = directory / filename
        try:
            document = read_yaml(path, _display_name(path))
        except KnowledgeError as exc:
            problems.extend(exc.problems)
            continue
        documents[filename] = document
        result, file_problems = parse_file(document, model, clinic)
        problems.extend(file_problems)
        if result is not None:
            parsed[filename] = result
    faq = _typed(parsed, "faq.yaml", FaqFile)
    synonyms = _typed(parsed, "synonyms.yaml", SynonymsFile)
    red_flags = _typed(parsed, "red_flags.yaml", RedFlagsFile)
    messages = _typed(parsed, "messages.yaml", MessagesFile)
    screening = _typed(parsed, "screening.yaml", ScreeningFile)
    if faq:
        problems.extend(_check_faq(faq, documents["faq.yaml"]))
        warnings.extend(_lint_faq(faq, documents["faq.yaml"]))
    if synonyms:
        problems.extend(_check_synonyms(synonyms, documents["synonyms.yaml"]))
    if red_flags:
        problems.extend(_check_red_flags(red_flags, documents["red_flags.yaml"]))
    if screening:
        problems.extend(_check_screening(screening, documents["screening.yaml"]))
    if problems:
        raise KnowledgeError(sorted(problems, key=_order) + sorted(warnings, key=_order))
    # No problems means every file parsed.
    assert faq is not None
    assert synonyms is not None
    assert red_flags is not None
    assert messages is not None
    assert screening is not None
    matcher, detector = build_matching(faq, synonyms, red_flags, matching)
    warnings.extend(_lint_matching(faq, matcher, documents["faq.yaml"]))
    return KnowledgeBase(
        directory=directory,
        faq=faq,
        synonyms=synonyms,
        red_flags=red_flags,
        messages=messages,
        screening=screening,
        matcher=matcher,
        red_flags_detector=detector,
        warnings=tuple(sorted(warnings, key=_order)),
        topics_by_id=MappingProxyType({t.id: t for t in faq.topics}),
    )


def build_matching(
    faq: FaqFile,
    synonyms: SynonymsFile,
    red_flags: RedFlagsFile,
    settings: MatchingSettings | None = None,
) -> tuple[Matcher, RedFlagDetector]:
    """The matcher and the red-flag detector, sharing one vocabulary for typo correction."""
    settings = settings or MatchingSettings()
    texts = [q for t in faq.topics for q in (t.title, *t.questions)]
    texts += [p for c in red_flags.categories for p in (*c.phrases, *c.unless)]
    texts += [w for c in red_flags.categories for k in c.concepts for g in k.all_of for w in g]
    normaliser = Normaliser.build(texts, synonyms, settings.typo_cutoff)
    matcher = Matcher(faq, synonyms, settings, normaliser)
    return matcher, RedFlagDetector(red_flags, normaliser, settings.red_flag_max_chars)


def _lint_matching(faq: FaqFile, matcher: Matcher, doc: YamlDocument) -> list[Problem]:
    """A topic's own question that the matcher gives to another topic misleads people."""
    warnings: list[Problem] = []
    if sum(len(t.questions) for t in faq.topics) > 5000:
        return warnings  # too slow for huge generated bases; the shipped one is far smaller
    for i, topic in enumerate(faq.topics):
        for j, question in enumerate(topic.questions):
            # Its own question is in the index, so only a real clash (another topic with the
            # same words, scoring higher) is reported, not every loosely worded question.
            matches, specific = matcher.rank(question)
            if not matches or matches[0].topic_id == topic.id or not specific:
                continue
            if matches[0].score >= matcher.settings.suggest_score:
                path = ("topics", i, "questions", j)
                warnings.append(
                    Problem(
                        doc.file,
                        doc.line_of(path),
                        dotted_path(path),
                        f"the matcher gives this question to `{matches[0].topic_id}`, "
                        f"not to `{topic.id}`",
                        "reword it with this topic's own words, or move it",
                        "warning",
                    )
                )
    return warnings


def _typed(parsed: Mapping[str, Strict], filename: str, model: type[ModelT]) -> ModelT | None:
    value = parsed.get(filename)
    return value if isinstance(value, model) else None


def _order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.line, problem.path)
