"""Privacy: after a full conversation, the bot's log holds no message text, phone or token."""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Iterator

import pytest

from tests.botapi import FakeBotApi
from tests.test_telegram_e2e import ROOT, SECRET, TOKEN, WAIT, BotProcess, Player

pytestmark = pytest.mark.slow

ADMIN = 7201
# Words no log line would contain by chance, so finding one means the text leaked.
QUESTION = "Quokka here: does physio help my sciatica?"
UNKNOWN = "Flamingo marmalade recipe please"
RED_FLAG = "Narwhal: since Sunday I can't pee and it's numb down there"
STORY = "Pangolin story: I lifted a wardrobe and my back went"
PHONE = "+44 7700 900123"


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN, bot_username="clinic_pt_bot") as server:
        yield server


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, api: FakeBotApi) -> Iterator[BotProcess]:
    work = tmp_path_factory.mktemp("privacy")
    shutil.copytree(ROOT / "knowledge", work / "knowledge")
    (work / "config.yaml").write_text(
        f"telegram:\n  admin_ids: [{ADMIN}]\n  admin_chat_id: {ADMIN}\n"
        "knowledge_dir: knowledge\ndata_dir: data\n",
        encoding="utf-8",
    )
    with BotProcess(work, api).running() as process:
        yield process


def test_a_full_conversation_leaves_no_personal_data_in_the_log(
    bot: BotProcess, api: FakeBotApi
) -> None:
    Player(api, ADMIN).command("help")  # Telegram only delivers to chats that wrote first
    user = Player(api, 4242)
    user.command("start")
    user.say(QUESTION)
    user.say(UNKNOWN)
    user.say(STORY)
    [urgent] = user.say(RED_FLAG)
    assert "911" in urgent.plain_text, "the red flag must really have been handled"
    caller = Player(api, 4343)
    _intro, first_step = caller.command("screen", count=2)
    assert first_step.buttons, "the screening must really have started"
    caller.say("no")
    caller.command("cancel")
    [booking] = caller.say("how do I book an appointment?")
    [consent], _ = caller.press("Ask for a call back", message=booking)
    caller.press("Yes, share it", message=consent)
    review, confirm = caller.say(PHONE, count=2)
    assert PHONE in review.plain_text, "the phone number must really have been taken"
    mark = api.mark()
    caller.press("Send", message=confirm)
    # The request reaches the clinic's chat, where the phone number belongs.
    [delivered] = api.wait_for_messages(ADMIN, 1, WAIT, since=mark)
    assert PHONE in delivered.plain_text
    caller.command("forget")
    [forgotten] = user.command("forget")
    assert "deleted" in forgotten.plain_text.lower()
    bot.stop(signal.SIGTERM)

    log = bot.output()
    assert re.search(r"INFO|WARNING", log), "the bot must have logged something to search"
    digits = re.sub(r"\D", "", PHONE)
    for secret in (QUESTION, UNKNOWN, RED_FLAG, STORY, PHONE, digits, TOKEN, SECRET):
        assert secret not in log, f"{secret!r} appears in the bot's log"
    for word in ("Quokka", "Flamingo", "Narwhal", "Pangolin", "wardrobe"):
        assert word not in log, f"{word!r} (from a user's message) appears in the bot's log"
