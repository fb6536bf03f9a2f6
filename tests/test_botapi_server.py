"""Tests of the offline Bot API server (tests/botapi) driven by python-telegram-bot and httpx."""

from __future__ import annotations

import asyncio
import datetime as dtm
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import telegram
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from tests.botapi import FakeBotApi, html_to_text, parse_html

USER = 4242


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(bot_username="test_pt_bot") as server:
        yield server
    assert server._thread is None
    assert not any(t.name == "FakeBotApi" for t in threading.enumerate())


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    request = telegram.request.HTTPXRequest(read_timeout=2.0, connect_timeout=2.0)
    async with telegram.Bot(api.token, base_url=api.base_url, request=request) as the_bot:
        yield the_bot


def _keyboard(data: str) -> telegram.InlineKeyboardMarkup:
    return telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Go", callback_data=data)]]
    )


async def test_get_me(bot: telegram.Bot, api: FakeBotApi) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "test_pt_bot"
    assert api.calls("getMe")


async def test_send_message_html_is_recorded_with_plain_text(
    bot: telegram.Bot, api: FakeBotApi
) -> None:
    api.user_text(USER, "hello")
    message = await bot.send_message(
        USER, "<b>Bold</b> &amp; <i>it</i>", parse_mode="HTML", reply_markup=_keyboard("a" * 64)
    )
    assert message.text == "Bold & it"
    assert message.message_id == 2  # the user's message was 1
    assert [e.type for e in message.entities] == ["bold", "italic"]
    [sent] = api.wait_for_messages(USER, 1)
    assert sent.plain_text == "Bold & it"
    assert sent.text == "<b>Bold</b> &amp; <i>it</i>"
    assert sent.parse_mode == "HTML"
    assert sent.callback_data == ["a" * 64]


async def test_unsupported_tag_is_rejected_like_telegram(
    bot: telegram.Bot, api: FakeBotApi
) -> None:
    api.user_text(USER, "hello")
    with pytest.raises(BadRequest) as err:
        await bot.send_message(USER, "a <x>b</x>", parse_mode="HTML")
    assert 'unsupported start tag "x" at byte offset 2' in err.value.message.lower()
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag corresponding"):
        await bot.send_message(USER, "<b>open", parse_mode="HTML")
    assert api.messages(USER) == []


async def test_long_callback_data_and_text_checks(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.user_text(USER, "hello")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "pick", reply_markup=_keyboard("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "y" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "nobody wrote from here")
    with pytest.raises(BadRequest, match=r"(?i)not implement parse_mode"):
        await bot.send_message(USER, "*x*", parse_mode="MarkdownV2")
    assert api.messages(USER) == []
    await bot.send_message(
        USER, "<b>" + "z" * 4096 + "</b>", parse_mode="HTML"
    )  # 4096 after parsing


async def test_get_updates_long_poll_and_offset(bot: telegram.Bot, api: FakeBotApi) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, lambda: api.user_command(USER, "start"))
    started = time.monotonic()
    updates = await bot.get_updates(timeout=3)
    assert 0.1 < time.monotonic() - started < 2.5
    [update] = updates
    assert update.message is not None
    assert update.message.text == "/start"
    assert update.message.entities[0].type == "bot_command"
    # Not confirmed yet: delivered again; the offset confirms and drops it.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update.update_id]
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert api.pending_updates() == []


async def test_button_press_and_answer(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.user_text(USER, "menu")
    await bot.send_message(USER, "Choose", reply_markup=_keyboard("go"))
    [sent] = api.wait_for_messages(USER, 1)
    api.press_button(USER, sent, "go")
    [update] = await bot.get_updates(offset=-1, timeout=1)
    assert update.callback_query is not None
    assert update.callback_query.data == "go"
    assert await update.callback_query.answer("done")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer("again")
    edited = await bot.edit_message_text("Chosen", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message)
    assert sent.plain_text == "Chosen"
    assert sent.reply_markup is None  # editMessageText without reply_markup drops the keyboard
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Chosen", chat_id=USER, message_id=sent.message_id)


async def test_429_surfaces_as_retry_after_and_has_no_effect(
    bot: telegram.Bot, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning
    api.user_text(USER, "hello")
    api.fail("sendMessage", "429", retry_after=3)
    with pytest.raises(RetryAfter) as err:
        await bot.send_message(USER, "flood")
    assert err.value.retry_after == dtm.timedelta(seconds=3)
    assert api.messages(USER) == []
    await bot.send_message(USER, "second try")
    assert [m.plain_text for m in api.messages(USER)] == ["second try"]
    assert api.faults_injected == 1


async def test_502_drop_and_timeout_are_network_errors(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.user_text(USER, "hello")
    api.fail("sendmessage", "502")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    api.fail("sendMessage", "drop")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "x")
    api.fail("sendMessage", "timeout", hold=5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "x", read_timeout=0.3)
    api.fail("*", "500")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_me()
    assert api.messages(USER) == []
    assert api.faults_injected == 4


async def test_commands_are_recorded(bot: telegram.Bot, api: FakeBotApi) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert [c["command"] for c in api.commands()] == ["start", "help"]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])


def test_envelopes_over_plain_http(api: FakeBotApi) -> None:
    with httpx.Client(timeout=2) as client:
        wrong = client.get(api.base_url + "1:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        missing = client.post(api.api_url + "/noSuchMethod", data={"a": "1"})
        assert missing.status_code == 404
        assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert api.unknown_calls[0].method == "noSuchMethod"
        api.allow("setMyDescription")
        assert client.post(api.api_url + "/SETMYDESCRIPTION").json() == {
            "ok": True,
            "result": True,
        }
        api.user_text(7, "hi")
        sent = client.post(
            api.api_url + "/sendMessage", json={"chat_id": 7, "text": "json body"}
        ).json()
        assert sent["ok"]
        assert sent["result"]["text"] == "json body"
        api.fail("getMe", "429", retry_after=5)
        flood = client.get(api.api_url + "/getMe")
        assert flood.status_code == 429
        assert flood.json()["parameters"] == {"retry_after": 5}
        assert flood.json()["description"] == "Too Many Requests: retry after 5"


def test_waiting_helpers_report_what_arrived(api: FakeBotApi) -> None:
    api.user_text(USER, "hi")
    with pytest.raises(AssertionError, match="waiting for 1 bot message"):
        api.wait_for_messages(USER, 1, timeout=0.1)

    def reply_later() -> None:
        with httpx.Client(timeout=2) as client:
            client.post(api.api_url + "/sendMessage", data={"chat_id": USER, "text": "late"})

    worker = threading.Thread(target=reply_later)
    worker.start()
    [sent] = api.wait_for_messages(USER, 1, timeout=3)
    worker.join()
    assert sent.plain_text == "late"
    assert api.wait_for_call("sendMessage").params["text"] == "late"


def test_user_simulation_shapes(api: FakeBotApi) -> None:
    text = api.user_text(1, "/start@test_pt_bot hi @someone", username="alice")
    assert text.message is not None
    assert [e["type"] for e in text.message["entities"]] == ["bot_command", "mention"]
    assert text.message["from"]["username"] == "alice"
    group = api.group_message(1, -100123, "hello all")
    assert group.message is not None
    assert group.message["chat"]["type"] == "supergroup"
    assert api.user_photo(1, caption="look").message is not None
    assert api.user_sticker(1).message is not None
    assert api.user_location(1).message is not None
    assert api.user_voice(1).message is not None
    assert api.user_document(1).message is not None
    edited = api.edit_user_message(1, text, "changed")
    assert edited.update["edited_message"]["text"] == "changed"
    raw = api.raw_update({"channel_post": {"message_id": 1}})
    ids = [u["update_id"] for u in api.pending_updates()]
    assert ids == sorted(ids)
    assert raw.update_id == ids[-1]
    assert text.message_id == 1
    assert group.message_id == 1


def test_html_parser_details() -> None:
    assert html_to_text("  <a href='https://x.y'>link</a> &lt;3 &#65;&#x42; ") == "link <3 AB"
    plain, entities = parse_html('<pre><code class="language-py">x = 1</code></pre>')
    assert plain == "x = 1"
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "py"}]
    assert parse_html("<span class=tg-spoiler>s</span>")[1][0]["type"] == "spoiler"


def test_wait_until_may_call_the_servers_own_accessors(api: FakeBotApi) -> None:
    api.user_text(USER, "hello")
    # The condition runs under the server's lock and takes it again: that must not deadlock.
    assert api.wait_until(lambda: api.messages(USER) == [], 1.0, "no bot message yet")
    assert api.wait_until(lambda: api.calls("getMe") == [], 1.0, "no getMe yet")
