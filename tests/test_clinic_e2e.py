"""End to end, the clinic's loop: /stats, /unanswered with a one-tap fix, call-back delivery.

The real ``backpain-bot run`` subprocess against the offline Bot API server, one bot for the
module; the call-back test restarts it. Every wait is bounded.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from tests.botapi import FakeBotApi, SentMessage
from tests.test_telegram_e2e import ROOT, TOKEN, WAIT, BotProcess, Player

pytestmark = pytest.mark.slow

ADMIN = 7101
PHONE = "+15550100"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("clinic")
    shutil.copytree(ROOT / "knowledge", work / "knowledge")
    (work / "config.yaml").write_text(
        f"telegram:\n  admin_ids: [{ADMIN}]\n  admin_chat_id: {ADMIN}\n"
        "knowledge_dir: knowledge\ndata_dir: data\n",
        encoding="utf-8",
    )
    return work


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN, bot_username="clinic_pt_bot", extra_methods=["sendDocument"]) as s:
        yield s


@pytest.fixture(scope="module")
def bot(workdir: Path, api: FakeBotApi) -> Iterator[BotProcess]:
    with BotProcess(workdir, api).running() as process:
        yield process
    assert PHONE not in process.output()  # phone numbers never in the logs


@pytest.fixture(scope="module")
def kb(workdir: Path) -> KnowledgeBase:
    return load_knowledge(workdir / "knowledge")


def wait_for_text(
    api: FakeBotApi, chat_id: int, part: str, since: int, timeout: float = WAIT
) -> SentMessage:
    """The first message to ``chat_id`` since ``since`` containing ``part`` (bounded wait)."""
    deadline = time.monotonic() + timeout
    count = 1
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no message with {part!r}: {api.messages_since(since, chat_id)}"
        try:
            sent = api.wait_for_messages(chat_id, count, left, since=since)
        except AssertionError:
            continue
        for message in sent:
            if part in message.plain_text:
                return message
        count = len(sent) + 1


def press(api: FakeBotApi, user_id: int, message: SentMessage, label: str) -> None:
    api.press_button(user_id, message, message.button(label)["callback_data"])


def test_stats_refused_to_non_admins_and_figures_for_admins(
    bot: BotProcess, api: FakeBotApi
) -> None:
    user = Player(api, 3001)
    user.say("Does physical therapy help sciatica?")
    [unknown] = user.command("frobnicate")
    [refused] = user.command("stats")
    assert refused.plain_text == unknown.plain_text
    mark = api.mark()
    api.user_command(ADMIN, "stats")
    report = wait_for_text(api, ADMIN, "Usage figures", mark)
    assert "Sciatica — 1" in report.plain_text
    assert "Conversations: 1" in report.plain_text or "1 / 1" in report.plain_text


def test_unanswered_question_added_as_phrasing_then_answered(
    bot: BotProcess, api: FakeBotApi, kb: KnowledgeBase
) -> None:
    candidates = [
        "is aqua jogging ok for my lumbar region",
        "can I go aqua jogging with my back",
        "would a standing desk stop my lumbar aching",
    ]
    question = next((q for q in candidates if kb.matcher.decide(q).outcome == "unknown"), None)
    assert question is not None, "no candidate the bot cannot answer"
    user = Player(api, 3002)
    [dont_know] = user.say(question)
    assert "don't have an answer" in dont_know.plain_text
    mark = api.mark()
    api.user_command(ADMIN, "unanswered")
    group = wait_for_text(api, ADMIN, question, mark)
    assert group.plain_text.startswith("1×")
    assert [b["text"] for b in group.buttons][-2:] == ["Other topic…", "Dismiss"]
    assert all(len(d.encode()) <= 64 for d in group.callback_data)
    # A non-admin pressing the admin's button (forwarded to them) is refused.
    mark = api.mark()
    api.press_button(3002, group, group.callback_data[-1], strict=False)
    call = api.wait_for_call("answerCallbackQuery", since=mark)
    assert "earlier message" in call.params.get("text", "")
    mark = api.mark()
    press(api, ADMIN, group, "Other topic…")
    topics = wait_for_text(api, ADMIN, "Which topic", mark)
    mark = api.mark()
    press(api, ADMIN, topics, kb.topic("posture").title)
    result = wait_for_text(api, ADMIN, "Added", mark, timeout=WAIT + 10)
    assert "faq.yaml line" in result.plain_text
    faq = (bot.workdir / "knowledge" / "faq.yaml").read_text(encoding="utf-8")
    assert question in faq
    [answer] = Player(api, 3003).say(question)
    assert kb.topic("posture").answer.split("\n")[0][:50] in answer.plain_text
    mark = api.mark()
    api.user_command(ADMIN, "unanswered")
    assert wait_for_text(api, ADMIN, "No unanswered questions", mark)


def test_in_a_group_the_call_back_opens_the_private_chat(bot: BotProcess, api: FakeBotApi) -> None:
    group, user = -100880, Player(api, 3005)
    mark = api.mark()
    api.group_message(user.id, group, "@clinic_pt_bot can I book a session for my back?")
    [booking] = api.wait_for_messages(group, 1, WAIT, since=mark)
    link = booking.button("Ask for a call back")
    assert link["url"] == "https://t.me/clinic_pt_bot?start=callback"
    assert "callback_data" not in link
    # Telegram opens the private chat and sends /start callback: the request starts there.
    [consent] = user.command("start", args="callback")
    [ask_phone], _ = user.press("Yes, share it", message=consent)
    assert (ask_phone.reply_markup or {})["keyboard"][0][0]["request_contact"] is True
    [cancelled] = user.say("cancel")
    assert "cancelled" in cancelled.plain_text
    # Nothing in the group asked for a number.
    assert not any("keyboard" in (m.reply_markup or {}) for m in api.messages(group))


def request_call_back(
    api: FakeBotApi, user: Player, name: str
) -> tuple[SentMessage, SentMessage, SentMessage]:
    """Ask for a call back after the booking answer and share a contact: the phone request,
    the review and the Send / Cancel question."""
    [booking] = user.say("how do I book an appointment?")
    [consent], _ = user.press("Ask for a call back", message=booking)
    [ask_phone], _ = user.press("Yes, share it", message=consent)
    api._user_message(
        user.id, {"contact": {"phone_number": PHONE, "first_name": name, "user_id": user.id}}
    )
    review, confirm = api.wait_for_messages(user.id, 2, WAIT)
    return ask_phone, review, confirm


def test_callback_delivered_once_after_an_error_and_a_restart(
    bot: BotProcess, api: FakeBotApi
) -> None:
    user = Player(api, 3004)
    ask_phone, review, confirm = request_call_back(api, user, "Ann")
    keyboard = ask_phone.reply_markup or {}
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    assert PHONE in review.plain_text
    assert (review.reply_markup or {}).get("remove_keyboard") is True
    # The clinic's chat fails: the request stays stored and pending.
    admin_chat = str(ADMIN)
    api.fail("sendMessage", "502", times=1000, match=lambda p: str(p.get("chat_id")) == admin_chat)
    mark = api.mark()
    [sending], _ = user.press("Send", message=confirm)
    assert "passing your request" in sending.plain_text
    api.wait_for_call("sendMessage", lambda c: c.fault == "502", since=mark)
    bot.stop()
    api.clear_faults()
    mark = api.mark()
    bot.start()
    delivered = wait_for_text(api, ADMIN, "Call-back request", mark, timeout=WAIT + 5)
    assert PHONE in delivered.plain_text
    assert "Ann" in delivered.plain_text
    wait_for_text(api, user.id, "has reached", mark)
    # Exactly once, also after a while.
    user.command("help")
    sent = [m for m in api.messages(ADMIN) if "Call-back request" in m.plain_text]
    assert len(sent) == 1


def test_a_refused_clinic_chat_is_logged_for_the_operator_and_the_request_kept(
    bot: BotProcess, api: FakeBotApi
) -> None:
    user = Player(api, 3005)
    _, _, confirm = request_call_back(api, user, "Bo")
    # Telegram refuses the clinic's chat (the bot was removed from it): 403 Forbidden.
    admin_chat = str(ADMIN)
    api.fail("sendMessage", "403", times=1000, match=lambda p: str(p.get("chat_id")) == admin_chat)
    mark = api.mark()
    user.press("Send", message=confirm)
    api.wait_for_call("sendMessage", lambda c: c.fault == "403", since=mark)
    deadline = time.monotonic() + WAIT
    while "refused telegram.admin_chat_id" not in bot.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(x for x in bot.output().splitlines() if "refused telegram.admin_chat_id" in x)
    assert "ERROR" in line
    assert str(ADMIN) in line
    assert "is a member of that chat" in line
    assert PHONE not in bot.output()
    # Once the chat is right again, the kept request goes out.
    api.clear_faults()
    mark = api.mark()
    bot.stop()
    bot.start()
    delivered = wait_for_text(api, ADMIN, "Call-back request", mark, timeout=WAIT + 5)
    assert "Bo" in delivered.plain_text
    wait_for_text(api, user.id, "has reached", mark)
    # Answered by polling: the bot is past its start-up before the fixture stops it (a stop
    # signal within milliseconds of start-up can upset python-telegram-bot's shutdown).
    user.command("help")
