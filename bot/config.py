"""Settings from config.yaml and the environment; config.example.yaml documents every key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.yamlfile import read_yaml

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
API_BASE_URL_ENV = "TELEGRAM_API_BASE_URL"
# BotFather tokens look like "123456789:AA...": a numeric bot id, a colon, 30+ URL-safe chars.
TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,100}$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the setting and how to fix it."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(Section):
    token: str = ""
    api_base_url: str = "https://api.telegram.org/bot"
    admin_ids: list[int] = Field(default_factory=list)
    admin_chat_id: int | None = None


class PrivacySettings(Section):
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90


class ClinicSettings(Section):
    name: str = "Our physical therapy clinic"
    phone: str = "+1 555 0100"
    booking_url: str = "https://example.com/book"
    emergency_number: str = "911"

    def placeholders(self) -> dict[str, str]:
        """The ``{clinic.*}`` placeholders knowledge texts may use, with their values."""
        return {f"clinic.{key}": str(value) for key, value in self.model_dump().items()}


class MatchingSettings(Section):
    """Matcher thresholds and weights, in one place (scores run from 0 to 100).

    The defaults are calibrated on tests/eval/dev.yaml and dev2.yaml, never on the held-out
    set: weights by a small grid, thresholds with ``python benchmarks/calibrate.py`` (see
    docs/matching.md).
    """

    # Answer when the best topic reaches answer_score and leads the runner-up by margin;
    # offer "did you mean" choices from suggest_score; below that, say it is not known.
    answer_score: Annotated[float, Field(ge=0, le=100)] = 55.0
    suggest_score: Annotated[float, Field(ge=0, le=100)] = 32.0
    margin: Annotated[float, Field(ge=0, le=100)] = 1.0
    # The best topic's score from the words alone (before the topic model's points below)
    # must reach this too: the topic model chooses between topics, it never makes a weak
    # match confident ("pins and needles in my hand when I sleep on my arm").
    min_word_score: Annotated[float, Field(ge=0, le=100)] = 50.0
    top_k: Annotated[int, Field(ge=1, le=20)] = 5
    # A question's score mixes idf-weighted query coverage, question coverage and rapidfuzz's
    # token_sort_ratio; the bonus counts query words found in other questions of the topic.
    query_weight: Annotated[float, Field(ge=0)] = 0.25
    question_weight: Annotated[float, Field(ge=0)] = 0.5
    fuzzy_weight: Annotated[float, Field(ge=0)] = 0.5
    topic_bonus: Annotated[float, Field(ge=0, le=100)] = 80.0
    # Points added for the topic's posterior (0-1) under a naive Bayes model of its questions'
    # and examples' words and adjacent word pairs, stop words included: it separates
    # neighbouring topics whose content words are the same ("who is physio for" / "what does
    # a physio do"). 25 and answer_score 55 since knowledge/examples.yaml: chosen by the
    # tuning sets left out one at a time (docs/matching.md, "Fifth round").
    topic_model_weight: Annotated[float, Field(ge=0, le=100)] = 25.0
    # Sentences of a long message are also scored alone, lower than the whole, so a question
    # inside greetings or a story is found.
    segment_penalty: Annotated[float, Field(ge=0, le=100)] = 25.0
    max_segments: Annotated[int, Field(ge=1, le=50)] = 8
    # Only this much of a message is matched, so time per message is bounded.
    max_chars: Annotated[int, Field(ge=50)] = 1000
    # Words in more than this share of topics are generic ("back", "pain"): alone they never
    # justify an answer.
    generic_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    candidates: Annotated[int, Field(ge=1)] = 60
    # ... and for each sentence of a longer message, which scores segment_penalty below the
    # whole: only its best-overlapping questions can ever lift a topic. 20 changed no
    # decision's correctness on any tuning set or dev6 (10 cost one right answer), and cuts
    # the sentences' share of a long message's time by half or more.
    segment_candidates: Annotated[int, Field(ge=1)] = 20
    # A word the knowledge base never uses counts against a match ("capital of France") with
    # this share of the rarest word's weight: not so much that a story can never be answered.
    unknown_weight: Annotated[float, Field(ge=0, le=2)] = 0.6
    # A message most of whose content words the knowledge base never uses ("who is the prime
    # minister") is about something else: above this share it is never answered, only
    # offered choices. Calibrated on dev+dev2 (0.6: no right answer there lost).
    max_unknown_share: Annotated[float, Field(ge=0, le=1)] = 0.6
    # A confident match whose message reads, with at least this probability, like the
    # messages knowledge/examples.yaml lists under `other` (other subjects, look-alikes such as
    # "stretching leather shoes") more than like any topic is offered, not answered; 1.0 turns
    # it off. Chosen on the tuning sets left out one at a time.
    max_none_share: Annotated[float, Field(ge=0.5, le=1.0)] = 0.7
    # ... and a match whose words alone score below `min_word_score` is still answered when
    # that posterior is below this (the model is all but sure the message is about a topic);
    # 0 turns it off. Chosen on the tuning sets left out one at a time: +1.3 points of top-1
    # (83 more right answers, 16 "did you mean" turned wrong, 1 more unrelated message
    # answered), the same from 0.001 to 0.01; dev6 +3 right, nothing else changed.
    sure_none_share: Annotated[float, Field(ge=0, le=0.5)] = 0.005
    # rapidfuzz ratio an unknown word needs to be read as a typo of a known word.
    typo_cutoff: Annotated[float, Field(ge=50, le=100)] = 84.0
    # Red flags: the whole message is checked up to this many characters.
    red_flag_max_chars: Annotated[int, Field(ge=100)] = 20_000
    # A message no red-flag phrase catches that reads like knowledge/examples.yaml's urgent
    # messages with at least this probability gets a line on where to go (never the urgent
    # reply itself); 1.0 turns it off. Chosen on the tuning sets left out one at a time: 0.95
    # names 1 point fewer of their urgent messages than 0.8, and keeps the line off ordinary
    # messages that share one word with a red flag ("my cat fell off the sofa").
    red_flag_likeness: Annotated[float, Field(ge=0.5, le=1.0)] = 0.95


class Settings(Section):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    knowledge_dir: Path = Path("knowledge")
    data_dir: Path = Path("data")
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    clinic: ClinicSettings = Field(default_factory=ClinicSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)


def _apply_environment(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    telegram = dict(raw.get("telegram") or {})
    if env.get(TOKEN_ENV):
        telegram["token"] = env[TOKEN_ENV]
    if env.get(API_BASE_URL_ENV):
        telegram["api_base_url"] = env[API_BASE_URL_ENV]
    return {**raw, "telegram": telegram} if telegram else raw


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``path`` (optional) with environment overrides; raise ConfigError."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        from bot.problems import KnowledgeError

        try:
            document = read_yaml(path, allow_empty=True)
        except KnowledgeError as exc:
            raise ConfigError(f"cannot read config file: {exc.problems[0]}") from None
        if document.data is None:
            document.data = {}  # an empty config file means "all defaults"
        if not isinstance(document.data, dict):
            raise ConfigError(
                f"{path}: the config must be a mapping of settings; "
                "copy config.example.yaml and edit it"
            )
        raw = document.data
    try:
        settings = Settings.model_validate(_apply_environment(raw, env))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"{path or 'config'}: setting `{where}`: {first['msg']} "
            "(see config.example.yaml for the allowed keys and values)"
        ) from None
    if path is not None:
        # Relative directories in a config file are relative to that file, not to wherever
        # the bot happens to be started from.
        base = path.parent
        settings = settings.model_copy(
            update={
                "knowledge_dir": base / settings.knowledge_dir,
                "data_dir": base / settings.data_dir,
            }
        )
    return settings


def require_token(settings: Settings) -> str:
    """The bot token, or a ConfigError that says where to put a valid one."""
    token = settings.telegram.token.strip()
    if not token:
        raise ConfigError(
            f"no Telegram bot token: set the {TOKEN_ENV} environment variable "
            "(or telegram.token in the config file) to the token BotFather gave you"
        )
    if not TOKEN_PATTERN.match(token):
        raise ConfigError(
            f"the Telegram bot token is malformed: it should look like 123456789:AAE... ; "
            f"copy it again from BotFather into {TOKEN_ENV}"
        )
    return token
