"""Load, validate and lint the knowledge files into one immutable :class:`KnowledgeBase`."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import string
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from rapidfuzz import fuzz, process

from bot.config import ClinicSettings, MatchingSettings
from bot.likeness import UrgencyModel, ordinary_counts
from bot.matching import STOP_WORDS, Matcher, Normaliser, stem
from bot.problems import KnowledgeError, Problem
from bot.safety import NEGATION_STEMS, RedFlagDetector
from bot.schema import (
    ANSWER_IDS,
    FILE_MODELS,
    MAX_BUTTON_CHARS,
    OPTIONAL_FILE_MODELS,
    SCHEMA_VERSION,
    TRANSLATION_MODELS,
    ExamplesFile,
    FaqFile,
    FaqTranslationFile,
    MessagesFile,
    MessagesTranslationFile,
    RedFlagCategory,
    RedFlagsFile,
    ScreeningFile,
    Strict,
    SynonymsFile,
    Topic,
    TopicTranslation,
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
RUNTIME_PLACEHOLDERS: Final = frozenset({"deleted", "summary", "title", "phone", "signs", "sign"})
MIN_QUESTIONS: Final = 8
# People's messages by topic: optional, and read only from the default language's folder.
EXAMPLES_FILE: Final = "examples.yaml"
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


class MatchingIndex:
    """One language's matcher and red-flag detector, built once, when first needed.

    The default language's is built at load (its lint needs it). A translation's is built on
    its first message: most clinics' people write in one language, and building every
    language's index at each load and reload costs about 50 ms per language.
    """

    def __init__(self, build: Callable[[], tuple[Matcher, RedFlagDetector]]) -> None:
        self._build: Callable[[], tuple[Matcher, RedFlagDetector]] | None = build
        self._built: tuple[Matcher, RedFlagDetector] | None = None
        # The reloader may build from its thread while the bot reads from the event loop.
        self._lock = threading.Lock()

    @classmethod
    def ready(cls, matcher: Matcher, detector: RedFlagDetector) -> MatchingIndex:
        index = cls(lambda: (matcher, detector))
        index.get()
        return index

    @property
    def is_built(self) -> bool:
        return self._built is not None

    # Pickled by the knowledge cache (bot/knowledge_cache.py): a lock does not pickle, and a
    # translation's index stays unbuilt until its first message, as after a fresh load.
    def __getstate__(self) -> dict[str, Any]:
        return {"build": self._build, "built": self._built}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._build = state["build"]
        self._built = state["built"]
        self._lock = threading.Lock()

    def get(self) -> tuple[Matcher, RedFlagDetector]:
        built = self._built
        if built is not None:
            return built
        with self._lock:
            if self._built is None:
                assert self._build is not None
                self._built = self._build()
                self._build = None  # let go of the files it closed over
            return self._built


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the bot knows, validated; never mutated (a reload builds a new one)."""

    directory: Path
    faq: FaqFile
    synonyms: SynonymsFile
    red_flags: RedFlagsFile
    messages: MessagesFile
    screening: ScreeningFile
    # Built once per base, so every message is matched against a ready index.
    index: MatchingIndex = field(repr=False, compare=False)
    warnings: tuple[Problem, ...] = ()
    topics_by_id: Mapping[str, Topic] = field(default_factory=lambda: MappingProxyType({}))
    # knowledge/examples.yaml: people's messages by topic id, which the matcher learned from;
    # urgent ones by red-flag category and the others, which the likeness model learned from.
    examples: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    urgent_examples: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    other_examples: Sequence[str] = field(default=(), repr=False, compare=False)
    # The ISO 639-1 code of this base's language, and every language's base by code (the
    # default first), shared by all of them; empty when there are no translations.
    language: str = "en"
    translations: Mapping[str, KnowledgeBase] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    @property
    def matcher(self) -> Matcher:
        return self.index.get()[0]

    @property
    def red_flags_detector(self) -> RedFlagDetector:
        return self.index.get()[1]

    @property
    def languages(self) -> tuple[str, ...]:
        """Codes of the languages the bot speaks, the default first."""
        return tuple(self.translations) or (self.language,)

    @property
    def language_name(self) -> str:
        """The language's own name ("Español"), the label of its /language button."""
        return self.messages.language_name

    def for_language(self, code: str | None) -> KnowledgeBase:
        """The base for language ``code``; the default language's for an unknown code."""
        if code == self.language:
            return self
        found = self.translations.get(code) if code else None
        if found is not None:
            return found
        default = self.languages[0]
        return self if default == self.language else self.translations[default]

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
    path = Path(document.file)
    in_language_folder = path.parent.parent.name == I18N_DIR
    models = TRANSLATION_MODELS if in_language_folder else {**FILE_MODELS, **OPTIONAL_FILE_MODELS}
    model = _model_at(models[path.name], error["loc"][:-1])
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
    if problems:
        return None, problems
    return _render_defaults(parsed, clinic.placeholders()), problems


def _render_defaults(model: ModelT, values: Mapping[str, str]) -> ModelT:
    """``model`` with ``{clinic.*}`` filled in the texts its file left out and the model's
    defaults gave (a message added in an update, before the clinic's file has it)."""
    updates: dict[str, object] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            rendered = _render_defaults(value, values)
            if rendered is not value:
                updates[name] = rendered
        elif isinstance(value, str) and name not in model.model_fields_set and "{" in value:
            updates[name] = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    return model.model_copy(update=updates) if updates else model


# --- meaning ----------------------------------------------------------------------------------


_PUNCTUATION_TO_SPACES: Final = str.maketrans(string.punctuation, " " * len(string.punctuation))


def normalise_question(text: str) -> str:
    """Case, accents, punctuation and spacing folded, for spotting repeated questions."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_PUNCTUATION_TO_SPACES)
    return " ".join(text.split())


def _duplicate_ids(
    ids: Sequence[str],
    list_key: str,
    doc: YamlDocument,
    what: str,
    hint: str,
    *,
    taken: Mapping[str, int] | None = None,
    name_first: bool = False,
) -> tuple[dict[str, int], list[Problem]]:
    """The first index of each id, and a problem for each id already used (here or in taken)."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for i, item_id in enumerate(ids):
        if item_id in first or (taken is not None and item_id in taken):
            also = (
                f" (also {list_key}[{first[item_id]}])" if name_first and item_id in first else ""
            )
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of((list_key, i, "id")),
                    f"{list_key}[{i}].id",
                    f"duplicate {what} `{item_id}`{also}",
                    hint,
                )
            )
        first.setdefault(item_id, i)
    return first, problems


def _check_faq(faq: FaqFile, doc: YamlDocument) -> list[Problem]:
    f = doc.file
    first_seen, problems = _duplicate_ids(
        [t.id for t in faq.topics],
        "topics",
        doc,
        "topic id",
        "give each topic its own id",
        name_first=True,
    )
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
    # fuzz.ratio >= 95 needs the shorter text to be at least 95/105 of the longer one, so each
    # question is compared (in one C-level extract) only with the similar lengths after it.
    if len(entries) <= 5000:
        by_length = sorted(entries, key=lambda entry: (len(entry[0]), entry[1], entry[2]))
        keys = [key for key, _, _ in by_length]
        shortest = NEAR_DUPLICATE_SCORE / (200 - NEAR_DUPLICATE_SCORE)
        found: list[tuple[int, int, int, int]] = []
        for a, (key_a, ia, ja) in enumerate(by_length):
            end = a + 1
            while end < len(keys) and len(key_a) >= shortest * len(keys[end]):
                end += 1
            near = process.extract(
                key_a,
                keys[a + 1 : end],
                scorer=fuzz.ratio,
                score_cutoff=NEAR_DUPLICATE_SCORE,
                limit=None,
            )
            for _, _, offset in near:
                _, ib, jb = by_length[a + 1 + offset]
                if ia != ib:
                    # Reported on the later question in the file, naming the earlier one.
                    found.append(max((ia, ja, ib, jb), (ib, jb, ia, ja), key=lambda q: q[:2]))
        for ib, jb, ia, ja in sorted(found):
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
    ids = [category.id for category in red_flags.categories]
    return _duplicate_ids(ids, "categories", doc, "id", "give each category its own id")[1]


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
    f = doc.file
    step_ids, problems = _duplicate_ids(
        [step.id for step in screening.steps], "steps", doc, "step id", "give each step its own id"
    )
    outcome_ids, outcome_problems = _duplicate_ids(
        [outcome.id for outcome in screening.outcomes],
        "outcomes",
        doc,
        "id",
        "steps and outcomes each need their own id",
        taken=step_ids,
    )
    problems.extend(outcome_problems)
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
    *,
    lint: bool = True,
) -> KnowledgeBase:
    """Load every knowledge file; raise :class:`KnowledgeError` listing every problem found.

    ``lint=False`` skips the advice that only admins read (near-duplicate questions, questions
    the matcher gives to another topic, topics nothing relates to): the slowest part of a
    load, which grows with the number of questions. ``check``, /reload and the admins' edits
    lint; starting the bot, ``ask``, ``eval`` and ``chat`` do not. Errors are always found.
    """
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
        if lint:
            warnings.extend(_lint_faq(faq, documents["faq.yaml"]))
    if synonyms:
        problems.extend(_check_synonyms(synonyms, documents["synonyms.yaml"]))
    if red_flags:
        problems.extend(_check_red_flags(red_flags, documents["red_flags.yaml"]))
    if screening:
        problems.extend(_check_screening(screening, documents["screening.yaml"]))
    examples, example_problems, example_warnings = _read_examples(
        directory, clinic, faq, red_flags, lint=lint
    )
    problems.extend(example_problems)
    warnings.extend(example_warnings)
    if problems:
        problems.extend(_translation_file_problems(directory, clinic))
        raise KnowledgeError(sorted(problems, key=_order) + sorted(warnings, key=_order))
    # No problems means every file parsed.
    assert faq is not None
    assert synonyms is not None
    assert red_flags is not None
    assert messages is not None
    assert screening is not None
    # The red-flag check reads every language the clinic has, whatever the conversation's
    # language: a Spanish speaker whose phone is set to English still writes Spanish.
    folders, folder_problems = _language_folders(directory)
    languages = [_read_language(folder, clinic) for folder in folders]
    every_language = _with_other_languages(red_flags, languages)
    learned = MappingProxyType(dict(examples.examples) if examples else {})
    urgent = MappingProxyType(dict(examples.urgent) if examples else {})
    other = tuple(examples.other) if examples else ()
    matcher, detector = build_matching(
        faq, synonyms, every_language, matching, learned, urgent, other
    )
    if lint:
        warnings.extend(_lint_matching(faq, matcher, documents["faq.yaml"]))
        warnings.extend(
            _lint_red_flag_words(red_flags, synonyms, detector, documents["red_flags.yaml"])
        )
    base = KnowledgeBase(
        directory=directory,
        faq=faq,
        synonyms=synonyms,
        red_flags=red_flags,
        messages=messages,
        screening=screening,
        index=MatchingIndex.ready(matcher, detector),
        warnings=tuple(sorted(warnings, key=_order)),
        topics_by_id=MappingProxyType({t.id: t for t in faq.topics}),
        examples=learned,
        urgent_examples=urgent,
        other_examples=other,
    )
    return _load_translations(base, languages, folder_problems, every_language, matching)


def build_matching(
    faq: FaqFile,
    synonyms: SynonymsFile,
    red_flags: RedFlagsFile,
    settings: MatchingSettings | None = None,
    examples: Mapping[str, Sequence[str]] | None = None,
    urgent: Mapping[str, Sequence[str]] | None = None,
    other: Sequence[str] = (),
) -> tuple[Matcher, RedFlagDetector]:
    """The matcher and the red-flag detector, sharing one vocabulary for typo correction.

    ``examples`` (people's messages by topic id) teach the matcher's topic model only;
    ``urgent`` (by red-flag category id) against them and ``other`` teach the detector's
    :class:`UrgencyModel`; ``other`` (messages not to answer) is also the matcher's class
    beside the topics (:meth:`Matcher.none_share`).
    """
    settings = settings or MatchingSettings()
    texts = [q for t in faq.topics for q in (t.title, *t.questions)]
    texts += [p for c in red_flags.categories for p in (*c.phrases, *c.unless)]
    texts += [w for c in red_flags.categories for k in c.concepts for g in k.all_of for w in g]
    normaliser = Normaliser.build(texts, synonyms, settings.typo_cutoff)
    matcher = Matcher(faq, synonyms, settings, normaliser, examples, other)
    detector = RedFlagDetector(red_flags, normaliser, settings.red_flag_max_chars)
    if urgent:
        ordinary = ordinary_counts(normaliser, matcher.nb_counts, other)
        ordinary_texts = len(other) + sum(
            1 + len(t.questions) + len((examples or {}).get(t.id, ())) for t in faq.topics
        )
        detector.likeness = UrgencyModel(
            urgent,
            ordinary,
            ordinary_texts,
            normaliser,
            settings.red_flag_likeness,
            settings.max_chars,
        )
    return matcher, detector


def _lint_red_flag_words(
    red_flags: RedFlagsFile, synonyms: SynonymsFile, detector: RedFlagDetector, doc: YamlDocument
) -> list[Problem]:
    """A phrase of several words that shrinks to one common word matches far too much, and a
    time word that shrinks to one word puts symptoms in the past wherever it stands; an
    all-clear that synonyms.yaml turns into one of its terms cancels next to ordinary words;
    a phrase or all-clear listed twice in a category is clutter."""
    common = {stem(w) for w in STOP_WORDS} | NEGATION_STEMS
    places: list[tuple[PathKey, str]] = []
    for i, category in enumerate(red_flags.categories):
        places += [(("categories", i, "phrases", j), p) for j, p in enumerate(category.phrases)]
        places += [(("categories", i, "unless", j), p) for j, p in enumerate(category.unless)]
        for j, concept in enumerate(category.concepts):
            for k, group in enumerate(concept.all_of):
                places += [
                    (("categories", i, "concepts", j, "all_of", k, m), option)
                    for m, option in enumerate(group)
                ]
    # A time word of several words read as one ("at school" as `school`) puts a symptom in
    # the past wherever that word stands ("doing the school run when a van hit us").
    times = [
        (("time", kind, j), text)
        for kind in ("past", "distant", "over")
        for j, text in enumerate(getattr(red_flags.time, kind))
    ]
    warnings: list[Problem] = []
    for path, text in [*places, *times]:
        tokens = detector.words_of(text)
        if len(text.split()) < 2 or len(tokens) != 1:
            continue
        if path[0] == "time":
            effect = "that one word puts a symptom in the past wherever it stands"
            fix = "make it say the time in more words, e.g. `when i was at school` for `at school`"
        elif tokens[0] in common:
            effect = "it matches almost any message"
            fix = "name what matters in other words, e.g. `not my own` instead of `not mine`"
        else:
            continue
        warnings.append(
            Problem(
                doc.file,
                doc.line_of(path),
                dotted_path(path),
                f"warning: `{text}` is read as just `{tokens[0]}` (its other words are too"
                f" common to count), so {effect}",
                fix,
            )
        )
    # The same words, not the same stems: "wet myself" and "wetting myself" can read apart
    # (the check's context rules look at words as written).
    first_seen: dict[tuple[int, str, str], PathKey] = {}
    for path, text in places:
        if path[2] == "concepts":
            continue
        key = (int(path[1]), str(path[2]), " ".join(text.casefold().split()))
        first = first_seen.setdefault(key, path)
        if first != path:
            warnings.append(
                Problem(
                    doc.file,
                    doc.line_of(path),
                    dotted_path(path),
                    f"warning: `{text}` is already listed at line {doc.line_of(first)} of this"
                    f" category's {path[2]}",
                    "delete one of the two",
                )
            )
    terms = {detector.words_of(synonym.term): synonym.term for synonym in synonyms.synonyms}
    for path, text in places:
        term = terms.get(detector.words_of(text))
        if path[2] == "unless" and term is not None and term.casefold() != text.casefold():
            warnings.append(
                Problem(
                    doc.file,
                    doc.line_of(path),
                    dotted_path(path),
                    f"warning: `{text}` is read as `{term}` (synonyms.yaml), which ordinary"
                    " questions say, so it would cancel this red flag next to any of them",
                    "use words synonyms.yaml does not rewrite, e.g. `use heat or cold`",
                )
            )
    return warnings


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


# --- languages --------------------------------------------------------------------------------

DEFAULT_LANGUAGE: Final = "en"
I18N_DIR: Final = "i18n"
_LANGUAGE_CODE: Final = re.compile(r"^[a-z]{2}$")
# English names for the warnings `check` prints to the clinic's admins; other codes are shown
# as they are.
_ENGLISH_NAMES: Final = {
    "ar": "Arabic",
    "de": "German",
    "el": "Greek",
    "es": "Spanish",
    "fr": "French",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
# Whether a language's matcher also indexes the English phrasings of translated topics, so a
# message mixing languages ("¿el physio ayuda con la sciatica?") still finds its topic.
# Untranslated topics are always indexed with their English phrasings (their answer is English).
# Measured on 20 Spanish and mixed messages: 18 right, 0 wrong with them; 13 right, 4 wrong
# without.
ENGLISH_PHRASINGS_IN_TRANSLATIONS: Final = True


def english_name(code: str) -> str:
    """``es`` -> ``Spanish``, for messages to admins."""
    return _ENGLISH_NAMES.get(code, f"`{code}`")


@dataclass
class _LanguageFiles:
    """One language folder read and checked for structure, before merging with English."""

    code: str
    folder: Path
    parsed: dict[str, Strict] = field(default_factory=dict)
    documents: dict[str, YamlDocument] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _language_folders(directory: Path) -> tuple[list[Path], list[Problem]]:
    """``knowledge/i18n/<code>/`` folders, and a problem for each folder badly named."""
    root = directory / I18N_DIR
    if not root.is_dir():
        return [], []
    folders: list[Path] = []
    problems: list[Problem] = []
    for entry in sorted(root.iterdir()):
        if not entry.is_dir():
            continue  # a README or notes next to the folders is fine
        name = _display_name(entry)
        if entry.name == DEFAULT_LANGUAGE:
            problems.append(
                Problem(
                    name,
                    0,
                    "",
                    "English is the default language and lives in the knowledge folder itself",
                    "edit the files in knowledge/ instead, and remove this folder",
                )
            )
        elif not _LANGUAGE_CODE.match(entry.name):
            problems.append(
                Problem(
                    name,
                    0,
                    "",
                    f"`{entry.name}` is not a language code",
                    "name the folder with a lower-case two-letter ISO 639-1 code, such as `es`",
                )
            )
        else:
            folders.append(entry)
    return folders, problems


def _read_language(folder: Path, clinic: ClinicSettings) -> _LanguageFiles:
    """Parse a language folder's files against the translation models."""
    lang = _LanguageFiles(folder.name, folder)
    language = english_name(lang.code)
    for entry in sorted(folder.iterdir()):
        if entry.name not in TRANSLATION_MODELS:
            lang.warnings.append(
                Problem(
                    _display_name(entry),
                    0,
                    "",
                    "the bot does not read this file",
                    "a language folder holds faq.yaml, messages.yaml, synonyms.yaml, "
                    "red_flags.yaml and screening.yaml",
                    "warning",
                )
            )
    for filename, model in TRANSLATION_MODELS.items():
        path = folder / filename
        name = _display_name(path)
        if not path.exists():
            if filename == "red_flags.yaml":
                # Urgent symptoms written in this language would otherwise go unnoticed.
                lang.problems.append(
                    Problem(
                        name,
                        0,
                        "",
                        f"{language} has no red_flags.yaml, so urgent symptoms written in "
                        f"{language} would not be caught",
                        "translate knowledge/red_flags.yaml into this folder",
                    )
                )
            elif filename != "synonyms.yaml":
                fallback = {
                    "faq.yaml": "every answer",
                    "messages.yaml": "every message",
                    "screening.yaml": "the screening",
                }[filename]
                lang.warnings.append(
                    Problem(
                        name,
                        0,
                        "",
                        f"missing: {language} speakers get {fallback} in English",
                        f"translate knowledge/{filename} into this folder",
                        "warning",
                    )
                )
            continue
        try:
            document = read_yaml(path, name)
        except KnowledgeError as exc:
            lang.problems.extend(exc.problems)
            continue
        lang.documents[filename] = document
        result, file_problems = parse_file(document, model, clinic)
        lang.problems.extend(file_problems)
        if result is not None:
            lang.parsed[filename] = result
    return lang


_TOPIC_ID: Final = "a topic id in knowledge/faq.yaml"
_CATEGORY_ID: Final = "a red-flag category id in knowledge/red_flags.yaml"


def _unknown_id(
    doc: YamlDocument, path: PathKey, value: str, ids: Sequence[str], kind: str, otherwise: str
) -> Problem:
    """``value`` is none of ``ids`` (``kind`` says what they are): say so, with the closest."""
    close = difflib.get_close_matches(value, ids, n=1, cutoff=0.6)
    return Problem(
        doc.file,
        doc.line_of(path),
        dotted_path(path),
        f"`{value}` is not {kind}",
        f"did you mean `{close[0]}`?" if close else otherwise,
    )


def _read_examples(
    directory: Path,
    clinic: ClinicSettings,
    faq: FaqFile | None,
    red_flags: RedFlagsFile | None,
    *,
    lint: bool,
) -> tuple[ExamplesFile | None, list[Problem], list[Problem]]:
    """knowledge/examples.yaml if the folder has one, its problems, and (``lint``) its
    warnings."""
    path = directory / EXAMPLES_FILE
    if not path.exists():
        return None, [], []  # optional: a clinic starts without people's messages
    try:
        document = read_yaml(path, _display_name(path))
    except KnowledgeError as exc:
        return None, list(exc.problems), []
    examples, problems = parse_file(document, ExamplesFile, clinic)
    if examples is None or faq is None:
        return None, problems, []
    ids = sorted(t.id for t in faq.topics)
    categories = sorted(c.id for c in red_flags.categories) if red_flags else []
    sections = (
        (
            "examples",
            examples.examples,
            ids,
            _TOPIC_ID,
            "put each message under the id of the topic it asks about",
        ),
        (
            "urgent",
            examples.urgent,
            categories,
            _CATEGORY_ID,
            "use one of: " + ", ".join(categories),
        ),
    )
    for section, by_id, known, kind, otherwise in sections:
        problems += [
            _unknown_id(document, (section, key), key, known, kind, otherwise)
            for key in by_id
            if key not in known
        ]
    warnings = _examples_twice(examples, document) if lint else []
    return (None if problems else examples), problems, warnings


def _examples_twice(examples: ExamplesFile, document: YamlDocument) -> list[Problem]:
    """A message under two topics, or both a topic and urgent, teaches two things at once."""
    places: list[tuple[PathKey, str, str]] = [
        (("examples", topic_id, i), f"`{topic_id}`", message)
        for topic_id, messages in examples.examples.items()
        for i, message in enumerate(messages)
    ]
    places += [
        (("urgent", category, i), f"urgent `{category}`", message)
        for category, messages in examples.urgent.items()
        for i, message in enumerate(messages)
    ]
    places += [(("other", i), "`other`", m) for i, m in enumerate(examples.other)]
    warnings: list[Problem] = []
    first: dict[str, str] = {}
    for where, label, message in places:
        other = first.setdefault(normalise_question(message), label)
        if other != label:
            warnings.append(
                Problem(
                    document.file,
                    document.line_of(where),
                    dotted_path(where),
                    f"the same message is also under {other}",
                    "keep it under the one place it belongs",
                    "warning",
                )
            )
    return warnings


def _translation_file_problems(directory: Path, clinic: ClinicSettings) -> list[Problem]:
    """Structure problems of every language folder, reported along with English errors."""
    folders, problems = _language_folders(directory)
    for folder in folders:
        problems.extend(_read_language(folder, clinic).problems)
    return problems


def _translate_faq(
    base: KnowledgeBase, lang: _LanguageFiles
) -> tuple[FaqFile, FaqFile, list[Problem], list[Problem]]:
    """The topics in this language (English where untranslated), the FAQ its matcher indexes,
    and the problems and warnings found."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    language = english_name(lang.code)
    translated: dict[str, TopicTranslation] = {}
    translation = _typed(lang.parsed, "faq.yaml", FaqTranslationFile)
    doc = lang.documents.get("faq.yaml")
    if translation is not None and doc is not None:
        ids = sorted(base.topics_by_id)
        for i, entry in enumerate(translation.topics):
            path: PathKey = ("topics", i, "id")
            if entry.id not in base.topics_by_id:
                problems.append(
                    _unknown_id(
                        doc,
                        path,
                        entry.id,
                        ids,
                        _TOPIC_ID,
                        "use the id of the English topic this translates",
                    )
                )
            elif entry.id in translated:
                problems.append(
                    Problem(
                        doc.file,
                        doc.line_of(path),
                        dotted_path(path),
                        f"topic `{entry.id}` is translated twice",
                        "keep one translation and merge the questions into it",
                    )
                )
            else:
                translated[entry.id] = entry
        for topic in base.topics:
            if topic.id not in translated:
                warnings.append(
                    Problem(
                        doc.file,
                        doc.line_of(("topics",)),
                        "topics",
                        f"topic `{topic.id}` has no {language} translation; {language} "
                        "speakers get the English answer",
                        "add it with `id`, `title`, `questions` and `answer`",
                        "warning",
                    )
                )
    shown: list[Topic] = []
    indexed: list[Topic] = []
    for topic in base.topics:
        found = translated.get(topic.id)
        if found is None:
            shown.append(topic)
            indexed.append(topic)
            continue
        mine = topic.model_copy(
            update={"title": found.title, "questions": found.questions, "answer": found.answer}
        )
        shown.append(mine)
        extra = list(topic.questions) if ENGLISH_PHRASINGS_IN_TRANSLATIONS else []
        indexed.append(mine.model_copy(update={"questions": [*found.questions, *extra]}))
    if translation is not None and doc is not None and not problems:
        # Same lint as English (too few or repeated questions), on the translated topics in
        # the translation file's order so paths and lines point into that file.
        own = [shown[[t.id for t in base.topics].index(e.id)] for e in translation.topics]
        linted = _lint_faq(FaqFile.model_construct(version=1, topics=own), doc)
        # Links between topics come from English; on a subset they would look missing.
        warnings.extend(w for w in linted if "no other topic relates" not in w.message)
    return (
        FaqFile.model_construct(version=1, topics=shown),
        FaqFile.model_construct(version=1, topics=indexed),
        problems,
        warnings,
    )


def _translate_messages(
    base: MessagesFile, lang: _LanguageFiles
) -> tuple[MessagesFile, list[Problem]]:
    """English messages overlaid with this language's; each one left out is a warning."""
    translation = lang.parsed.get("messages.yaml")
    doc = lang.documents.get("messages.yaml")
    if not isinstance(translation, MessagesTranslationFile) or doc is None:
        return base.model_copy(update={"language_name": english_name(lang.code)}), []
    language = english_name(lang.code)
    warnings: list[Problem] = []
    update: dict[str, Any] = {"language_name": translation.language_name}
    for section in ("messages", "buttons"):
        given = getattr(translation, section).model_dump(exclude_none=True)
        english: Strict = getattr(base, section)
        for key in type(english).model_fields:
            if key not in given:
                warnings.append(
                    Problem(
                        doc.file,
                        doc.line_of((section,)),
                        section,
                        f"`{key}` has no {language} translation; {language} speakers see the "
                        "English text",
                        f"add `{key}:` under `{section}:`",
                        "warning",
                    )
                )
        update[section] = english.model_copy(update=given)
    return base.model_copy(update=update), warnings


def _with_other_languages(english: RedFlagsFile, languages: list[_LanguageFiles]) -> RedFlagsFile:
    """The English red flags with every translation's phrases, all-clears and concepts added
    to the category of the same id (titles, advice and messages stay English). Translations
    that do not parse add nothing here; their problems are reported as they are loaded."""
    merged = {c.id: c for c in english.categories}
    for lang in languages:
        own = lang.parsed.get("red_flags.yaml")
        if not isinstance(own, RedFlagsFile):
            continue
        for category in own.categories:
            mine = merged.get(category.id)
            if mine is not None:
                merged[category.id] = _add_wordings(mine, category)
    return english.model_copy(update={"categories": list(merged.values())})


def _add_wordings(category: RedFlagCategory, other: RedFlagCategory) -> RedFlagCategory:
    """``category`` with ``other``'s phrases, all-clears and concepts added (once each)."""
    concepts = list(category.concepts)
    concepts += [c for c in other.concepts if c not in concepts]
    return category.model_copy(
        update={
            "phrases": list(dict.fromkeys([*category.phrases, *other.phrases])),
            "unless": list(dict.fromkeys([*category.unless, *other.unless])),
            "concepts": concepts,
            # A negation rule is trusted only where both languages chose it.
            "negatable": category.negatable and other.negatable,
        }
    )


def _merge_red_flags(
    base: RedFlagsFile, own: RedFlagsFile, doc: YamlDocument, language: str
) -> tuple[RedFlagsFile, list[Problem]]:
    """This language's categories with the other languages' phrases added (people mix
    languages); the advice and the urgent message are this language's."""
    warnings: list[Problem] = []
    english = {c.id: c for c in base.categories}
    mine = {c.id for c in own.categories}
    categories: list[RedFlagCategory] = []
    for category in own.categories:
        other = english.get(category.id)
        if other is None:
            categories.append(category)
            continue
        categories.append(_add_wordings(category, other))
    for category in base.categories:
        if category.id not in mine:
            categories.append(category)
            warnings.append(
                Problem(
                    doc.file,
                    doc.line_of(("categories",)),
                    "categories",
                    f"red flag `{category.id}` has no {language} phrases; only English "
                    "wording of it is caught",
                    f"add a category with `id: {category.id}` and {language} phrases",
                    "warning",
                )
            )
    return own.model_copy(update={"categories": categories}), warnings


def _check_same_screening(
    own: ScreeningFile, base: ScreeningFile, doc: YamlDocument, language: str
) -> list[Problem]:
    """A translated screening asks the same questions and scores them the same way."""
    problems: list[Problem] = []
    hint = "translate only the texts; keep ids, order, groups, scores, next and when as in English"
    # Everything but the wording must match, including keys added to the models later.
    texts = {"steps": {"question", "summary"}, "outcomes": {"title", "text"}}
    for kind, words in texts.items():
        mine = [item.model_dump(exclude=words) for item in getattr(own, kind)]
        english = [item.model_dump(exclude=words) for item in getattr(base, kind)]
        differs = next(
            (i for i, (a, b) in enumerate(zip(mine, english, strict=False)) if a != b), None
        )
        if differs is not None:
            path: PathKey = (kind, differs)
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(path),
                    dotted_path(path),
                    f"differs from {kind}[{differs}] of knowledge/screening.yaml, so "
                    f"{language} speakers get the English screening",
                    hint,
                    "warning",
                )
            )
        elif len(mine) != len(english):
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of((kind,)),
                    kind,
                    f"{len(mine)} {kind}, but knowledge/screening.yaml has {len(english)}, so "
                    f"{language} speakers get the English screening",
                    hint,
                    "warning",
                )
            )
    return problems


def _build_language(
    base: KnowledgeBase,
    lang: _LanguageFiles,
    every_language: RedFlagsFile,
    matching: MatchingSettings | None,
) -> tuple[KnowledgeBase | None, list[Problem], list[Problem]]:
    """One language's knowledge base, merged with English where it is not translated."""
    language = english_name(lang.code)
    problems = list(lang.problems)
    warnings = list(lang.warnings)
    shown, indexed, faq_problems, faq_warnings = _translate_faq(base, lang)
    problems += faq_problems
    warnings += faq_warnings
    messages, message_warnings = _translate_messages(base.messages, lang)
    warnings += message_warnings
    synonyms = _typed(lang.parsed, "synonyms.yaml", SynonymsFile)
    if synonyms is not None:
        problems += _check_synonyms(synonyms, lang.documents["synonyms.yaml"])
    own_flags = _typed(lang.parsed, "red_flags.yaml", RedFlagsFile)
    red_flags: RedFlagsFile | None = None
    if own_flags is not None:
        doc = lang.documents["red_flags.yaml"]
        problems += _check_red_flags(own_flags, doc)
        red_flags, flag_warnings = _merge_red_flags(every_language, own_flags, doc, language)
        warnings += flag_warnings
    screening = _typed(lang.parsed, "screening.yaml", ScreeningFile)
    if screening is not None:
        doc = lang.documents["screening.yaml"]
        screening_problems = _check_screening(screening, doc)
        problems += screening_problems
        drift = (
            []
            if screening_problems
            else _check_same_screening(screening, base.screening, doc, language)
        )
        if drift:
            # An edit to the English screening must not stop the bot: until the translation
            # catches up, this language gets the English screening, which is the current one.
            warnings += drift
            screening = None
    if problems or red_flags is None:
        return None, problems, warnings
    # This language's synonyms first (the first rewrite of a word wins), then English for the
    # English phrasings also in the index.
    own_synonyms = synonyms or SynonymsFile(version=1, synonyms=[])
    all_synonyms = SynonymsFile.model_construct(
        version=1, synonyms=[*own_synonyms.synonyms, *base.synonyms.synonyms]
    )
    merged_flags = red_flags
    kb = KnowledgeBase(
        directory=base.directory,
        faq=shown,
        synonyms=own_synonyms,
        red_flags=red_flags,
        messages=messages,
        screening=screening or base.screening,
        # A partial, not a lambda: it pickles (bot/knowledge_cache.py), and stays unbuilt.
        index=MatchingIndex(
            functools.partial(build_matching, indexed, all_synonyms, merged_flags, matching)
        ),
        topics_by_id=MappingProxyType({t.id: t for t in shown.topics}),
        language=lang.code,
    )
    return kb, problems, warnings


def _load_translations(
    base: KnowledgeBase,
    languages: list[_LanguageFiles],
    folder_problems: list[Problem],
    every_language: RedFlagsFile,
    matching: MatchingSettings | None,
) -> KnowledgeBase:
    """The English base with one knowledge base per ``knowledge/i18n/<code>/`` folder (read
    by :func:`_read_language`); ``every_language``: the red flags of all of them together.

    Raises :class:`KnowledgeError` with every problem of every language (and all warnings).
    """
    problems = list(folder_problems)
    warnings = list(base.warnings)
    built: list[KnowledgeBase] = []
    for lang in languages:
        kb, language_problems, language_warnings = _build_language(
            base, lang, every_language, matching
        )
        problems += language_problems
        warnings += language_warnings
        if kb is not None:
            built.append(kb)
    if problems:
        raise KnowledgeError(sorted(problems, key=_order) + sorted(warnings, key=_order))
    if not built:
        return base
    return linked(
        [dataclasses.replace(base, warnings=tuple(sorted(warnings, key=_order))), *built]
    )


def linked(bases: Sequence[KnowledgeBase]) -> KnowledgeBase:
    """The first of ``bases`` (the default language), each of them reaching all the others
    through one shared, read-only mapping (:attr:`KnowledgeBase.translations`)."""
    family: dict[str, KnowledgeBase] = {}
    shared = MappingProxyType(family)
    for kb in bases:
        family[kb.language] = dataclasses.replace(kb, translations=shared)
    return family[bases[0].language]
