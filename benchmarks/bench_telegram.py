"""Throughput and latency of the Telegram bot: many simulated users at once against FakeBotApi.

    .venv/bin/python benchmarks/bench_telegram.py [--users 200] [--rounds 1]

The bot runs as it does in production, in a process of its own (python-telegram-bot's
Application, long polling, the per-chat update processor, SQLite sessions), with the rate
limiter off. This process runs the offline Bot API server and plays the users: each user
holds a conversation (greeting, a question, a related topic, part of the screening, cancel,
the topic menu), sending the next message as soon as the previous reply arrived, all users at
once. The expected replies of every user come from the engine called directly, so the check
"every user got exactly their own replies, in order" is exact.

Latency is from the moment a user's message is queued at the server to the moment the server
received the last message of the bot's reply.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.engine import Engine, Event, Press, parse_input  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402
from bot.replies import Reply  # noqa: E402
from tests.botapi import FakeBotApi, SentMessage  # noqa: E402

# BENCH_PROFILE=FILE profiles the bot process with cProfile (SIGTERM flushes it).
PROFILE = (
    ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
    if os.environ.get("BENCH_PROFILE")
    else []
)
TOKEN = "555000111:AAHbenchmark-token-0123456789abcdefgh"
QUESTIONS = [
    "Does physical therapy help sciatica?",
    "what stretches are good for my lower back",
    "how long does a treatment plan take?",
    "can physio help after back surgery",
    "is it worth seeing a physio for a herniated disc?",
    "how do I improve my posture at my desk",
    "does PT actually work for chronic back pain",
    "how do I book an appointment",
]
# One conversation: ("say", text) or ("press", label); label "*related" = first button.
Step = tuple[str, str]


def script(user_index: int) -> list[Step]:
    question = QUESTIONS[user_index % len(QUESTIONS)]
    other = QUESTIONS[(user_index * 3 + 1) % len(QUESTIONS)]
    steps: list[Step] = [
        ("say", "/start"),
        ("say", question),
        ("press", "*first"),
        ("say", "/screen"),
        ("press", "No"),
        ("press", "No"),
        ("say", "no"),
        ("press", "Back"),
        ("say", "/cancel"),
        ("say", other),
        ("say", "/topics"),
        ("press", "*first"),
    ]
    return steps


# --- the expected replies, from the engine itself ------------------------------------------


def expected_turns(engine: Engine, steps: list[Step]) -> list[list[Reply]]:
    session: dict[str, Any] | None = None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    turns: list[list[Reply]] = []
    last_options: list[tuple[str, str]] = []
    for kind, value in steps:
        event: Event = parse_input(value) if kind == "say" else Press(_pick(last_options, value))
        turn = engine.handle(session, event, now)
        session = turn.session
        turns.append(list(turn.replies))
        with_options = [r for r in turn.replies if r.options]
        if with_options:  # the live side presses buttons on the newest message that has them
            last_options = [(o.label, o.action) for o in with_options[-1].options]
    return turns


def _pick(options: list[tuple[str, str]], label: str) -> str:
    if label == "*first":
        return options[0][1]
    return next(action for text, action in options if text == label)


# --- the bot process -----------------------------------------------------------------------


def serve(base_url: str, data_dir: str) -> None:
    """Child process: the Telegram adapter, rate limiter off, polling the given server."""
    from bot.adapters.telegram import TelegramBot
    from bot.config import Settings, TelegramSettings
    from bot.storage import Storage

    settings = Settings(telegram=TelegramSettings(api_base_url=base_url), data_dir=Path(data_dir))
    kb = load_knowledge(ROOT / "knowledge", settings.clinic, settings.matching)
    storage = Storage.open(settings.data_dir, env={})
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "0")) or None
    bot = TelegramBot(settings, TOKEN, kb, storage)
    app = bot.build(rate_limit=False, **({"concurrency": concurrency} if concurrency else {}))
    asyncio.set_event_loop(asyncio.new_event_loop())
    app.run_polling(timeout=10, bootstrap_retries=-1)
    storage.close()


# --- the users -----------------------------------------------------------------------------


@dataclass
class User:
    id: int
    steps: list[Step]
    expected: list[list[Reply]]
    turn: int = 0
    waiting_for: int = 0  # total messages in the chat once this turn is complete
    sent_at: float = 0.0
    latencies: list[float] = field(default_factory=list)
    last_buttons: SentMessage | None = None

    @property
    def done(self) -> bool:
        return self.turn >= len(self.steps)


def act(api: FakeBotApi, user: User, chat_len: int, messages: list[SentMessage]) -> None:
    """Send the user's next message or button press."""
    kind, value = user.steps[user.turn]
    user.waiting_for = chat_len + len(user.expected[user.turn])
    user.sent_at = time.time()
    if kind == "say":
        api.user_text(user.id, value)
        return
    source = next((m for m in reversed(messages) if m.buttons), None)
    assert source is not None, f"user {user.id}: no buttons to press"
    if value == "*first":
        data = source.buttons[0]["callback_data"]
    else:
        data = source.button(value)["callback_data"]
    api.press_button(user.id, source, data)


def play(api: FakeBotApi, users: list[User], timeout: float, think: float, seed: int = 5) -> float:
    """All users at once; returns the wall time.

    With ``think`` 0 each user sends the next message the moment the reply arrived (the bot
    flat out); otherwise after an exponentially distributed pause of mean ``think`` seconds,
    like people reading and typing. One thread waits on the server's own condition (its
    private ``_cond`` and ``_chats``: a thread per user would measure the GIL, not the bot).
    """
    cond, chats = api._cond, api._chats
    pause = random.Random(seed)
    began = time.time()
    deadline = time.monotonic() + timeout
    due: list[tuple[float, int]] = []
    for user in users:
        first = time.monotonic() + (pause.uniform(0, think) if think else 0)
        heapq.heappush(due, (first, user.id))
    by_id = {u.id: u for u in users}
    waiting: dict[int, User] = {}

    def finished() -> list[tuple[User, list[SentMessage]]]:
        ready = []
        for user in waiting.values():
            chat = chats.get(user.id)
            if chat is not None and len(chat.sent) >= user.waiting_for:
                ready.append((user, list(chat.sent)))
        return ready

    while waiting or due:
        with cond:
            while True:
                now = time.monotonic()
                if now > deadline:
                    raise SystemExit(f"timed out with {len(waiting) + len(due)} users left")
                ready = finished()
                if ready or (due and due[0][0] <= now):
                    break
                cond.wait(min(deadline, due[0][0] if due else deadline) - now)
        for user, sent in ready:
            del waiting[user.id]
            user.latencies.append(sent[user.waiting_for - 1].time - user.sent_at)
            user.turn += 1
            if not user.done:
                wait = pause.expovariate(1 / think) if think else 0.0
                heapq.heappush(due, (time.monotonic() + wait, user.id))
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, user_id = heapq.heappop(due)
            user = by_id[user_id]
            with cond:
                chat = chats.get(user.id)
                sent = list(chat.sent) if chat is not None else []
            act(api, user, len(sent), sent)
            waiting[user.id] = user
    return time.time() - began


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    name: str
    users: list[User]
    wall: float
    cpu: float
    problems: list[str]

    server_cpu: float = 0.0
    steady_rate: float = 0.0

    @property
    def replies(self) -> int:
        return sum(len(r) for u in self.users for r in u.expected)

    @property
    def latencies(self) -> list[float]:
        return sorted(x for u in self.users for x in u.latencies)


def steady_rate(api: FakeBotApi, users: list[User]) -> float:
    """Replies per second between the 10th and 90th percentile of send times.

    Users start and finish at different moments; the middle 80% of the replies is the load
    with (nearly) everyone talking, without the ramp-up and the tail.
    """
    times = sorted(m.time for u in users for m in api.messages(u.id))
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    return (len(times) * 8 // 10) / (high - low) if high > low else 0.0


def make_users(engine: Engine, count: int, rounds: int, first_id: int) -> list[User]:
    users = []
    for index in range(count):
        steps = script(index) * rounds
        users.append(User(first_id + index, steps, expected_turns(engine, steps)))
    return users


def verify(api: FakeBotApi, users: list[User]) -> list[str]:
    problems = []
    for user in users:
        got = [m.plain_text.strip() for m in api.messages(user.id)]
        want = [r.text.strip() for turn in user.expected for r in turn]
        if got != want:
            first = next(
                (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None
            )
            problems.append(
                f"user {user.id}: {len(got)} messages, expected {len(want)}; first difference "
                f"at {first}"
            )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200, help="users at once (default 200)")
    parser.add_argument("--rounds", type=int, default=1, help="conversations per user")
    parser.add_argument(
        "--rate",
        type=float,
        default=300.0,
        help="replies per second the paced users ask for in total (default 300)",
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--serve", nargs=2, metavar=("BASE_URL", "DATA_DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0

    kb = load_knowledge(ROOT / "knowledge")
    engine = Engine(kb)
    flat_users = make_users(engine, args.users, args.rounds, 10_000)
    paced_users = make_users(engine, args.users, args.rounds, 20_000)
    replies_per_turn = sum(len(t) for t in paced_users[0].expected) / len(paced_users[0].steps)
    think = args.users * replies_per_turn / args.rate
    phases: list[Phase] = []
    with FakeBotApi(TOKEN) as api, tempfile.TemporaryDirectory() as data:
        child = subprocess.Popen(
            [sys.executable, *PROFILE, __file__, "--serve", api.base_url, data],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            api.wait_for_call("deleteWebhook", timeout=60)
            for name, users, pause in (
                ("flat out", flat_users, 0.0),
                (f"paced ({args.rate:.0f}/s asked)", paced_users, think),
            ):
                cpu, here = cpu_seconds(child.pid), time.process_time()
                wall = play(api, users, args.timeout, pause)
                cpu, here = cpu_seconds(child.pid) - cpu, time.process_time() - here
                phase = Phase(name, users, wall, cpu, verify(api, users), here)
                phase.steady_rate = steady_rate(api, users)
                phases.append(phase)
        finally:
            child.terminate()
            _, err = child.communicate(timeout=30)

    print(f"{args.users} users at once, {len(flat_users[0].steps)} turns each, rate limiter off")
    header = (
        "phase",
        "replies/s",
        "median ms",
        "p99 ms",
        "max ms",
        "bot CPU ms/reply",
        "server CPU ms/reply",
        "wrong replies",
    )
    print(" | ".join(f"{h:>19}" for h in header))
    for phase in phases:
        lat = phase.latencies
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        row = (
            phase.name,
            f"{phase.steady_rate:.0f}",
            f"{statistics.median(lat) * 1000:.1f}",
            f"{p99 * 1000:.1f}",
            f"{lat[-1] * 1000:.1f}",
            f"{phase.cpu / phase.replies * 1000:.2f}" if phase.cpu else "n/a",
            f"{phase.server_cpu / phase.replies * 1000:.2f}",
            f"{len(phase.problems)}",
        )
        print(" | ".join(f"{c:>19}" for c in row))
    print(f"CPU cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    problems = [p for phase in phases for p in phase.problems]
    for problem in problems[:10]:
        print(problem)
    if "Traceback" in err:
        print(err[-2000:], file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
