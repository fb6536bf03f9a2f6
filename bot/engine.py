"""The conversation brain: ``Engine.handle(session, event, now) -> Turn``, pure and synchronous.

design.md describes ``handle`` as returning ``(session, replies)``. Here it returns a
:class:`Turn` of ``(session, replies, effects)``: logging an unanswered question or deleting a
user's stored rows is I/O, which the engine must not do, yet only the engine knows when it is
due. So it returns those side effects as data and the adapter performs them with its storage.
``Turn`` is a named tuple, so ``session, replies, effects = engine.handle(...)`` unpacks it.

Sessions are plain JSON-able dicts with a ``"schema"`` number (see :func:`migrate`). Button
actions are short strings (Telegram allows 64 bytes of callback data; these stay within 40):

- ``menu``, ``ask``, ``screen``, ``topics``: the main menu's choices;
- ``t:<topic-id>``: show a topic (``t#<hash>`` for an id too long to fit);
- ``none``: "none of these" under did-you-mean suggestions;
- ``s:<step-id>:<y|n|u|b|x>``: yes / no / not sure / back / cancel on a screening step. The
  step id makes a press on an old step's button detectable, so it is refused, not applied;
- ``cb``, ``cb:y``, ``cb:ok``, ``cb:x``: ask for a call back, consent, send, cancel.

The call back (only when the engine is built with ``callbacks=True``, i.e. the adapter can
deliver requests): consent to share the screening summary, then a phone number (a shared
contact or typed), then a review and Send. Cancel works at every step, and red flags still come
first. Leaving the phone step by any route marks a reply ``keyboard="remove"`` so Telegram's
share-contact keyboard goes away. In a group chat (``handle(..., private=False)``) no call back
is taken: a phone number must not be asked for where others read it. Any call-back action there
is answered with ``callback_private`` and a ``cb`` option, which the Telegram adapter shows as a
link into the private chat (``t.me/<bot>?start=callback``, the same deep link mechanism as the
screening's ``?start=screen``); ``/start callback`` begins the request there. The screening is
not walked in a group either: starting it there (e.g. by typing the menu's number) gives its
intro with a ``screen`` option, shown as the ``?start=screen`` link.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, NamedTuple

from bot.knowledge import KnowledgeBase
from bot.matching import Decision
from bot.replies import Option, Reply
from bot.routing import (
    Route,
    already_declines,
    decline_reply,
    red_flag_reminder,
    route,
    small_talk_reply,
    warning_signs_reply,
)
from bot.safety import RedFlagHit
from bot.schema import AnswerId, Step, Topic
from bot.screening import (
    Answered,
    Finished,
    advance,
    find_step,
    fold,
    parse_answer,
    summary,
)

SCHEMA: Final = 3
MAX_ACTION_BYTES: Final = 40
BOOKING_TOPIC: Final = "booking"
COMMANDS: Final = ("start", "help", "topics", "screen", "cancel", "forget", "language")
# ``/start <argument>`` from a deep link t.me/<bot>?start=<argument>: what to begin at once.
START_SCREEN: Final = "screen"
START_CALLBACK: Final = "callback"
RELATED_LIMIT: Final = 3
SUGGEST_LIMIT: Final = 3
# A question kept for "none of these" is cut to this; the log needs the gist, not an essay.
MAX_KEPT_QUESTION: Final = 1000
# Option labels, typed answers, small talk and declines are short; 2,000 characters is plenty
# and keeps a 100 KB paste from costing anything.
MAX_SCANNED: Final = 2000
# /stats counts a conversation when a session is new or has been quiet this long.
CONVERSATION_IDLE: Final = timedelta(minutes=30)

Session = dict[str, Any]

# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """Something the person typed (not a command)."""

    text: str


@dataclass(frozen=True)
class Press:
    """A button pressed: the ``Option.action`` string it carried."""

    action: str


@dataclass(frozen=True)
class Command:
    """``/name argument``; ``name`` without the slash or ``@botname``, lower-case."""

    name: str
    argument: str = ""


@dataclass(frozen=True)
class NonText:
    """A sticker, photo, voice note, location...: the bot reads only text."""

    kind: str = "other"


@dataclass(frozen=True)
class Contact:
    """A shared contact (Telegram's "share my number" button): phone number and name."""

    phone: str
    name: str = ""


Event = Text | Press | Command | NonText | Contact


def parse_input(text: str) -> Text | Command:
    """What a typed line is: ``/screen@ClinicBot`` is a command, anything else is text."""
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
        head, _, argument = stripped[1:].partition(" ")
        return Command(head.split("@", 1)[0].casefold(), argument.strip())
    return Text(text)


# --- effects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogUnanswered:
    """Record a question the bot could not answer, for the clinic's /unanswered list."""

    question: str
    reason: Literal["unknown", "none-of-these"]
    suggestions: tuple[str, ...] = ()  # topic ids offered, when there were any


@dataclass(frozen=True)
class ForgetUser:
    """Delete everything stored about this user (the session itself is already reset)."""


@dataclass(frozen=True)
class Count:
    """Count an event for /stats, e.g. ``answer:sciatica`` or ``screening:pt-likely``."""

    name: str


@dataclass(frozen=True)
class RequestCallback:
    """Store, then deliver to the clinic, a request to be called back (the person consented)."""

    summary: str
    phone: str
    name: str = ""


Effect = LogUnanswered | ForgetUser | Count | RequestCallback


class Turn(NamedTuple):
    """What one event produced: the new session, the replies to send, the effects to perform."""

    session: Session
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...]


# --- sessions --------------------------------------------------------------------------------


def new_session() -> Session:
    return {
        "schema": SCHEMA,
        "updated": None,
        "screening": None,  # {"step": step id, "answers": [[step id, answer id], ...]}
        "red_flag": None,  # {"category": id or None, "at": ISO time or None}
        "pending_question": None,  # kept between did-you-mean and "none of these"
        "suggested": None,  # the topic ids offered with it, logged with the question
        "offered": [],  # [[label, action], ...] last shown, so "2" or a label picks one
        # {"step": "consent"|"phone"|"confirm", "summary": str, "phone": str|None, "name": str}
        "callback": None,
        "last_summary": None,  # the last screening's result and answers, for a call back
        "language": None,  # a code chosen with /language; None: not chosen, follow the hint
    }


def migrate(session: Mapping[str, Any] | None, kb: KnowledgeBase) -> Session:
    """Any stored session, upgraded to the current schema; unreadable ones start afresh.

    Schema 1 kept the screening position as an index into the step list
    (``{"schema": 1, "state": "screening", "step_index": 3, "answers": ["no", ...],
    "urgent": false, "last_question": null}``). An index silently points at a different
    question once an admin inserts or reorders steps, which is why schema 2 stores step ids.
    Migrating maps the indexes through the current steps; the answers keep their meaning as
    long as the steps did not change between the save and the upgrade, the best that can be
    done with what schema 1 kept.

    Schema 3 added ``language``; a schema 2 session has not chosen one, so it keeps following
    the person's Telegram (or terminal) language.
    """
    if not isinstance(session, Mapping):
        return new_session()
    version = session.get("schema")
    if version == 1:
        return _from_v1(session, kb)
    if version == 2:
        return _sanitised(copy.deepcopy(dict(session)))
    if version != SCHEMA:
        # A newer schema (after a downgrade) or garbage: a fresh start beats a crash.
        return new_session()
    return _sanitised(copy.deepcopy(dict(session)))


def _sanitised(stored: dict[str, Any]) -> Session:
    """Keep only well-formed values: a hand-edited or half-written row must not crash a turn."""
    session = new_session()
    screening = stored.get("screening")
    if (
        isinstance(screening, dict)
        and isinstance(screening.get("step"), str)
        and isinstance(screening.get("answers", []), list)
    ):
        session["screening"] = {
            "step": screening["step"],
            "answers": [
                [str(a[0]), a[1]]
                for a in screening.get("answers", [])
                if isinstance(a, list) and len(a) == 2 and a[1] in _CODE_OF
            ],
        }
    flag = stored.get("red_flag")
    if isinstance(flag, dict):
        category, at = flag.get("category"), flag.get("at")
        session["red_flag"] = {
            "category": category if isinstance(category, str) else None,
            "at": at if isinstance(at, str) else None,
        }
    elif flag:
        session["red_flag"] = {"category": None, "at": None}
    if isinstance(stored.get("pending_question"), str):
        session["pending_question"] = stored["pending_question"]
    suggested = stored.get("suggested")
    if isinstance(suggested, list):
        session["suggested"] = [str(s) for s in suggested]
    offered = stored.get("offered")
    if isinstance(offered, list):
        session["offered"] = [
            [str(o[0]), str(o[1])] for o in offered if isinstance(o, list) and len(o) == 2
        ]
    if isinstance(stored.get("updated"), str):
        session["updated"] = stored["updated"]
    callback = stored.get("callback")
    if (
        isinstance(callback, dict)
        and callback.get("step") in _CALLBACK_STEPS
        and isinstance(callback.get("summary"), str)
    ):
        phone, name = callback.get("phone"), callback.get("name")
        step = callback["step"]
        if step != "confirm" or isinstance(phone, str):
            session["callback"] = {
                "step": step,
                "summary": callback["summary"],
                "phone": phone if isinstance(phone, str) else None,
                "name": name if isinstance(name, str) else "",
            }
    if isinstance(stored.get("last_summary"), str):
        session["last_summary"] = stored["last_summary"]
    if isinstance(stored.get("language"), str):
        session["language"] = stored["language"]
    return session


def language_code(hint: str | None) -> str | None:
    """A two-letter code from Telegram's ``es-ES`` or the terminal's ``es_ES.UTF-8``."""
    if not hint:
        return None
    code = re.split(r"[-_.@]", hint.strip().casefold(), maxsplit=1)[0]
    return code if len(code) == 2 and code.isalpha() else None


def _from_v1(old: Mapping[str, Any], kb: KnowledgeBase) -> Session:
    session = new_session()
    steps = kb.screening.steps
    index = old.get("step_index")
    answers = old.get("answers") or []
    if (
        old.get("state") == "screening"
        and isinstance(index, int)
        and 0 <= index < len(steps)
        and isinstance(answers, list)
        and len(answers) == index
        and all(a in ("yes", "no", "not-sure") for a in answers)
    ):
        session["screening"] = {
            "step": steps[index].id,
            "answers": [[steps[i].id, a] for i, a in enumerate(answers)],
        }
    if old.get("urgent"):
        session["red_flag"] = {"category": None, "at": None}
    question = old.get("last_question")
    if isinstance(question, str):
        session["pending_question"] = question
    return session


# --- the engine ------------------------------------------------------------------------------

_ANSWER_CODES: Final[dict[str, AnswerId]] = {"y": "yes", "n": "no", "u": "not-sure"}
_CALLBACK_STEPS: Final = ("consent", "phone", "confirm")
# Loose on purpose: people write numbers many ways; the clinic reads it, no machine dials it.
_PHONE_CHARS: Final = re.compile(r"\+?[0-9][0-9 ().-]*")
PHONE_DIGITS: Final = (7, 15)
MAX_CONTACT_CHARS: Final = 64


def parse_phone(text: str) -> str | None:
    """A typed phone number tidied (single spaces), or None: 7-15 digits, +, spaces, dashes."""
    stripped = " ".join(text.split())
    if not _PHONE_CHARS.fullmatch(stripped):
        return None
    digits = sum(c.isdigit() for c in stripped)
    low, high = PHONE_DIGITS
    return stripped if low <= digits <= high else None


_CODE_OF: Final[dict[AnswerId, str]] = {v: k for k, v in _ANSWER_CODES.items()}


def topic_action(topic_id: str) -> str:
    action = f"t:{topic_id}"
    if len(action.encode()) <= MAX_ACTION_BYTES:
        return action
    # Ids may be 40 characters; a stable digest keeps the action short and reload-proof.
    return "t#" + hashlib.sha256(topic_id.encode()).hexdigest()[:16]


def step_action(step_id: str, code: str) -> str:
    return f"s:{step_id}:{code}"


class _Out:
    """Replies and effects collected while handling one event."""

    def __init__(self, now: datetime, *, private: bool = True) -> None:
        self.now = now
        self.private = private  # False in a group chat, where others read along
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    def say(
        self,
        text: str,
        options: Iterable[Option] = (),
        *,
        urgent: bool = False,
        keyboard: Literal["contact", "remove"] | None = None,
    ) -> None:
        self.replies.append(Reply(text.strip(), tuple(options), urgent, keyboard))


class Engine:
    """The one conversation brain; build a new one for each loaded knowledge base."""

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        callbacks: bool = False,
        _languages: dict[str, Engine] | None = None,
    ) -> None:
        """``callbacks``: offer call backs (only if the adapter can deliver them to the clinic)."""
        self.kb = kb
        # One engine per language the knowledge speaks, sharing this map; ``self.kb`` is the
        # language this one speaks (the default language for the engine adapters build).
        self._languages = {} if _languages is None else _languages
        self._languages[kb.language] = self
        for code in kb.languages:
            if code not in self._languages:
                Engine(kb.for_language(code), callbacks=callbacks, _languages=self._languages)
        self.callbacks = callbacks
        self.msg = kb.messages.messages
        self.btn = kb.messages.buttons
        self._topics_by_action: dict[str, Topic] = {topic_action(t.id): t for t in kb.topics}
        self._labels: dict[AnswerId, str] = {
            "yes": self.btn.yes,
            "no": self.btn.no,
            "not-sure": self.btn.not_sure,
        }

    def new_session(self) -> Session:
        return new_session()

    def handle(
        self,
        session: Mapping[str, Any] | None,
        event: Event,
        now: datetime,
        language_hint: str | None = None,
        *,
        private: bool = True,
    ) -> Turn:
        """Answer one event. Never raises for anything a user can send; never mutates input.

        ``language_hint``: the person's language as the client reports it (Telegram's
        ``language_code``, the terminal's ``LANG``); used until they choose one with /language.
        ``private``: False in a group chat, where the screening and a call back are not done
        (they are offered as options the adapter links to the private chat).
        """
        state = migrate(session, self.kb)
        if state["language"] not in self._languages:
            state["language"] = None  # a language the knowledge no longer has
        return self._speaking(state, language_hint)._turn(state, event, now, private)

    def _speaking(self, session: Mapping[str, Any], language_hint: str | None) -> Engine:
        chosen = session.get("language")
        code = chosen if isinstance(chosen, str) else language_code(language_hint)
        return self._languages.get(code or "", self._languages[self.kb.languages[0]])

    def language_of(
        self, session: Mapping[str, Any] | None, language_hint: str | None = None
    ) -> KnowledgeBase:
        """The knowledge in the language this session speaks, for the few texts an adapter
        says itself (a save failure, a refused button's toast)."""
        return self._speaking(session or {}, language_hint).kb

    def _turn(self, state: Session, event: Event, now: datetime, private: bool = True) -> Turn:
        out = _Out(now, private=private)
        # Count a new conversation for /stats (issue 8): the first event of a session, or one
        # after CONVERSATION_IDLE of silence. Only the engine sees both the session and the
        # clock; an unreadable or naive-vs-aware time counts as new rather than raising.
        try:
            idle: timedelta | None = now - datetime.fromisoformat(state["updated"])
        except (TypeError, ValueError):
            idle = None
        if idle is None or idle >= CONVERSATION_IDLE:
            out.effects.append(Count("conversation"))
        asking_phone = _callback_step(state) == "phone"
        if not private:
            # The screening (health answers) and a call back (a phone number) never go on
            # where others read along; see _start_screening and _callback_press.
            state["callback"] = None
            state["screening"] = None
        if isinstance(event, Text):
            self._on_text(state, event.text, now, out)
        elif isinstance(event, Press):
            self._on_press(state, event.action, now, out)
        elif isinstance(event, Command):
            self._on_command(state, event, now, out)
        elif isinstance(event, Contact) and _callback_step(state) == "phone":
            self._callback_phone(state, event.phone[:MAX_CONTACT_CHARS], event.name, out)
        else:
            out.say(self.msg.text_only, () if state["screening"] else self._main_menu())
            self._resume_screening(state, out)
        if asking_phone and _callback_step(state) != "phone":
            self._close_contact_keyboard(out)
        state["offered"] = [[o.label, o.action] for r in out.replies for o in r.options]
        state["updated"] = now.isoformat()
        return Turn(state, tuple(out.replies), tuple(out.effects))

    # --- menus -------------------------------------------------------------------------------

    def _main_menu(self) -> list[Option]:
        return [
            Option(self.btn.ask, "ask"),
            Option(self.btn.screen, "screen"),
            Option(self.btn.topics, "topics"),
        ]

    def _language_menu(self) -> list[Option]:
        return [
            Option(self._languages[code].kb.language_name, f"lang:{code}")
            for code in self.kb.languages
        ]

    def _topic_menu(self) -> list[Option]:
        return [Option(t.title, topic_action(t.id)) for t in self.kb.topics]

    def _step_options(self, step: Step) -> list[Option]:
        return [
            Option(self.btn.yes, step_action(step.id, "y")),
            Option(self.btn.no, step_action(step.id, "n")),
            Option(self.btn.not_sure, step_action(step.id, "u")),
            Option(self.btn.back, step_action(step.id, "b")),
            Option(self.btn.cancel, step_action(step.id, "x")),
        ]

    def _offered(self, state: Session) -> list[tuple[str, str]]:
        offered = state.get("offered") or []
        pairs = [
            (str(p[0]), str(p[1])) for p in offered if isinstance(p, list | tuple) and len(p) == 2
        ]
        if not pairs and state["screening"]:
            step = find_step(self.kb.screening, str(state["screening"].get("step")))
            if step is not None:
                pairs = [(o.label, o.action) for o in self._step_options(step)]
        return pairs

    def _chosen(self, state: Session, text: str) -> str | None:
        """The action of an option picked by typing its number or its label."""
        pairs = self._offered(state)
        stripped = text.strip().rstrip(".)")
        if stripped.isdecimal() and stripped.isascii():  # not "²", which int() refuses
            number = int(stripped)
            return pairs[number - 1][1] if 1 <= number <= len(pairs) else None
        folded = fold(text)
        for label, action in pairs:
            if folded and fold(label) == folded:
                return action
        return None

    # --- events ------------------------------------------------------------------------------

    def _on_text(self, state: Session, text: str, now: datetime, out: _Out) -> None:
        # Safety first, whatever state the conversation is in.
        reading = self.kb.red_flags_detector.read(text)
        hit = reading.hit
        if hit is not None:
            self._urgent(state, hit, now, out)
            return
        # The detector and the matcher bound their own work; the rest only needs the start.
        text = text[:MAX_SCANNED]
        action = self._chosen(state, text)
        if action is not None:
            self._on_press(state, action, now, out)
        elif state["callback"] and self._callback_text(state, text, out):
            return
        elif state["screening"]:
            self._screening_text(state, text, now, out)
        else:
            chosen = self._free_text(state, text, out)
            reminder = reading.reminder
            if reminder is not None and chosen is not None and not chosen.warning_signs:
                # Red-flag words ruled out by their context ("no numbness", "my mum's cancer"),
                # or a message that reads like an urgent one in words no phrase has: one line
                # on where to go in case it is urgent after all.
                out.say(red_flag_reminder(self.msg, self.kb.red_flags, reminder))
                out.effects.append(Count("red_flag_reminder"))

    def _on_command(self, state: Session, command: Command, now: datetime, out: _Out) -> None:
        name = command.name
        if state["callback"] and name != "forget":  # /forget lists it among what it deletes
            # Any command leaves the call-back request; /cancel says so itself.
            state["callback"] = None
            if name == "cancel":
                out.say(self.msg.callback_cancelled, self._main_menu())
                return
        if name == "start":
            if command.argument == START_SCREEN:  # deep link t.me/<bot>?start=screen
                self._start_screening(state, out)
                return
            if command.argument == START_CALLBACK and self.callbacks:  # ?start=callback
                self._callback_press(state, "cb", out)
                return
            out.say(self.msg.greeting, self._main_menu())
            self._resume_screening(state, out)
        elif name == "help":
            out.say(self.msg.help, self._main_menu())
            self._resume_screening(state, out)
        elif name == "topics":
            out.say(self.msg.topics_heading, self._topic_menu())
        elif name == "screen":
            self._start_screening(state, out)
        elif name == "cancel":
            busy = bool(state["screening"] or state["pending_question"])
            state["screening"] = None
            state["pending_question"] = None
            out.say(self.msg.cancelled if busy else self.msg.nothing_to_cancel, self._main_menu())
        elif name == "forget":
            self._forget(state, out)
        elif name == "language":
            out.say(self.msg.language, self._language_menu())
        else:
            out.say(self.msg.unknown_command, () if state["screening"] else self._main_menu())
            self._resume_screening(state, out)

    def _on_press(self, state: Session, action: str, now: datetime, out: _Out) -> None:
        if action == "cb" or action.startswith("cb:"):
            self._callback_press(state, action, out)
            return
        # Another button: the call-back request is left behind (its buttons become stale).
        state["callback"] = None
        if action == "menu":
            out.say(self.msg.menu, self._main_menu())
        elif action == "ask":
            out.say(self.msg.ask_prompt)
        elif action == "screen":
            self._start_screening(state, out)
        elif action == "topics":
            out.say(self.msg.topics_heading, self._topic_menu())
        elif action == "none":
            self._none_of_these(state, out)
        elif action in self._topics_by_action:
            state["pending_question"] = None
            self._answer(self._topics_by_action[action], out, related=True)
        elif action.startswith("s:"):
            self._screening_press(state, action, now, out)
        elif action.startswith("lang:") and action[5:] in self._languages:
            # The choice is confirmed, and the conversation goes on, in the new language.
            state["language"] = action[5:]
            chosen = self._languages[action[5:]]
            chosen_menu = () if state["screening"] else chosen._main_menu()
            out.say(chosen.msg.language_chosen, chosen_menu)
            chosen._resume_screening(state, out)
        else:
            self._stale(state, out)

    def _stale(self, state: Session, out: _Out) -> None:
        if state["screening"]:
            out.say(self.msg.stale_button)
            self._resume_screening(state, out, announce=False)
        else:
            out.say(self.msg.stale_button, self._main_menu())

    # --- questions ---------------------------------------------------------------------------

    def _free_text(self, state: Session, text: str, out: _Out) -> Route | None:
        """Reply to a typed message outside a screening; the route it took (None if empty)."""
        state["pending_question"] = None
        if not text.strip():
            out.say(self.msg.ask_prompt)
            return None
        chosen = route(self.kb.matcher, text, self.kb.language)
        if chosen.small_talk is not None:
            reply, with_menu = small_talk_reply(self.msg, chosen.small_talk)
            out.say(reply, self._main_menu() if with_menu else ())
            return chosen
        if chosen.warning_signs:
            out.say(warning_signs_reply(self.msg, self.kb.red_flags), self._main_menu())
            out.effects.append(Count("warning_signs"))
            return chosen
        text, refusal, decision = chosen.text, chosen.declined, chosen.decision
        if chosen.about_bot:
            # Said honestly first; the menu only when no answer follows.
            out.effects.append(Count("about_bot"))
            out.say(self.msg.about_bot, () if decision is not None else self._main_menu())
        if decision is None:
            return chosen
        if refusal is not None:
            decline = decline_reply(self.msg, refusal)
            if decision.outcome == "unknown":
                out.say(decline, self._main_menu())
                out.effects.append(Count(f"declined:{refusal}"))
                return chosen
            if not self._already_says(decision, decline):
                out.say(decline)
        answered = decision.topic_id if decision.outcome == "answer" else None
        if answered is not None and answered in self.kb.topics_by_id:
            self._answer(self.kb.topic(answered), out, related=True)
        elif decision.outcome == "suggest" and decision.matches:
            ids = [m.topic_id for m in decision.matches if m.topic_id in self.kb.topics_by_id]
            options = [Option(self.kb.topic(i).title, topic_action(i)) for i in ids]
            state["pending_question"] = text[:MAX_KEPT_QUESTION]
            state["suggested"] = ids[:SUGGEST_LIMIT]
            out.say(
                self.msg.did_you_mean,
                [*options[:SUGGEST_LIMIT], Option(self.btn.none_of_these, "none")],
            )
            out.effects.append(Count("suggest"))
        else:
            out.say(self.msg.unknown, self._topic_menu())
            out.effects.append(LogUnanswered(text[:MAX_KEPT_QUESTION], "unknown"))
            out.effects.append(Count("unknown"))
        return chosen

    def _already_says(self, decision: Decision, decline: str) -> bool:
        """Whether the answer about to be given declines in the same words (say it once)."""
        topic_id = decision.topic_id if decision.outcome == "answer" else None
        if topic_id is None or topic_id not in self.kb.topics_by_id:
            return False
        return already_declines(self.kb.topic(topic_id).answer, decline)

    def _answer(self, topic: Topic, out: _Out, *, related: bool) -> None:
        links = [r for r in topic.related if r in self.kb.topics_by_id][:RELATED_LIMIT]
        # After the booking answer (not in the middle of a screening) a call back is offered.
        offer = related and self.callbacks and topic.id == BOOKING_TOPIC
        if related and links:
            out.say(
                f"{topic.answer.strip()}\n\n{self.msg.related_heading}",
                [
                    *([Option(self.btn.callback, "cb")] if offer else []),
                    *[Option(self.kb.topic(r).title, topic_action(r)) for r in links],
                ],
            )
        elif offer:
            out.say(topic.answer, [Option(self.btn.callback, "cb")])
        else:
            out.say(topic.answer)
        out.effects.append(Count(f"answer:{topic.id}"))

    def _none_of_these(self, state: Session, out: _Out) -> None:
        question = state.get("pending_question")
        if not isinstance(question, str):
            self._stale(state, out)
            return
        suggested = tuple(str(s) for s in state.get("suggested") or ())
        state["pending_question"] = None
        state["suggested"] = None
        out.effects.append(LogUnanswered(question, "none-of-these", suggested))
        out.effects.append(Count("none-of-these"))
        out.say(self.msg.none_of_these, self._topic_menu())

    # --- safety ------------------------------------------------------------------------------

    def _urgent_text(self, category_id: str | None) -> str:
        text = self.kb.red_flags.message.strip()
        for category in self.kb.red_flags.categories:
            if category.id == category_id:
                return f"{category.advice.strip()}\n\n{text}"
        return text

    def _urgent(self, state: Session, hit: RedFlagHit, now: datetime, out: _Out) -> None:
        # Everything else stops: no screening to resume, no suggestions, nothing cheerful.
        state["screening"] = None
        state["pending_question"] = None
        state["callback"] = None
        state["red_flag"] = {"category": hit.category_id, "at": now.isoformat()}
        out.say(self._urgent_text(hit.category_id), urgent=True)
        out.effects.append(Count(f"red-flag:{hit.category_id}"))

    # --- screening ---------------------------------------------------------------------------

    def _start_screening(self, state: Session, out: _Out) -> None:
        state["pending_question"] = None
        if not out.private:
            # As the Telegram adapter does for /screen in a group: the option becomes a link
            # into the private chat (t.me/<bot>?start=screen).
            out.say(self.kb.screening.intro, [Option(self.btn.screen, "screen")])
            return
        first = self.kb.screening.steps[0]
        state["screening"] = {"step": first.id, "answers": []}
        flag = state.get("red_flag")
        if isinstance(flag, dict):
            category = flag.get("category")
            reminder = self._urgent_text(category if isinstance(category, str) else None)
            out.say(f"{self.msg.red_flag_reminder}\n\n{reminder}", urgent=True)
        out.say(self.kb.screening.intro)
        out.say(first.question, self._step_options(first))
        out.effects.append(Count("screening:started"))

    def _current_step(self, state: Session, out: _Out) -> Step | None:
        """The step the person is on; if the screening changed under them, start again."""
        screening = state["screening"]
        step = find_step(self.kb.screening, str(screening.get("step")))
        if step is None:
            out.say(self.msg.screening_restarted)
            self._start_screening(state, out)
        return step

    def _resume_screening(self, state: Session, out: _Out, *, announce: bool = True) -> None:
        if not state["screening"]:
            return
        step = self._current_step(state, out)
        if step is not None:
            text = f"{self.msg.screening_resume}\n\n{step.question}" if announce else step.question
            out.say(text, self._step_options(step))

    def _screening_press(self, state: Session, action: str, now: datetime, out: _Out) -> None:
        parts = action.split(":")
        screening = state["screening"]
        if len(parts) != 3 or not screening or parts[1] != screening.get("step"):
            self._stale(state, out)
            return
        code = parts[2]
        if code in _ANSWER_CODES:
            self._screening_answer(state, _ANSWER_CODES[code], out)
        elif code == "b":
            self._screening_back(state, out)
        elif code == "x":
            state["screening"] = None
            out.say(self.msg.cancelled, self._main_menu())
        else:
            self._stale(state, out)

    def _screening_text(self, state: Session, text: str, now: datetime, out: _Out) -> None:
        step = self._current_step(state, out)
        if step is None:
            return
        answer = parse_answer(text, self.kb.language)
        if answer == "back":
            self._screening_back(state, out)
            return
        if answer == "cancel":
            state["screening"] = None
            out.say(self.msg.cancelled, self._main_menu())
            return
        if answer is not None:
            self._screening_answer(state, answer, out)
            return
        # Not an answer: a question is answered and the step asked again.
        chosen = route(self.kb.matcher, text, self.kb.language)
        if chosen.small_talk in ("hello", "thanks", "bye"):
            reply, _ = small_talk_reply(self.msg, chosen.small_talk)
            out.say(reply)
            self._resume_screening(state, out)
            return
        if chosen.warning_signs:
            out.say(warning_signs_reply(self.msg, self.kb.red_flags))
            self._resume_screening(state, out)
            return
        if chosen.small_talk is None:
            if chosen.about_bot:
                out.say(self.msg.about_bot)
            decision = chosen.decision
            if decision is not None:
                if chosen.declined is not None:
                    decline = decline_reply(self.msg, chosen.declined)
                    if not self._already_says(decision, decline):
                        out.say(decline)
                answered = decision.topic_id if decision.outcome == "answer" else None
                if answered is not None and answered in self.kb.topics_by_id:
                    self._answer(self.kb.topic(answered), out, related=False)
            if out.replies:
                self._resume_screening(state, out)
                return
        out.say(f"{self.msg.screening_hint}\n\n{step.question}", self._step_options(step))

    def _answers(self, state: Session) -> list[Answered]:
        raw = state["screening"].get("answers") or []
        pairs: list[Answered] = []
        for item in raw:
            if isinstance(item, list | tuple) and len(item) == 2 and item[1] in _CODE_OF:
                pairs.append((str(item[0]), item[1]))
        return pairs

    def _screening_answer(self, state: Session, answer: AnswerId, out: _Out) -> None:
        screening = self.kb.screening
        answers = [*self._answers(state), (str(state["screening"]["step"]), answer)]
        result = advance(screening, answers)
        if isinstance(result, Step):
            state["screening"] = {"step": result.id, "answers": [list(a) for a in answers]}
            out.say(result.question, self._step_options(result))
            return
        self._finish(state, result, answers, out)

    def _finish(
        self, state: Session, result: Finished, answers: list[Answered], out: _Out
    ) -> None:
        state["screening"] = None
        outcome = result.outcome
        listing = summary(self.kb.screening, answers, self._labels)
        text = (
            f"{outcome.text.strip()}\n\n{self.msg.screening_summary.replace('{summary}', listing)}"
        )
        out.effects.append(Count(f"screening:{outcome.id}"))
        if outcome.urgent:
            state["red_flag"] = {"category": None, "at": out.now.isoformat()}
            out.say(text, urgent=True)
            return
        # Kept (until /forget) so a call back asked for now or after the booking answer can
        # carry it, with the person's consent.
        state["last_summary"] = f"{outcome.title}\n{listing}"
        options = [Option(self.btn.booking, topic_action("booking"))]
        if topic_action("booking") not in self._topics_by_action:
            options = []
        if outcome.offer_callback and self.callbacks:
            options.insert(0, Option(self.btn.callback, "cb"))
        out.say(text, [*options, Option(self.btn.topics, "topics"), Option(self.btn.menu, "menu")])

    def _screening_back(self, state: Session, out: _Out) -> None:
        answers = self._answers(state)
        if not answers:
            step = self._current_step(state, out)
            if step is not None:
                out.say(
                    f"{self.msg.screening_first_step}\n\n{step.question}",
                    self._step_options(step),
                )
            return
        previous_id, _ = answers.pop()
        previous = find_step(self.kb.screening, previous_id)
        if previous is None:
            out.say(self.msg.screening_restarted)
            self._start_screening(state, out)
            return
        state["screening"] = {"step": previous.id, "answers": [list(a) for a in answers]}
        out.say(previous.question, self._step_options(previous))

    # --- call back ---------------------------------------------------------------------------

    def _callback_press(self, state: Session, action: str, out: _Out) -> None:
        step = _callback_step(state)
        if not self.callbacks:
            self._stale(state, out)
        elif not out.private:
            # Consent, the phone number and the summary are for the person alone: the
            # adapter turns this option into a link to the private chat.
            state["callback"] = None
            out.say(self.msg.callback_private, [Option(self.btn.callback, "cb")])
        elif action == "cb":
            self._callback_start(state, out)
        elif action == "cb:y" and step == "consent":
            state["callback"]["step"] = "phone"
            out.say(self.msg.callback_phone, keyboard="contact")
        elif action == "cb:ok" and step == "confirm":
            self._callback_send(state, out)
        elif action == "cb:x" and step is not None:
            self._callback_cancel(state, out)
        else:
            state["callback"] = None
            self._stale(state, out)

    def _callback_start(self, state: Session, out: _Out) -> None:
        state["screening"] = None
        state["pending_question"] = None
        last = state.get("last_summary")
        summary = last if isinstance(last, str) else self.msg.callback_no_screening
        state["callback"] = {"step": "consent", "summary": summary, "phone": None, "name": ""}
        out.say(
            self.msg.callback_offer.replace("{summary}", summary),
            [Option(self.btn.callback_consent, "cb:y"), Option(self.btn.cancel, "cb:x")],
        )

    def _callback_text(self, state: Session, text: str, out: _Out) -> bool:
        """A typed reply during the call-back request; False if it is not part of it."""
        step = _callback_step(state)
        answer = parse_answer(text, self.kb.language)
        if answer in ("cancel", "no"):
            self._callback_cancel(state, out)
        elif step == "phone":
            phone = parse_phone(text)
            if phone is None:
                out.say(self.msg.callback_phone_invalid, keyboard="contact")
            else:
                self._callback_phone(state, phone, "", out)
        elif answer == "yes":
            self._callback_press(state, "cb:y" if step == "consent" else "cb:ok", out)
        else:
            # Something else (a question): the request is left, the message answered as usual.
            state["callback"] = None
            return False
        return True

    def _callback_phone(self, state: Session, phone: str, name: str, out: _Out) -> None:
        callback = state["callback"]
        phone = " ".join(phone.split())
        if not phone:
            out.say(self.msg.callback_phone_invalid, keyboard="contact")
            return
        callback.update(step="confirm", phone=phone, name=" ".join(name.split())[:100])
        review = self.msg.callback_review.replace("{phone}", phone)
        out.say(review.replace("{summary}", str(callback["summary"])))
        out.say(
            self.msg.callback_confirm,
            [Option(self.btn.send, "cb:ok"), Option(self.btn.cancel, "cb:x")],
        )

    def _callback_send(self, state: Session, out: _Out) -> None:
        callback = state["callback"]
        state["callback"] = None
        out.effects.append(
            RequestCallback(
                str(callback["summary"]), str(callback["phone"]), str(callback["name"])
            )
        )
        out.effects.append(Count("callback:requested"))
        out.say(self.msg.callback_sending, self._main_menu())

    def _callback_cancel(self, state: Session, out: _Out) -> None:
        state["callback"] = None
        # No buttons on this one: it may have to carry the removal of the contact keyboard.
        out.say(self.msg.callback_cancelled)

    def _close_contact_keyboard(self, out: _Out) -> None:
        """Mark a reply without buttons to remove Telegram's share-contact keyboard."""
        for index, reply in enumerate(out.replies):
            if not reply.options:
                out.replies[index] = dataclasses.replace(reply, keyboard="remove")
                return
        # Every reply has buttons (e.g. the greeting after /start): say the request was left.
        out.replies.insert(0, Reply(self.msg.callback_cancelled, keyboard="remove"))

    # --- privacy -----------------------------------------------------------------------------

    def _forget(self, state: Session, out: _Out) -> None:
        deleted = []
        if state["screening"]:
            deleted.append(self.msg.deleted_screening)
        if state["red_flag"]:
            deleted.append(self.msg.deleted_red_flag)
        if state["pending_question"]:
            deleted.append(self.msg.deleted_question)
        if state["callback"]:
            deleted.append(self.msg.deleted_callback)
        listing = _join(deleted) if deleted else self.msg.deleted_nothing
        state.clear()
        state.update(new_session())
        out.effects.append(ForgetUser())
        out.say(self.msg.forgotten.replace("{deleted}", listing))


def _callback_step(state: Session) -> str | None:
    callback = state.get("callback")
    return str(callback.get("step")) if isinstance(callback, dict) else None


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
