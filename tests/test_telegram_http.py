"""The aiohttp transport behaves as PTB expects: results, Telegram's errors, faults, uploads."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator

import pytest
import telegram
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.adapters.telegram_http import AiohttpRequest
from tests.botapi import FakeBotApi

USER = 4242


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    request = AiohttpRequest(connection_pool_size=4, read_timeout=2.0, connect_timeout=2.0)
    async with telegram.Bot(api.token, base_url=api.base_url, request=request) as the_bot:
        yield the_bot


async def test_calls_and_results(bot: telegram.Bot, api: FakeBotApi) -> None:
    me = await bot.get_me()
    assert me.username == api.bot_username
    api.user_text(USER, "hello")
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Go", callback_data="t:sciatica")]]
    )
    sent = await bot.send_message(
        USER, "<b>Hi</b> &amp; welcome", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.message_id == api.messages(USER)[0].message_id
    assert api.messages(USER)[0].plain_text == "Hi & welcome"
    assert api.messages(USER)[0].callback_data == ["t:sciatica"]


async def test_telegram_errors_come_back_as_ptb_errors(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.user_text(USER, "hello")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<x>broken</x>", parse_mode="HTML")


async def test_faults_are_network_errors_or_timeouts(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.user_text(USER, "hello")
    api.fail("sendMessage", "502")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    api.fail("sendMessage", "drop")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "x")
    api.fail("sendMessage", "timeout", hold=5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "x", read_timeout=0.3)
    assert api.messages(USER) == []
    await bot.send_message(USER, "after the faults")
    assert [m.plain_text for m in api.messages(USER)] == ["after the faults"]


async def test_files_go_as_multipart(bot: telegram.Bot, api: FakeBotApi) -> None:
    api.allow(
        "sendDocument",
        result=lambda params: {
            "message_id": 1,
            "date": 0,
            "chat": {"id": USER, "type": "private"},
        },
    )
    api.user_text(USER, "hello")
    await bot.send_document(
        USER, io.BytesIO(b"<html>report</html>"), filename="stats.html", caption="Stats"
    )
    call = api.calls("sendDocument")[-1]
    assert call.params["caption"] == "Stats"
    assert call.files, "the document must arrive as a multipart file"


async def test_uninitialised_transport_says_so() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/bot/getMe", "POST")
