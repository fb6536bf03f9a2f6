"""Offline Telegram Bot API for tests: ``FakeBotApi`` speaks the Bot API on 127.0.0.1.

Usage::

    from tests.botapi import FakeBotApi

    with FakeBotApi(bot_username="test_pt_bot") as api:
        # in-process: telegram.Bot(api.token, base_url=api.base_url)
        # subprocess: pass api.token and api.base_url to the bot (env/config)
        api.user_command(42, "start")                  # queue an update for getUpdates
        [reply] = api.wait_for_messages(42, 1)         # bot messages since that action
        assert "Hello" in reply.plain_text             # text as the user sees it
        api.press_button(42, reply, reply.callback_data[0])
        api.wait_for_call("answerCallbackQuery")
        api.fail("sendMessage", "429", retry_after=2)  # next sendMessage gets 429
        mark = api.mark()
        api.user_text(42, "hi")
        api.messages_since(mark, 42)

Users: ``user_text``, ``user_command``, ``group_message``, ``press_button``,
``user_sticker``, ``user_photo``, ``user_location``, ``user_voice``, ``user_document``,
``edit_user_message``, ``raw_update``; each returns a ``Queued`` (update, message).
Inspection: ``calls``, ``calls_since``, ``messages``, ``last_message``, ``messages_since``,
``commands``, ``callback_answers``, ``pending_updates``, ``unknown_calls``,
``faults_injected``. Waiting: ``wait_for_messages``, ``wait_for_call``, ``wait_until`` and
``async_wait_for_messages`` / ``async_wait_for_call``. Faults: ``fail(method, kind, times,
retry_after)`` with kinds "429", "500", "502", "403", "drop", "timeout". Other methods:
``allow(method, result=True)``; anything else answers 404 and lands in ``unknown_calls``.
parse_mode HTML is checked like Telegram; Markdown/MarkdownV2 are refused with a 400.
"""

from .http11 import UploadedFile
from .markup import EntityParseError, html_to_text, parse_html
from .server import DEFAULT_TOKEN, ApiCall, ApiError, FakeBotApi, Queued, SentMessage

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "ApiError",
    "EntityParseError",
    "FakeBotApi",
    "Queued",
    "SentMessage",
    "UploadedFile",
    "html_to_text",
    "parse_html",
]
