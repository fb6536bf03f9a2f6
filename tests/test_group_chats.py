"""Group chats: no call back (a phone number) and no screening (health answers) in front of the
group; both continue in the private chat.

The engine side (``handle(..., private=False)``); the Telegram rendering of the ``cb`` and
``screen`` options as deep links is tested through the rig in tests/test_telegram_adapter.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.engine import Command, Contact, Engine, Press, RequestCallback, Text
from bot.knowledge import KnowledgeBase

NOW = datetime(2026, 5, 11, 14, 0, tzinfo=UTC)
BOOKING = "could I get an appointment with one of your physios next week?"


def test_a_call_back_asked_for_in_a_group_points_to_the_private_chat(kb: KnowledgeBase) -> None:
    engine = Engine(kb, callbacks=True)
    private_text = kb.messages.messages.callback_private.strip()
    session, replies, _ = engine.handle(None, Text(BOOKING), NOW, private=False)
    assert ("Ask for a call back", "cb") in [(o.label, o.action) for o in replies[0].options]
    # By the button, by typing its label, by an old consent button, by the deep link's command.
    for event in (
        Press("cb"),
        Text("Ask for a call back"),
        Press("cb:y"),
        Command("start", "callback"),
    ):
        session, replies, effects = engine.handle(session, event, NOW, private=False)
        assert [r.text for r in replies] == [private_text], event
        assert [(o.label, o.action) for o in replies[0].options] == [("Ask for a call back", "cb")]
        assert session["callback"] is None
        assert not any(r.keyboard == "contact" for r in replies)
        assert not any(isinstance(e, RequestCallback) for e in effects)


def test_a_group_never_continues_an_old_request_nor_takes_a_number(kb: KnowledgeBase) -> None:
    engine = Engine(kb, callbacks=True)
    session, _, _ = engine.handle(None, Press("cb"), NOW)
    session, replies, _ = engine.handle(session, Press("cb:y"), NOW)
    assert session["callback"]["step"] == "phone"
    # The same session somehow reached from a group (stored before this rule existed).
    after, replies, effects = engine.handle(session, Text("+1 555 0100 123"), NOW, private=False)
    assert after["callback"] is None
    assert all("+1 555 0100 123" not in r.text for r in replies)
    assert any(r.keyboard == "remove" for r in replies)  # the share-contact keyboard goes
    after, replies, effects = engine.handle(session, Contact("+15550100"), NOW, private=False)
    assert after["callback"] is None
    assert not any(isinstance(e, RequestCallback) for e in effects)


def test_the_deep_link_starts_the_request_in_the_private_chat(kb: KnowledgeBase) -> None:
    engine = Engine(kb, callbacks=True)
    session, replies, _ = engine.handle(None, Command("start", "callback"), NOW)
    assert session["callback"]["step"] == "consent"
    assert [o.action for o in replies[0].options] == ["cb:y", "cb:x"]
    # Without a clinic chat to deliver to, the link just greets.
    session, replies, _ = Engine(kb).handle(None, Command("start", "callback"), NOW)
    assert session["callback"] is None
    assert replies[0].text == kb.messages.messages.greeting.strip()


def test_in_spanish_the_group_is_told_in_spanish(kb: KnowledgeBase) -> None:
    es = kb.for_language("es")
    engine = Engine(kb, callbacks=True)
    _, replies, _ = engine.handle(None, Press("cb"), NOW, "es", private=False)
    assert replies[0].text == es.messages.messages.callback_private.strip()
    assert replies[0].options[0].label == es.messages.buttons.callback


def test_a_screening_started_in_a_group_is_offered_in_private(kb: KnowledgeBase) -> None:
    engine = Engine(kb, callbacks=True)
    session, replies, _ = engine.handle(None, Command("help"), NOW, private=False)
    for event in (Text("2"), Press("screen"), Command("screen"), Command("start", "screen")):
        session, replies, _ = engine.handle(session, event, NOW, private=False)
        assert [r.text for r in replies] == [kb.screening.intro.strip()], event
        assert [o.action for o in replies[0].options] == ["screen"]
        assert session["screening"] is None
    # A screening stored for the group before this rule is not continued there.
    private, _, _ = engine.handle(None, Command("screen"), NOW)
    after, replies, _ = engine.handle(private, Text("no"), NOW, private=False)
    assert after["screening"] is None
    assert all(kb.screening.steps[1].question not in r.text for r in replies)
    # In a private chat nothing changed.
    private, replies, _ = engine.handle(private, Text("no"), NOW)
    assert private["screening"]["step"] == kb.screening.steps[1].id
