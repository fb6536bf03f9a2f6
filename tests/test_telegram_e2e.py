"""End to end: the real ``backpain-bot run`` subprocess against the offline Bot API server.

One bot process serves the whole module (each test plays its own user ids); only the restart
test starts a new one. Every wait is bounded and waits on the server's own record of calls.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.schema import AnswerId
from bot.screening import Answered, Finished, advance
from tests.botapi import FakeBotApi, SentMessage

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# Matches the token format the bot checks; the secret part must never show in its output.
TOKEN = "987654321:AAFe2e-secret-token-DO-NOT-LEAK-0123456789"
SECRET = TOKEN.split(":", 1)[1]
ADMIN = 7001
WAIT = 5.0  # seconds for one reply; a fault's retry adds its back-off on top
START_WAIT = 20.0
STOP_WAIT = 5.0


# --- the bot process ------------------------------------------------------------------------


@dataclass
class BotProcess:
    """``backpain-bot run`` in a subprocess, output to files (a full pipe would block it)."""

    workdir: Path
    api: FakeBotApi
    runs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.runs[-1]

    def start(self) -> None:
        log = self.workdir / f"bot-{len(self.runs)}.log"
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
            "PYTHONUNBUFFERED": "1",
        }
        mark = self.api.mark()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    "--config",
                    str(self.workdir / "config.yaml"),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.runs.append(proc)
        self.logs.append(log)
        # Ready once bootstrapped: deleteWebhook comes right before the first getUpdates (which
        # the server records only when it returns). Updates queued earlier wait for it anyway.
        self.api.wait_for_call("deleteWebhook", timeout=START_WAIT, since=mark)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> float:
        """SIGTERM (or Ctrl-C's SIGINT); return how long the exit took: clean and quick."""
        began = time.monotonic()
        self.proc.send_signal(how)
        try:
            code = self.proc.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"the bot did not exit within {STOP_WAIT}s of SIGTERM") from None
        assert code == 0, f"exit code {code}\n{self.output()[-3000:]}"
        return time.monotonic() - began

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    @contextlib.contextmanager
    def running(self) -> Iterator[BotProcess]:
        """Started; on leaving, stopped with Ctrl-C's SIGINT (killed if it hangs), and its
        output checked for the token, which must never appear."""
        self.start()
        try:
            yield self
            took = self.stop(signal.SIGINT)  # the restart test covers SIGTERM
            assert took < STOP_WAIT
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        output = self.output()
        assert TOKEN not in output
        assert SECRET not in output


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("e2e")
    shutil.copytree(ROOT / "knowledge", work / "knowledge")
    (work / "config.yaml").write_text(
        f"telegram:\n  admin_ids: [{ADMIN}]\n"
        "knowledge_dir: knowledge\ndata_dir: data\n"
        "clinic:\n  name: Spine & Co <Clinic>\n  phone: +1 555 0199\n",
        encoding="utf-8",
    )
    return work


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN, bot_username="clinic_pt_bot") as server:
        yield server


@pytest.fixture(scope="module")
def bot(workdir: Path, api: FakeBotApi) -> Iterator[BotProcess]:
    with BotProcess(workdir, api).running() as process:
        yield process
    # Every message the bot sent was accepted: HTML valid, lengths and buttons within limits.
    refused = [c for c in api.calls("sendMessage") if not c.ok and c.fault is None]
    assert not refused, [str(c) for c in refused]


@pytest.fixture(scope="module")
def kb(workdir: Path) -> KnowledgeBase:
    """The knowledge the bot serves, loaded here to pick questions and screening paths."""
    return load_knowledge(workdir / "knowledge")


# --- playing a user -------------------------------------------------------------------------


class Player:
    """One person talking to the bot; each action waits for the replies it should produce."""

    def __init__(self, api: FakeBotApi, user_id: int) -> None:
        self.api = api
        self.id = user_id

    def say(self, text: str, count: int = 1, timeout: float = WAIT) -> list[SentMessage]:
        self.api.user_text(self.id, text)
        return self.api.wait_for_messages(self.id, count, timeout)

    def command(self, name: str, count: int = 1, args: str = "") -> list[SentMessage]:
        self.api.user_command(self.id, name, args)
        return self.api.wait_for_messages(self.id, count, WAIT)

    def last_with_buttons(self) -> SentMessage:
        for message in reversed(self.api.messages(self.id)):
            if message.buttons:
                return message
        raise AssertionError("no message with buttons")

    def press(
        self, label: str, count: int = 1, message: SentMessage | None = None
    ) -> tuple[list[SentMessage], dict[str, Any]]:
        """Press a button; return the replies and the callback answer."""
        message = message or self.last_with_buttons()
        data = message.button(label)["callback_data"]
        return self.press_data(message, data, count)

    def press_data(
        self, message: SentMessage, data: str, count: int = 1
    ) -> tuple[list[SentMessage], dict[str, Any]]:
        queued = self.api.press_button(self.id, message, data, strict=False)
        assert queued.callback_query is not None
        query_id = queued.callback_query["id"]
        call = self.api.wait_for_call(
            "answerCallbackQuery",
            lambda c: c.ok and c.params.get("callback_query_id") == query_id,
            timeout=WAIT,
        )
        replies = self.api.wait_for_messages(self.id, count, WAIT) if count else []
        return replies, call.params


def texts(messages: list[SentMessage]) -> str:
    return "\n\n".join(m.plain_text for m in messages)


def find_path(kb: KnowledgeBase, outcome_id: str) -> list[AnswerId]:
    """Answers that walk the screening to ``outcome_id`` (depth-first over yes/no/not sure)."""
    screening = kb.screening

    def walk(answers: list[Answered]) -> list[Answered] | None:
        result = advance(screening, answers)
        if isinstance(result, Finished):
            return answers if result.outcome.id == outcome_id else None
        for answer in ("no", "yes", "not-sure"):
            found = walk([*answers, (result.id, answer)])
            if found is not None:
                return found
        return None

    path = walk([])
    assert path is not None, f"no way to reach {outcome_id}"
    return [answer for _, answer in path]


LABELS: dict[AnswerId, str] = {"yes": "Yes", "no": "No", "not-sure": "Not sure"}


# --- tests ----------------------------------------------------------------------------------


def test_start_greets_with_menu_and_commands_registered(bot: BotProcess, api: FakeBotApi) -> None:
    names = [c["command"] for c in api.commands()]
    assert names == ["start", "help", "topics", "screen", "cancel", "forget", "language"]
    admin_scope = {"type": "chat", "chat_id": ADMIN}
    assert {"reload", "stats", "unanswered"} <= {c["command"] for c in api.commands(admin_scope)}
    user = Player(api, 1001)
    mark = api.mark()
    [greeting] = user.command("start")
    assert "Spine & Co <Clinic>" in greeting.plain_text  # escaped on the way, shown as written
    assert greeting.parse_mode == "HTML"
    assert [b["text"] for b in greeting.buttons] == [
        "Ask a question",
        "Should I consider PT?",
        "Browse topics",
    ]
    assert all(len(d.encode()) <= 64 for d in greeting.callback_data)
    # A reply ready in a millisecond goes out at once, with no typing indicator in front.
    assert api.calls_since(mark, "sendChatAction") == []


def test_question_answered(bot: BotProcess, api: FakeBotApi, kb: KnowledgeBase) -> None:
    user = Player(api, 1002)
    [answer] = user.say("Does physical therapy help sciatica?")
    assert kb.topic("sciatica").answer.split("\n")[0][:60] in answer.plain_text
    assert answer.buttons  # related topics


def test_did_you_mean_choice_pressed(bot: BotProcess, api: FakeBotApi, kb: KnowledgeBase) -> None:
    candidates = ["exercises", "therapy", "exercise for back", "pain", "stretching or what"]
    question = next((q for q in candidates if kb.matcher.decide(q).outcome == "suggest"), None)
    assert question is not None, "no candidate question gives a did-you-mean"
    user = Player(api, 1003)
    [suggestion] = user.say(question)
    assert "Is it one of these?" in suggestion.plain_text
    first = suggestion.buttons[0]["text"]
    topic = next(t for t in kb.topics if t.title == first)
    [answer], toast = user.press(first)
    assert "text" not in toast or not toast["text"]
    assert topic.answer.split("\n")[0][:60] in answer.plain_text


@pytest.mark.parametrize("outcome_id", ["urgent", "urgent-unsure", "pt-likely", "self-care"])
def test_full_screening_to_each_outcome(
    bot: BotProcess, api: FakeBotApi, kb: KnowledgeBase, outcome_id: str
) -> None:
    user = Player(
        api, 1100 + ["urgent", "urgent-unsure", "pt-likely", "self-care"].index(outcome_id)
    )
    _intro, first = user.command("screen", count=2)
    assert kb.screening.steps[0].question in first.plain_text
    answers = find_path(kb, outcome_id)
    for answer in answers:
        [reply], _ = user.press(LABELS[answer])
    outcome = next(o for o in kb.screening.outcomes if o.id == outcome_id)
    assert outcome.text.strip().split("\n")[0][:60] in reply.plain_text
    assert "Your answers" in reply.plain_text


def test_red_flag_in_the_middle_of_the_screening(
    bot: BotProcess, api: FakeBotApi, kb: KnowledgeBase
) -> None:
    user = Player(api, 1200)
    user.command("screen", count=2)
    [step2], _ = user.press("No")
    [urgent] = user.say("Since yesterday I can't pee and my legs feel weak")
    assert kb.red_flags.message.strip().split("\n")[0][:60] in urgent.plain_text
    assert not urgent.buttons
    # The screening stopped: its buttons are now stale.
    replies, toast = user.press("No", message=step2)
    assert "earlier message" in toast["text"]
    assert "earlier message" in texts(replies)


def test_sticker_photo_voice_location_document_get_text_only(
    bot: BotProcess, api: FakeBotApi
) -> None:
    user = Player(api, 1300)
    for send in (api.user_sticker, api.user_photo, api.user_voice, api.user_location):
        send(user.id)
        [reply] = api.wait_for_messages(user.id, 1, WAIT)
        assert "I can only read text" in reply.plain_text
        assert "Ask a question" in [b["text"] for b in reply.buttons]
    api.user_document(user.id)
    [reply] = api.wait_for_messages(user.id, 1, WAIT)
    assert "I can only read text" in reply.plain_text


def test_markup_characters_and_emoji(bot: BotProcess, api: FakeBotApi) -> None:
    user = Player(api, 1400)
    mark = api.mark()
    replies = user.say("<b>hi</b> & </i> <script>&amp; 😀🙈 does physio help sciatica? 👍🏽")
    assert replies
    assert all(c.ok for c in api.calls_since(mark, "sendMessage"))
    # The user's text never comes back as markup, and the clinic's "<Clinic>" shows as written.
    [greeting] = user.command("start")
    assert "<Clinic>" in greeting.plain_text
    assert "&lt;Clinic&gt;" in greeting.text


def test_stale_and_forged_button_presses(
    bot: BotProcess, api: FakeBotApi, kb: KnowledgeBase
) -> None:
    steps = kb.screening.steps
    user = Player(api, 1500)
    _, step1 = user.command("screen", count=2)
    user.press("No", message=step1)
    # Stale: the first step's button again. Refused, and the current question comes again.
    replies, toast = user.press("Yes", message=step1, count=2)
    assert "earlier message" in toast["text"]
    assert "earlier message" in replies[0].plain_text
    assert steps[1].question in replies[1].plain_text
    newest = replies[1]
    # Forged: data the bot never made.
    for forged in ("AAAAAAAAs:fever:y", "x" * 64, "s:saddle-numbness:y"):
        replies, toast = user.press_data(newest, forged, count=2)
        assert "earlier message" in toast["text"]
    # A correctly signed action copied onto another message is refused too.
    data = newest.button("Yes")["callback_data"]
    [greeting, _] = user.command("start", count=2)
    replies, toast = user.press_data(greeting, data, count=2)
    assert "earlier message" in toast["text"]
    # None of that moved the screening.
    [step3], toast = user.press("No", message=newest)
    assert not toast.get("text")
    assert steps[2].question in step3.plain_text


def test_group_chat_other_users_button_and_deep_link(bot: BotProcess, api: FakeBotApi) -> None:
    group, asker, other = -100777, 1601, 1602
    mark = api.mark()
    api.group_message(asker, group, "just chatting among ourselves")
    api.group_message(asker, group, "/help@some_other_bot")
    api.group_message(asker, group, "@clinic_pt_bot does physio help sciatica?")
    [answer] = api.wait_for_messages(group, 1, WAIT, since=mark)
    assert "sciatica" in answer.plain_text.lower()
    assert answer.reply_to_message_id is not None
    assert len(api.messages_since(mark, group)) == 1  # the first two were not for the bot
    # Another member pressing the asker's button gets a toast and nothing else.
    before = len(api.messages(group))
    queued = api.press_button(other, answer, answer.callback_data[0], chat_id=group)
    query_id = queued.callback_query["id"] if queued.callback_query else ""
    call = api.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
    )
    assert "earlier message" in call.params["text"]
    # The screening is offered through a deep link into a private chat.
    mark = api.mark()
    api.group_message(asker, group, "/screen")
    [link] = api.wait_for_messages(group, 1, WAIT, since=mark)
    assert link.buttons[0]["url"] == "https://t.me/clinic_pt_bot?start=screen"
    assert len(api.messages(group)) == before + 1
    user = Player(api, asker)
    _intro, first = user.command("start", count=2, args="screen")
    assert first.buttons


def test_edited_message_is_ignored(bot: BotProcess, api: FakeBotApi) -> None:
    user = Player(api, 1700)
    api.user_text(user.id, "does physio help sciatica?")
    api.wait_for_messages(user.id, 1, WAIT)
    sent = api.user_text(user.id, "thanks")
    api.wait_for_messages(user.id, 1, WAIT)
    count = len(api.messages(user.id))
    api.edit_user_message(user.id, sent, "what about posture?")
    user.say("/language")  # handled after the edit, in order
    assert len(api.messages(user.id)) == count + 1


def test_forget_deletes_what_is_stored(bot: BotProcess, api: FakeBotApi) -> None:
    user = Player(api, 1750)
    user.command("screen", count=2)
    [done] = user.command("forget")
    assert "your answers to the check" in done.plain_text
    [again] = user.command("forget")
    assert "wasn't keeping anything" in again.plain_text


def test_non_admin_reload_is_an_unknown_command(bot: BotProcess, api: FakeBotApi) -> None:
    user = Player(api, 1800)
    [unknown] = user.command("frobnicate")
    for name in ("reload", "stats", "unanswered"):
        [reply] = user.command(name)
        assert reply.plain_text == unknown.plain_text
        assert [b["text"] for b in reply.buttons] == [b["text"] for b in unknown.buttons]


def test_admin_reload_with_broken_file_keeps_old_knowledge(
    bot: BotProcess, api: FakeBotApi, workdir: Path, kb: KnowledgeBase
) -> None:
    admin = Player(api, ADMIN)
    faq = workdir / "knowledge" / "faq.yaml"
    good = faq.read_text(encoding="utf-8")
    broken = good.replace("  - id: does-pt-work", "  - id: Does PT work?", 1)
    assert broken != good
    faq.write_text(broken, encoding="utf-8")
    try:
        mark = api.mark()
        [report] = admin.command("reload")
        # Reloading takes a moment: the admin sees the typing indicator first.
        typing = api.calls_since(mark, "sendChatAction")
        assert typing
        assert typing[0].params["action"] == "typing"
        assert typing[0].seq < report.seq
        assert "kept the previous knowledge" in report.plain_text
        assert "faq.yaml:" in report.plain_text
        [answer] = Player(api, 1801).say("Does physical therapy help sciatica?")
        assert kb.topic("sciatica").answer.split("\n")[0][:60] in answer.plain_text
    finally:
        faq.write_text(good, encoding="utf-8")
    [report] = admin.command("reload")
    assert "Knowledge reloaded" in report.plain_text
    [stats] = admin.command("stats")
    assert "Usage figures" in stats.plain_text
    assert "Top topics" in stats.plain_text


def test_faults_429_502_and_dropped_connection_lose_no_reply(
    bot: BotProcess, api: FakeBotApi
) -> None:
    user = Player(api, 1900)
    api.fail("sendMessage", "429", retry_after=1, match=lambda p: str(p.get("chat_id")) == "1900")
    [reply] = user.say("/language", timeout=WAIT + 2)
    assert "Which language" in reply.plain_text
    api.fail("getUpdates", "502")
    [reply] = user.say("/help", timeout=WAIT + 3)
    assert "/topics" in reply.plain_text
    api.fail("getUpdates", "drop")
    [reply] = user.say("/language", timeout=WAIT + 3)
    assert "Which language" in reply.plain_text
    sent = [m.plain_text for m in api.messages(user.id)]
    assert len(sent) == 3, sent  # nothing lost, nothing twice
    failed = {c.fault for c in api.calls() if c.fault}
    assert {"429", "502", "drop"} <= failed


def test_restart_in_the_middle_of_the_screening_resumes(
    bot: BotProcess, api: FakeBotApi, kb: KnowledgeBase
) -> None:
    user = Player(api, 2000)
    user.command("screen", count=2)
    [step2], _ = user.press("No")
    took = bot.stop()
    assert took < STOP_WAIT
    # A network blip while starting must not kill it: getMe fails once first.
    api.fail("getMe", "502")
    bot.start()
    [step3], _ = user.press("No", message=step2)
    assert kb.screening.steps[2].question in step3.plain_text
    [_greeting, resume] = user.command("start", count=2)
    assert "Back to the check" in resume.plain_text
    assert kb.screening.steps[2].question in resume.plain_text


# --- start-up problems: one clear line, no traceback ----------------------------------------


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}


def _run_bad(tmp_path: Path, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", *args],
        cwd=tmp_path,
        env={**_clean_env(), **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("no-token", "TELEGRAM_BOT_TOKEN"),
        ("bad-token", "malformed"),
        ("missing-config", "no such config file"),
        ("broken-config", "config"),
        ("broken-knowledge", "backpain-bot check"),
        ("rejected-token", "refused the bot token"),
    ],
)
def test_startup_problems_give_one_clear_line(
    tmp_path: Path, api: FakeBotApi, setup: str, expected: str
) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"}
    args: list[str] = []
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    if setup == "no-token":
        env.pop("TELEGRAM_BOT_TOKEN")
    elif setup == "bad-token":
        env["TELEGRAM_BOT_TOKEN"] = "12345:nope"
    elif setup == "missing-config":
        args = ["--config", "nowhere.yaml"]
    elif setup == "broken-config":
        (tmp_path / "config.yaml").write_text("telegram: [oops\n", encoding="utf-8")
    elif setup == "rejected-token":
        # Well-formed, but not the token the server knows: Telegram answers 401.
        env["TELEGRAM_BOT_TOKEN"] = TOKEN[:-4] + "9999"
        env["TELEGRAM_API_BASE_URL"] = api.base_url
    elif setup == "broken-knowledge":
        (tmp_path / "knowledge" / "faq.yaml").write_text("version: 1\ntopics: 3\n")
    code, output = _run_bad(tmp_path, args, env)
    assert code != 0
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert expected in lines[0]
    assert "Traceback" not in output
    assert SECRET not in output
