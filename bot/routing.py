"""Which reply a free-text message gets once no red flag fired: the one route the engine,
`backpain-bot ask` and `backpain-bot eval` all follow, so what they report is what users see."""

from __future__ import annotations

from dataclasses import dataclass

from bot.matching import Decision, Matcher
from bot.schema import Messages, RedFlagsFile
from bot.screening import fold
from bot.smalltalk import Decline, SmallTalk, about_bot, asks_warning_signs, declined, small_talk


@dataclass(frozen=True)
class Route:
    """What to say: small talk, the about-the-bot reply, the warning signs, a decline, and the
    matcher's decision.

    ``decision`` is None when nothing is matched (small talk, a question about the warning
    signs, or one about the bot with no answerable question beside it); ``text`` is what was
    matched.
    """

    text: str
    small_talk: SmallTalk | None = None
    about_bot: bool = False
    warning_signs: bool = False
    declined: Decline | None = None
    decision: Decision | None = None

    @property
    def topic_id(self) -> str | None:
        """The topic answered with, if any."""
        d = self.decision
        return d.topic_id if d is not None and d.outcome == "answer" else None


def route(matcher: Matcher, text: str, language: str = "en") -> Route:
    """The reply for ``text`` in ``language``; the caller has already run the red-flag check."""
    kind = small_talk(text, language)
    if kind is not None:
        return Route(text, small_talk=kind)
    rest = about_bot(text, language)
    if rest is not None:
        # Said honestly first; a real question in the same message is still answered ("are
        # you a bot or can physio help my back?"), on the rest of it only: "who programmed
        # you" is no question about a treatment programme.
        decision = matcher.decide(rest) if rest else None
        if decision is None or decision.outcome != "answer":
            return Route(text, about_bot=True)
        return Route(rest, about_bot=True, declined=declined(rest, language), decision=decision)
    if asks_warning_signs(text, language):
        # "When is back pain an emergency?": the warning signs, never a topic that happens to
        # share its words ("physio", "instead").
        return Route(text, warning_signs=True)
    return Route(text, declined=declined(text, language), decision=matcher.decide(text))


def small_talk_reply(messages: Messages, kind: SmallTalk) -> tuple[str, bool]:
    """The reply to chit-chat, and whether the main menu goes with it."""
    replies = {
        "hello": (messages.small_talk_hello, True),
        "thanks": (messages.small_talk_thanks, False),
        "bye": (messages.small_talk_bye, False),
        "ok": (messages.small_talk_ok, True),
    }
    return replies[kind]


def decline_reply(messages: Messages, refusal: Decline) -> str:
    """What the bot says when asked for a dose or a diagnosis."""
    return messages.decline_dose if refusal == "dose" else messages.decline_diagnosis


def already_declines(answer: str, decline: str) -> bool:
    """Whether a topic's answer declines in the decline's own words (so it is said once)."""
    opening = fold(decline)[:30]
    return bool(opening) and opening in fold(answer)


def warning_signs_reply(messages: Messages, red_flags: RedFlagsFile) -> str:
    """The warning signs: the message with every red-flag title, one per line."""
    signs = "\n".join(f"- {category.title}" for category in red_flags.categories)
    return messages.warning_signs.strip().replace("{signs}", signs)


def red_flag_reminder(messages: Messages, red_flags: RedFlagsFile, category_id: str) -> str:
    """The one-line reminder for red-flag words ruled out by their context."""
    title = next((c.title for c in red_flags.categories if c.id == category_id), category_id)
    return messages.red_flag_check.strip().replace("{sign}", title)
