"""The shape of every knowledge file as pydantic models; editors' JSON Schemas come from here."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

SCHEMA_VERSION = 1
# Telegram refuses messages over 4096 characters.
MAX_MESSAGE_CHARS = 4096
# Telegram allows longer button labels, but on a phone anything past ~40 characters is cut
# off with an ellipsis, which hides the end of a topic title.
MAX_BUTTON_CHARS = 40

Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40),
    Field(description="kebab-case identifier: lower-case letters, digits and single dashes"),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BUTTON_CHARS)]
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class Strict(BaseModel):
    """Base for file models: unknown keys are errors, no coercion, frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- faq.yaml ---------------------------------------------------------------------------------


class Topic(Strict):
    id: Id = Field(description="Unique id, kebab-case. Other topics link to it in `related`.")
    title: Label = Field(description="Short label for buttons and menus.")
    questions: list[Phrase] = Field(
        min_length=1, description="Several ways people ask this; the matcher learns from them."
    )
    answer: Text = Field(description="The reply, plain text. Placeholders: {clinic.name} etc.")
    related: list[Id] = Field(
        default_factory=list, description="Ids of topics offered as next questions."
    )
    source: Annotated[str, StringConstraints(min_length=1)] = Field(
        description='Article section the answer came from, or "clinic".'
    )


class FaqFile(Strict):
    """knowledge/faq.yaml: the questions people ask and the bot's answers."""

    version: Literal[1]
    topics: list[Topic] = Field(min_length=1)


# --- examples.yaml ----------------------------------------------------------------------------

Example = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class ExamplesFile(Strict):
    """knowledge/examples.yaml: messages people sent, each under the topic it asks about."""

    version: Literal[1]
    examples: dict[Id, list[Example]] = Field(
        description=(
            "Topic id -> messages worded the way people really write. Never shown; the matcher "
            "learns from them which wordings go with which topic."
        )
    )
    urgent: dict[Id, list[Example]] = Field(
        default_factory=dict,
        description=(
            "Red-flag category id (red_flags.yaml) -> messages describing that emergency. A "
            "message worded like these that no red-flag phrase catches gets a line on where "
            "to go if it is urgent."
        ),
    )
    other: list[Example] = Field(
        default_factory=list,
        description=(
            "Messages about something else, or ordinary ones sharing words with a red flag "
            "('my cat fell off the sofa'): they teach what is not urgent, and what not to "
            "answer with a topic ('stretching leather shoes' is only offered as a choice)."
        ),
    )


# --- synonyms.yaml ----------------------------------------------------------------------------


class Synonym(Strict):
    term: Phrase = Field(description="The knowledge base's own word, e.g. 'physical therapy'.")
    variants: list[Phrase] = Field(
        min_length=1, description="Words people use instead, e.g. 'physio', 'pt'."
    )


class SynonymsFile(Strict):
    """knowledge/synonyms.yaml: lay and regional words mapped to the knowledge base's words."""

    version: Literal[1]
    synonyms: list[Synonym]


# --- red_flags.yaml ---------------------------------------------------------------------------


class RedFlagConcept(Strict):
    """Words from every group near each other: "bladder" near "can't control", in any order."""

    all_of: list[list[Phrase]] = Field(
        min_length=2,
        description="Groups of words or short phrases; one from each group must appear.",
    )
    within: Annotated[int, Field(ge=1, le=12)] = Field(
        default=4, description="At most this many words between the first and the last found."
    )


class RedFlagCategory(Strict):
    id: Id
    title: Annotated[str, StringConstraints(min_length=1, max_length=60)] = Field(
        description="Short name shown in screening summaries."
    )
    advice: Text = Field(description="One sentence shown with the urgent-care message.")
    phrases: list[Phrase] = Field(
        min_length=1, description="Lay phrasings that trigger this red flag."
    )
    unless: list[Phrase] = Field(
        default_factory=list,
        description="Phrases showing the message is not this red flag (e.g. 'last year').",
    )
    concepts: list[RedFlagConcept] = Field(
        default_factory=list,
        description="Word groups that flag this category when they appear close together.",
    )
    negatable: bool = Field(
        default=False,
        description=(
            "A negation right before the symptom ('no fever') rules it out. Never set this on "
            "categories where a wrong 'no' would hide an emergency (bladder, leg weakness)."
        ),
    )
    past: Literal["urgent", "over", "distant"] = Field(
        default="urgent",
        description=(
            "When a symptom in the past stops counting. 'urgent': never (bladder, leg "
            "weakness, cancer history). 'over': when the same sentence puts it in the past and "
            "says it is over ('had a fever in March, all better now'). 'distant': that, or when "
            "the same sentence puts it years back ('in 2009', 'when I was 12')."
        ),
    )


class RedFlagTime(Strict):
    """Words that place a symptom in time, used only by categories whose `past` allows it."""

    past: list[Phrase] = Field(
        default_factory=list, description="A time before now: 'last month', 'in March', 'ago'."
    )
    distant: list[Phrase] = Field(
        default_factory=list,
        description=(
            "Years back: 'years ago', 'as a kid'. 'in <a past year>' and 'when I was <age>' "
            "are built in."
        ),
    )
    over: list[Phrase] = Field(
        default_factory=list, description="It has ended: 'all better now', 'long gone'."
    )


class RedFlagsFile(Strict):
    """knowledge/red_flags.yaml: symptoms that stop everything and send people to urgent care."""

    version: Literal[1]
    guidance: list[Phrase] = Field(min_length=1, description="Published guidance followed.")
    message: Text = Field(description="Urgent-care message; use {clinic.emergency_number}.")
    categories: list[RedFlagCategory] = Field(min_length=1)
    time: RedFlagTime = Field(
        default_factory=RedFlagTime,
        description="Words that put a symptom in the past, for categories with `past`.",
    )
    temperature_word: Phrase | None = Field(
        default=None,
        description=(
            "A body temperature of 38 C / 100.4 F or more ('38.6', '101 F') is read as this "
            "word, so it flags like the word itself (e.g. 'fever')."
        ),
    )


# --- messages.yaml ----------------------------------------------------------------------------


class Messages(Strict):
    greeting: Text = Field(description="Reply to /start: what the bot does and does not do.")
    help: Text = Field(description="Reply to /help.")
    disclaimer: Text = Field(description="Short 'information, not a diagnosis' line.")
    ask_prompt: Text = Field(description="Shown after 'Ask a question' is chosen.")
    did_you_mean: Text = Field(description="Heading above 'did you mean' choices.")
    unknown: Text = Field(description="When no topic matches: honest, with the topic menu.")
    none_of_these: Text = Field(description="After 'none of these' is chosen.")
    related_heading: Text = Field(description="Heading above related topics under an answer.")
    topics_heading: Text = Field(description="Heading of the topic menu (/topics).")
    small_talk_hello: Text
    small_talk_thanks: Text
    small_talk_bye: Text
    small_talk_ok: Text
    cancelled: Text = Field(description="After /cancel when something was in progress.")
    nothing_to_cancel: Text
    forgotten: Text = Field(description="After /forget; {deleted} lists what was deleted.")
    text_only: Text = Field(description="Reply to stickers, photos, voice notes and the like.")
    error: Text = Field(description="When something goes wrong on the bot's side.")
    save_failed: Text = Field(
        description="Once, when the bot could not save where the person is (a database fault)."
    )
    unknown_command: Text
    stale_button: Text = Field(description="A button from an old message was pressed.")
    language: Text = Field(description="Reply to /language, above one button per language.")
    language_chosen: Text = Field(
        description="After a language is chosen with /language, said in that language."
    )
    menu: Text = Field(description="Above the main menu when 'Main menu' is chosen.")
    decline_diagnosis: Text = Field(
        description="When asked what is wrong, or to read a scan: information, not diagnosis."
    )
    decline_dose: Text = Field(description="When asked about a drug or a dose: not prescribing.")
    about_bot: Text = Field(
        default=(
            "I'm an automated assistant of {clinic.name}, not a person. I answer questions about"
            " physical therapy for back pain from the clinic's information; I can't examine you"
            " or give a diagnosis. To talk to someone at the clinic, call {clinic.phone}."
        ),
        description="When asked what the bot is ('are you a real person?', 'who made you').",
    )
    red_flag_check: Text = Field(
        default=(
            "Just to be safe: {sign} together with back pain needs urgent care. If that is you,"
            " don't wait for physical therapy: call {clinic.emergency_number}."
        ),
        description=(
            "After a reply to a message with red-flag words ruled out by their context ('no"
            " fever', 'my mum's cancer'). {sign} becomes that red flag's title."
        ),
    )
    warning_signs: Text = Field(
        default=(
            "Back pain needs urgent medical help, not a physical therapy appointment, when it"
            " comes with any of these:\n{signs}\n\nIf you have one of them now, call"
            " {clinic.emergency_number} or go to the nearest emergency department; if you're not"
            " sure, it is still safer to call. This is general information, not a diagnosis."
        ),
        description=(
            "When asked which symptoms make back pain urgent ('when is back pain an"
            " emergency?'). {signs} becomes the red-flag titles, one per line."
        ),
    )
    red_flag_reminder: Text = Field(
        description="Before /screen when an urgent symptom was mentioned earlier."
    )
    screening_hint: Text = Field(
        description="When a screening answer is not understood; the question follows."
    )
    screening_first_step: Text = Field(description="After Back on the first question.")
    screening_resume: Text = Field(
        description="Before repeating the current question after an aside (a question, chit-chat)."
    )
    screening_restarted: Text = Field(
        description="When the screening changed since the person started it and starts again."
    )
    screening_summary: Text = Field(
        description="Ends every outcome; {summary} is the list of the person's answers."
    )
    deleted_screening: Text = Field(description="Fills {deleted}: screening answers.")
    deleted_red_flag: Text = Field(description="Fills {deleted}: the urgent-symptom note.")
    deleted_question: Text = Field(description="Fills {deleted}: a question kept for a moment.")
    deleted_nothing: Text = Field(description="Fills {deleted} when nothing was kept.")
    deleted_callback: Text = Field(
        description="Fills {deleted}: a call-back request (phone number) not yet sent."
    )
    callback_offer: Text = Field(
        description="Asks for consent to share the summary and contact; {summary} is filled in."
    )
    callback_no_screening: Text = Field(
        description="Fills {summary} when the person asks for a call back without a check."
    )
    callback_phone: Text = Field(
        description="Asks for the phone number (share-contact button in Telegram, or typed)."
    )
    callback_phone_invalid: Text = Field(
        description="When a typed phone number does not look like one; asks again."
    )
    callback_review: Text = Field(
        description="What will be sent, before confirming; {summary} and {phone} are filled in."
    )
    callback_confirm: Text = Field(description="The question above the Send / Cancel buttons.")
    callback_sending: Text = Field(description="After Send: the request is on its way.")
    callback_sent: Text = Field(description="Once the clinic's chat has received the request.")
    callback_cancelled: Text = Field(description="When the call-back request is cancelled.")
    # A default, so a clinic's messages.yaml written before this key still loads.
    callback_private: Text = Field(
        default=(
            "I take call-back requests in a private chat, so your phone number stays out of "
            "this group. Tap the button below to continue there."
        ),
        description="In a group chat, when a call back is asked for: it continues in a private "
        "chat (the button opens it).",
    )


class Buttons(Strict):
    ask: Label
    screen: Label
    topics: Label
    yes: Label
    no: Label
    not_sure: Label
    back: Label
    cancel: Label
    none_of_these: Label
    menu: Label
    booking: Label
    callback: Label
    callback_consent: Label
    share_contact: Label
    send: Label


class MessagesFile(Strict):
    """knowledge/messages.yaml: everything the bot says that is not an FAQ answer."""

    version: Literal[1]
    language_name: Label = Field(
        default="English",
        description="The language's own name, the label of its /language button.",
    )
    messages: Messages
    buttons: Buttons


# --- screening.yaml ---------------------------------------------------------------------------

AnswerId = Literal["yes", "no", "not-sure"]
ANSWER_IDS: tuple[AnswerId, ...] = ("yes", "no", "not-sure")


class ScoreBand(Strict):
    """A condition on a score: the total, or a group (subscale) of steps."""

    group: Id | Literal["total"] = Field(description="A step group, or 'total' for all steps.")
    min: float | int | None = Field(default=None, description="Lowest score that matches.")
    max: float | int | None = Field(default=None, description="Highest score that matches.")


# Step ids travel inside button data ("s:<step-id>:y", at most 40 bytes), so they are shorter
# than other ids.
StepId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=30),
    Field(description="kebab-case step id, at most 30 characters (it travels in button data)"),
]


class Step(Strict):
    id: StepId
    question: Text
    summary: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description="Short wording for the answer summary a person can show a therapist."
    )
    group: Id = Field(description="Group (subscale) the step belongs to, e.g. red-flags.")
    scores: dict[AnswerId, float | int] = Field(
        default_factory=dict, description="Score per answer; answers left out score 0."
    )
    next: dict[AnswerId, Id] = Field(
        default_factory=dict,
        description="Where an answer leads: a step id or an outcome id. Default: the next step.",
    )


class Outcome(Strict):
    id: Id
    title: Label = Field(description="Short name for the diagram and the logs.")
    text: Text = Field(description="Shown at the end; {clinic.*} placeholders allowed.")
    when: list[ScoreBand] = Field(
        default_factory=list,
        description="All must hold; the first outcome whose conditions hold is chosen.",
    )
    immediate: bool = Field(
        default=False, description="Checked after every answer, ending the screening at once."
    )
    urgent: bool = Field(default=False, description="Counts as a red-flag redirect.")
    offer_callback: bool = Field(
        default=False,
        description="Recommends physical therapy: offer a call back from the clinic afterwards.",
    )


class ScreeningFile(Strict):
    """knowledge/screening.yaml: the screening questions, walked in order, and its outcomes."""

    version: Literal[1]
    title: Label
    intro: Text
    steps: list[Step] = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=1)


# --- knowledge/i18n/<code>/: translations ----------------------------------------------------


class TopicTranslation(Strict):
    """One topic in another language; `related` and `source` come from the English topic."""

    id: Id = Field(description="The id of the English topic this translates.")
    title: Label = Field(description="Short label for buttons and menus, in this language.")
    questions: list[Phrase] = Field(
        min_length=1, description="Ways people ask this in this language; the matcher learns them."
    )
    answer: Text = Field(
        description="The reply in this language. Placeholders: {clinic.name} etc."
    )


class FaqTranslationFile(Strict):
    """knowledge/i18n/<code>/faq.yaml: topics translated by id; the rest stay in English."""

    version: Literal[1]
    topics: list[TopicTranslation] = Field(default_factory=list)


def _all_optional(model: type[Strict], name: str) -> type[Strict]:
    """The same fields, each optional: a key left out falls back to the English text."""
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        # The length limits live in the field's metadata; they must still hold when present.
        inner: Any = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        fields[key] = (inner | None, Field(default=None, description=info.description))
    made = create_model(name, __base__=Strict, __doc__=model.__doc__, **fields)
    return cast("type[Strict]", made)


MessagesTranslation = _all_optional(Messages, "MessagesTranslation")
ButtonsTranslation = _all_optional(Buttons, "ButtonsTranslation")


class MessagesTranslationFile(Strict):
    """knowledge/i18n/<code>/messages.yaml: the bot's messages in this language."""

    version: Literal[1]
    language_name: Label = Field(
        description="The language's own name, e.g. `Español`: the label of its /language button."
    )
    messages: MessagesTranslation = Field(  # type: ignore[valid-type]
        default_factory=MessagesTranslation
    )
    buttons: ButtonsTranslation = Field(  # type: ignore[valid-type]
        default_factory=ButtonsTranslation
    )


FILE_MODELS: dict[str, type[Strict]] = {
    "faq.yaml": FaqFile,
    "synonyms.yaml": SynonymsFile,
    "red_flags.yaml": RedFlagsFile,
    "messages.yaml": MessagesFile,
    "screening.yaml": ScreeningFile,
}

# Files a knowledge folder may leave out (English only: a language folder does not read them).
OPTIONAL_FILE_MODELS: dict[str, type[Strict]] = {"examples.yaml": ExamplesFile}


# A language folder holds the same five files; two have their own translation models.
TRANSLATION_MODELS: dict[str, type[Strict]] = {
    **FILE_MODELS,
    "faq.yaml": FaqTranslationFile,
    "messages.yaml": MessagesTranslationFile,
}
# The schema files named in the first line of translation files that differ from English.
TRANSLATION_SCHEMAS: dict[str, str] = {
    "faq.yaml": "faq_translation.schema.json",
    "messages.yaml": "messages_translation.schema.json",
}


def schema_filename(knowledge_file: str) -> str:
    """``faq.yaml`` -> ``faq.schema.json``, named in the first line of each knowledge file."""
    return knowledge_file.removesuffix(".yaml") + ".schema.json"


def json_schemas() -> dict[str, dict[str, object]]:
    """JSON Schema per knowledge file, for editors (yaml-language-server) to complete and check."""
    schemas: dict[str, dict[str, object]] = {}
    files = {**FILE_MODELS, **OPTIONAL_FILE_MODELS}
    models = [(schema_filename(name), model) for name, model in files.items()]
    models += [
        (TRANSLATION_SCHEMAS[name], TRANSLATION_MODELS[name]) for name in TRANSLATION_SCHEMAS
    ]
    for schema_name, model in models:
        schema = model.model_json_schema()
        schemas[schema_name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": "Made from bot/schema.py by scripts/generate_schemas.py; do not edit.",
            **schema,
        }
    return schemas
