"""The Telegram adapter in-process: rendering, button signing, ordering, logging, and PTB's real
Application polling FakeBotApi. (The shared conversation scenarios run through Telegram via the
``telegram`` driver in tests/harness.py; the subprocess tests are in test_telegram_e2e.py.)"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.telegram import (
    CallbackSigner,
    PerChatUpdateProcessor,
    TelegramBot,
    keyboard_rows,
    render,
    split_text,
    to_html,
    utf16_len,
)
from bot.config import Settings, TelegramSettings
from bot.engine import Engine, Event, Turn
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.logging_setup import REDACTED, RedactingFilter, setup_logging, token_secrets
from bot.reloader import KnowledgeReloader
from bot.replies import Option, Reply
from bot.storage import Storage
from tests.botapi import FakeBotApi
from tests.telegram_rig import TOKEN, BotRig

USER = 31337
ADMIN = 4711


# --- rendering -------------------------------------------------------------------------------


def test_short_text_is_one_message() -> None:
    assert split_text("  hello  ") == ["hello"]
    assert split_text("   ") == []


def test_long_text_splits_on_paragraphs_within_the_limit() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_text(text, limit=2000)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 2000 for p in parts)
    assert all(p.startswith("Paragraph") for p in parts)  # cut between paragraphs
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_a_paragraph_longer_than_a_message_is_cut_at_lines_then_words() -> None:
    text = ("line " * 50 + "\n") * 40 + "x" * 5000
    parts = split_text(text, limit=4096)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_split_counts_utf16_and_never_halves_an_emoji() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units, no spaces at all
    parts = split_text(text, limit=4096)
    assert [utf16_len(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_html_escaping() -> None:
    assert to_html("<b>x</b> & y > z") == "&lt;b&gt;x&lt;/b&gt; &amp; y &gt; z"
    [part] = render(Reply("a < b & c"), None)
    assert part.html == "a &lt; b &amp; c"


def test_keyboard_rows_pack_short_labels_and_keep_long_ones_alone() -> None:
    short = [(label, label) for label in ("Yes", "No", "Not sure", "Back", "Cancel")]
    assert [len(r) for r in keyboard_rows(short)] == [3, 2]
    long = [("Does physical therapy really work?", "a"), ("Sciatica", "b"), ("Posture", "c")]
    assert [len(r) for r in keyboard_rows(long)] == [1, 2]


# --- button data -----------------------------------------------------------------------------


def test_button_data_is_signed_for_chat_and_user() -> None:
    signer = CallbackSigner.from_token(TOKEN)
    action = "s:" + "a" * 30 + ":y"
    data = signer.sign(action, chat_id=-100123, user_id=7)
    assert len(data.encode()) <= 64
    assert signer.verify(data, -100123, 7) == action
    assert signer.verify(data, -100123, 8) is None  # another member of the group
    assert signer.verify(data, -100124, 7) is None  # another chat
    assert signer.verify(data[:-1] + "n", -100123, 7) is None  # tampered action
    assert signer.verify("", -100123, 7) is None
    assert CallbackSigner.from_token(TOKEN + "x").verify(data, -100123, 7) is None


def test_an_action_too_long_for_telegram_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        CallbackSigner.from_token(TOKEN).sign("t:" + "x" * 60, 1, 1)


# --- ordering --------------------------------------------------------------------------------


async def test_updates_of_one_chat_run_in_order_and_chats_run_concurrently() -> None:
    from telegram import Chat, Message, Update

    processor = PerChatUpdateProcessor(64)
    done: list[tuple[int, int]] = []
    running = 0
    most = 0

    def update(chat_id: int, n: int) -> Update:
        chat = Chat(chat_id, Chat.PRIVATE)
        return Update(n, message=Message(n, datetime(2026, 1, 1), chat, text=str(n)))

    async def work(chat_id: int, n: int, delay: float) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(delay)
        running -= 1
        done.append((chat_id, n))

    tasks = []
    for n in range(5):
        for chat_id in (1, 2, 3):
            # Earlier updates take longer: only the per-chat lock keeps them in order.
            delay = 0.02 * (5 - n)
            coroutine = work(chat_id, n, delay)
            tasks.append(
                asyncio.create_task(processor.process_update(update(chat_id, n), coroutine))
            )
    await asyncio.gather(*tasks)
    for chat_id in (1, 2, 3):
        assert [n for c, n in done if c == chat_id] == [0, 1, 2, 3, 4]
    assert most == 3  # one per chat at a time, the three chats at once
    assert not processor._locks  # no lock left behind per chat


# --- logging ---------------------------------------------------------------------------------


def test_the_token_is_redacted_from_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = setup_logging(TOKEN, stream=stream)
    log = logging.getLogger("bot.test.redaction")
    try:
        log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        log.warning("secret alone: " + TOKEN.split(":", 1)[1])
        try:
            raise RuntimeError(f"httpx.ConnectError for /bot{TOKEN}/sendMessage")
        except RuntimeError:
            log.exception("request failed")
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN.split(":", 1)[1] not in output
    assert output.count(REDACTED) == 3
    assert "RuntimeError" in output


def test_redacting_filter_without_secrets_changes_nothing() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s", ("b",), None)
    assert RedactingFilter(token_secrets("")).filter(record)
    assert record.getMessage() == "a b"


# --- the Application polling FakeBotApi --------------------------------------------------------


@dataclass
class Running:
    api: FakeBotApi
    bot: TelegramBot
    storage: Storage


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN, bot_username="clinic_pt_bot") as server:
        yield server


@pytest.fixture
async def running(api: FakeBotApi, kb: KnowledgeBase, tmp_path: Path) -> AsyncIterator[Running]:
    """PTB's Application polling FakeBotApi, as run_polling would, on the test's loop."""
    settings = Settings(
        telegram=TelegramSettings(api_base_url=api.base_url, admin_ids=[ADMIN]),
        data_dir=tmp_path,
        knowledge_dir=kb.directory,
    )
    storage = Storage.open(tmp_path, env={})
    bot = TelegramBot(settings, TOKEN, kb, storage)
    app = bot.build(rate_limit=False)
    async with app:
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(timeout=5, allowed_updates=["message", "callback_query"])
        await app.start()
        try:
            yield Running(api, bot, storage)
        finally:
            await app.updater.stop()
            await app.stop()
            assert app.post_shutdown is not None
            await app.post_shutdown(app)
    storage.close()


async def test_one_users_burst_is_answered_in_order_while_others_talk(running: Running) -> None:
    api = running.api
    questions = ["/language", "/help", "/topics", "/language", "/cancel"]
    for n, text in enumerate(questions):
        api.user_text(USER, text)
        api.user_text(USER + 1 + n, "/language")  # other people at the same time
    replies = await api.async_wait_for_messages(USER, len(questions), since=0)
    firsts = [r.plain_text.split("\n")[0][:20] for r in replies]
    expected = []
    engine = running.bot.engine
    session: dict[str, Any] | None = None
    from bot.engine import parse_input

    for text in questions:
        turn = engine.handle(session, parse_input(text), datetime(2026, 1, 1))
        session = turn.session
        expected += [r.text.split("\n")[0][:20] for r in turn.replies]
    assert firsts == expected


class _Scripted(Engine):
    """An engine whose answer is set by the test (to reach what the real knowledge does not)."""

    def __init__(self, kb: KnowledgeBase, reply: Reply | Exception) -> None:
        super().__init__(kb)
        self.reply = reply

    def handle(
        self,
        session: Mapping[str, Any] | None,
        event: Event,
        now: datetime,
        language_hint: str | None = None,
        *,
        private: bool = True,
    ) -> Turn:
        if isinstance(self.reply, Exception):
            raise self.reply
        return Turn(dict(session or {}), (self.reply,), ())


async def test_a_reply_over_4096_characters_is_split_and_keeps_its_buttons(
    running: Running, kb: KnowledgeBase
) -> None:
    paragraph = "Stretching <gently> & often helps. " * 40
    text = "\n\n".join(f"{i}. {paragraph}" for i in range(10))  # ~14,000 characters
    running.bot.engine = _Scripted(kb, Reply(text, (Option("Back", "menu"),)))
    running.api.user_text(USER, "tell me everything")
    count = len(split_text(text))
    assert count >= 3
    parts = await running.api.async_wait_for_messages(USER, count)
    assert len(parts) == count
    assert all(len(p.plain_text) <= 4096 for p in parts)
    assert [bool(p.buttons) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "<gently> &" in parts[0].plain_text
    assert " ".join(" ".join(p.plain_text for p in parts).split()) == " ".join(text.split())


async def test_a_failing_handler_is_logged_without_user_text_and_the_bot_goes_on(
    running: Running, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    real = running.bot.engine
    running.bot.engine = _Scripted(kb, RuntimeError("boom: my private story"))
    caplog.set_level(logging.INFO)
    running.api.user_text(USER, "my private story")
    [sorry] = await running.api.async_wait_for_messages(USER, 1)
    assert "something went wrong" in sorry.plain_text
    assert "private story" not in caplog.text
    assert "RuntimeError" in caplog.text
    running.bot.engine = real
    running.api.user_text(USER, "/language")
    [reply] = await running.api.async_wait_for_messages(USER, 1)
    assert "Which language" in reply.plain_text


async def test_group_reads_commands_mentions_and_replies_only(running: Running) -> None:
    api, group = running.api, -100555
    api.group_message(USER, group, "hello everyone")
    api.group_message(USER, group, "/frobnicate")  # a bare unknown command: another bot's
    api.user_sticker(USER, chat_id=group, chat_type="supergroup")
    api.group_message(USER, group, "/language")
    [language] = await api.async_wait_for_messages(group, 1, since=0)
    assert "Which language" in language.plain_text
    api.user_text(USER, "and posture?", chat_id=group, chat_type="supergroup", reply_to_bot=True)
    [answer] = await api.async_wait_for_messages(group, 1)
    assert "posture" in answer.plain_text.lower()
    assert len(api.messages(group)) == 2


async def test_admin_reload_report_is_truncated_and_old_knowledge_kept(
    running: Running, kb: KnowledgeBase, tmp_path: Path
) -> None:
    broken = tmp_path / "knowledge"
    broken.mkdir()
    for file in kb.directory.glob("*.yaml"):
        text = file.read_text(encoding="utf-8")
        if file.name == "faq.yaml":
            text = text.replace("    source:", "    sauce:")  # one error per topic
        (broken / file.name).write_text(text, encoding="utf-8")
    running.bot.reloader = KnowledgeReloader(
        broken, lambda: load_knowledge(broken), running.bot.reloader.current
    )
    before = running.bot.engine
    running.api.user_text(ADMIN, "/reload")
    [report] = await running.api.async_wait_for_messages(ADMIN, 1)
    assert "kept the previous knowledge" in report.plain_text
    assert "more; `backpain-bot check` lists them all" in report.plain_text
    assert running.bot.engine is before


async def test_forget_deletes_the_rows(running: Running) -> None:
    api, storage = running.api, running.storage
    api.user_text(USER, "/screen")
    await api.async_wait_for_messages(USER, 2)
    api.user_text(USER, "what's the price of a session with a dolphin trainer?")
    await api.async_wait_for_messages(USER, 1)
    assert storage.load_session(USER, USER) is not None
    api.user_text(USER, "/forget")
    [done] = await api.async_wait_for_messages(USER, 1)
    assert "Done" in done.plain_text
    assert storage.load_session(USER, USER) is None
    assert all(q.question != "what's the price" for q in storage.unanswered())


def test_rig_closes_cleanly(kb: KnowledgeBase, tmp_path: Path) -> None:
    rig = BotRig(kb, tmp_path)
    queued = rig.api.user_text(USER, "/help")
    rig.process(queued)
    assert rig.api.messages(USER)
    rig.close()


# --- call backs in a group -------------------------------------------------------------------

GROUP = -100424242


@pytest.fixture
def clinic_rig(kb: KnowledgeBase, tmp_path: Path) -> Iterator[BotRig]:
    """The rig with a clinic chat configured, so call backs are offered."""
    api = FakeBotApi(TOKEN, bot_username="clinic_pt_bot").start()
    settings = Settings(
        telegram=TelegramSettings(api_base_url=api.base_url, admin_chat_id=ADMIN),
        data_dir=tmp_path,
    )
    rig = BotRig(kb, tmp_path, settings=settings, api=api)
    try:
        yield rig
    finally:
        rig.close()
        api.stop()


def _sent(rig: BotRig, queued: Any, chat_id: int) -> list[Any]:
    mark = rig.api.mark()
    rig.process(queued)
    return rig.api.messages_since(mark, chat_id)


def test_in_a_group_the_call_back_is_a_link_to_the_private_chat(
    clinic_rig: BotRig, kb: KnowledgeBase
) -> None:
    api, label = clinic_rig.api, kb.messages.buttons.callback
    question = "@clinic_pt_bot how would I go about booking a first appointment?"
    [booking] = _sent(clinic_rig, api.group_message(USER, GROUP, question), GROUP)
    button = booking.button(label)
    assert button["url"] == "https://t.me/clinic_pt_bot?start=callback"
    assert "callback_data" not in button
    assert booking.callback_data  # the related topics are still ordinary buttons
    # Typing the option's label in the group (a reply to the bot) asks nothing either.
    typed = api.user_text(USER, label, chat_id=GROUP, chat_type="supergroup", reply_to_bot=True)
    [pointer] = _sent(clinic_rig, typed, GROUP)
    assert pointer.plain_text == kb.messages.messages.callback_private.strip()
    assert pointer.button(label)["url"] == "https://t.me/clinic_pt_bot?start=callback"
    group_messages = api.messages(GROUP)
    assert not any("keyboard" in (m.reply_markup or {}) for m in group_messages)
    assert not any(kb.messages.buttons.callback_consent in str(m.buttons) for m in group_messages)
    # Following the link: /start callback in the private chat asks for consent, then the number.
    [consent] = _sent(clinic_rig, api.user_command(USER, "start", args="callback"), USER)
    assert [b["text"] for b in consent.buttons] == ["Yes, share it", "Cancel"]
    press = api.press_button(USER, consent, consent.button("Yes, share it")["callback_data"])
    [ask_phone] = _sent(clinic_rig, press, USER)
    assert (ask_phone.reply_markup or {})["keyboard"][0][0]["request_contact"] is True


def test_in_a_private_chat_the_call_back_button_works_as_before(
    clinic_rig: BotRig, kb: KnowledgeBase
) -> None:
    api, label = clinic_rig.api, kb.messages.buttons.callback
    asked = api.user_text(USER, "how do I make an appointment at the clinic?")
    [booking] = _sent(clinic_rig, asked, USER)
    button = booking.button(label)
    assert "url" not in button
    [consent] = _sent(clinic_rig, api.press_button(USER, booking, button["callback_data"]), USER)
    assert [b["text"] for b in consent.buttons] == ["Yes, share it", "Cancel"]


def test_in_a_group_the_screening_is_a_link_to_the_private_chat(
    clinic_rig: BotRig, kb: KnowledgeBase
) -> None:
    api = clinic_rig.api
    [menu] = _sent(clinic_rig, api.group_message(USER, GROUP, "/start"), GROUP)
    assert (
        menu.button(kb.messages.buttons.screen)["url"] == "https://t.me/clinic_pt_bot?start=screen"
    )
    # Picking it by number in a reply to the bot: the intro and the link, no health question.
    typed = api.user_text(USER, "2", chat_id=GROUP, chat_type="supergroup", reply_to_bot=True)
    [intro] = _sent(clinic_rig, typed, GROUP)
    assert intro.plain_text == kb.screening.intro.strip()
    assert intro.buttons == [
        {"text": kb.messages.buttons.screen, "url": "https://t.me/clinic_pt_bot?start=screen"}
    ]
    assert not any(kb.screening.steps[0].question in m.plain_text for m in api.messages(GROUP))
    # The link's /start screen in the private chat asks the first question.
    _, first = _sent(clinic_rig, api.user_command(USER, "start", args="screen"), USER)
    assert first.plain_text == kb.screening.steps[0].question.strip()
