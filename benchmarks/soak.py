"""Soak test: 500 users for N minutes against FakeBotApi, random faults, one restart mid-way.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--users 500] [--seed 7]

Not part of the test run (it takes minutes). Everything stays on 127.0.0.1. The bot runs as in
production: ``python -m bot run`` in a process of its own, rate limiter on, INFO logging to a
file, SQLite in a temporary data_dir, the knowledge copied so edits elsewhere cannot change the
expected replies. This process runs the offline Bot API server and plays the users, each with
a fixed conversation (greeting, questions, buttons, part of the screening), paced like people
reading and typing so that the run lasts about ``--minutes``. Meanwhile:

- faults are injected at random (429s, 502s, dropped connections) into getUpdates,
  sendMessage and answerCallbackQuery;
- half-way, the bot is stopped with SIGTERM and started again while users keep writing.

Then it checks: every user got exactly the replies the engine gives offline, in order (so no
reply lost or doubled, and every screening resumed after the restart: no session lost); every
user has a stored session; the bot's memory (RSS, sampled every second) levelled off; every
injected fault left a line in the bot's log and no ERROR was logged. Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_telegram import User, expected_turns, play, script, verify  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402
from bot.storage import DB_FILENAME  # noqa: E402
from tests.botapi import FakeBotApi  # noqa: E402

TOKEN = "555000222:AAHsoak-token-0123456789abcdefghijkl"
FIRST_USER = 50_000
# (method, kind) pairs injected at random; every one is something Telegram really does.
FAULTS = [
    ("sendMessage", "429"),
    ("sendMessage", "502"),
    ("sendMessage", "drop"),
    ("getUpdates", "502"),
    ("getUpdates", "drop"),
    ("answerCallbackQuery", "429"),
    ("answerCallbackQuery", "502"),
    ("answerCallbackQuery", "drop"),
]
# What the bot logs for each kind of fault (a fault may be retried and logged once more).
LOGGED_AS = {
    ("sendMessage", "429"): "Rate limit hit",
    ("answerCallbackQuery", "429"): "Rate limit hit",
    ("sendMessage", "502"): "sending failed",
    ("sendMessage", "drop"): "sending failed",
    ("getUpdates", "502"): "polling Telegram failed",
    ("getUpdates", "drop"): "polling Telegram failed",
    ("answerCallbackQuery", "502"): "callback query not answered",
    ("answerCallbackQuery", "drop"): "callback query not answered",
}
START_WAIT = 60.0


@dataclass
class Bot:
    """``python -m bot run`` in a subprocess; the log of every run goes to one file."""

    workdir: Path
    api: FakeBotApi
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        mark = self.api.mark()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", "config.yaml"],
                cwd=self.workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        self.api.wait_for_call("deleteWebhook", timeout=START_WAIT, since=mark)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return -9


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


@dataclass
class Monitor:
    """Injects faults, samples memory and restarts the bot once, beside the users."""

    api: FakeBotApi
    bot: Bot
    duration: float
    fault_rate: float
    rng: random.Random
    stop: threading.Event = field(default_factory=threading.Event)
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, run, kib)
    restart_at: float | None = None
    restart_exit: int | None = None
    restart_took: float = 0.0
    error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _run(self) -> None:
        began = time.monotonic()
        restarted = armed = False
        while not self.stop.is_set():
            now = time.monotonic()
            if self.bot.proc is not None:
                self.samples.append((now - began, self.bot.starts, rss_kib(self.bot.proc.pid)))
            if not restarted and now - began >= self.duration / 2:
                restarted = True
                self.restart_at = now - began
                t0 = time.monotonic()
                self.restart_exit = self.bot.stop()
                time.sleep(2.0)  # users keep writing while the bot is down
                self.bot.start()
                self.restart_took = time.monotonic() - t0
            if not armed:
                armed = True
                for method, kind in FAULTS:
                    # Each call of the method fails with this probability, as Telegram's do;
                    # queued one-shot faults would pile up behind a long poll or a back-off.
                    chance = self.fault_rate / sum(1 for m, _ in FAULTS if m == method)
                    self.api.fail(method, kind, times=10**9, match=self._dice(chance))
            self.stop.wait(1.0)
        self.api.clear_faults()

    def _dice(self, chance: float) -> Callable[[dict[str, Any]], bool]:
        lock = threading.Lock()

        def roll(params: dict[str, Any]) -> bool:
            with lock:
                return self.rng.random() < chance

        return roll


def make_users(engine: Engine, count: int, rounds: int) -> list[User]:
    users = []
    for index in range(count):
        steps = script(index) * rounds
        users.append(User(FIRST_USER + index, steps, expected_turns(engine, steps)))
    return users


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="about how long (default 10)")
    parser.add_argument("--users", type=int, default=500, help="simulated users (default 500)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.03, help="share of each method's calls that fail"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="copy the bot's log here")
    args = parser.parse_args()

    duration = args.minutes * 60
    steps_per_round = len(script(0))
    rounds = max(1, round(args.minutes / 4))
    # Each user thinks this long on average between getting a reply and writing again, so the
    # conversations spread over the whole run (replies take a little on top).
    think = duration * 0.85 / (steps_per_round * rounds)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "knowledge", work / "knowledge")
        (work / "config.yaml").write_text(
            "knowledge_dir: knowledge\ndata_dir: data\n", encoding="utf-8"
        )
        engine = Engine(load_knowledge(work / "knowledge"))
        users = make_users(engine, args.users, rounds)
        expected_replies = sum(len(t) for u in users for t in u.expected)
        log_path = work / "bot.log"
        with FakeBotApi(TOKEN) as api:
            bot = Bot(work, api, log_path)
            bot.start()
            monitor = Monitor(api, bot, duration, args.fault_rate, rng)
            thread = threading.Thread(target=monitor.run, name="soak-monitor", daemon=True)
            began = time.monotonic()
            thread.start()
            timed_out = None
            try:
                play(api, users, timeout=duration * 2 + 300, think=think, seed=args.seed)
            except SystemExit as exc:  # play's own deadline
                timed_out = str(exc)
            finally:
                monitor.stop.set()
                thread.join(60)
                wall = time.monotonic() - began
                final_exit = bot.stop() if bot.proc and bot.proc.poll() is None else None
            problems = verify(api, users)
            got_replies = sum(len(api.messages(u.id)) for u in users)
            calls = api.calls()
            messages_in = sum(len(u.steps) for u in users)
        log_text = log_path.read_text(errors="replace")
        with sqlite3.connect(work / "data" / DB_FILENAME) as db:
            stored_sessions = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        if args.keep:
            shutil.copy(log_path, args.keep)

    # Faults that reached the bot (the server records each one it applied).
    applied = Counter((c.method, c.fault) for c in calls if c.fault)
    unlogged = {}
    for phrase in set(LOGGED_AS.values()):
        faults = sum(n for key, n in applied.items() if LOGGED_AS.get(key) == phrase)
        logged = log_text.count(phrase)
        if logged < faults:
            unlogged[phrase] = faults - logged
    lines = log_text.splitlines()
    error_lines = Counter(line.split(" ERROR ", 1)[1][:90] for line in lines if " ERROR " in line)
    # An ERROR from the bot's own code means a handler failed (a reply replaced by an apology).
    errors = [line for line in lines if " ERROR bot." in line]
    first_run = [kib for _, run, kib in monitor.samples if run == 1 and kib]
    second_run = [kib for _, run, kib in monitor.samples if run == 2 and kib]
    peak = max(first_run + second_run, default=0)
    # Growth within the second run, from its first quarter to its end: after warm-up the RSS
    # of a bot that does not leak stays level.
    quarter = len(second_run) // 4
    settled = max(second_run[quarter : quarter * 2], default=0)
    end = max(second_run[-quarter:], default=0) if quarter else 0
    growth = (end - settled) / settled if settled else 0.0
    lost = max(0, expected_replies - got_replies)

    print(f"soak: {args.users} users, {wall / 60:.1f} min, seed {args.seed}, think {think:.1f}s")
    print(f"messages sent by users:  {messages_in}")
    print(f"replies expected / got:  {expected_replies} / {got_replies}")
    print(f"replies lost:            {lost}")
    print(f"users with wrong or missing replies: {len(problems)}")
    print(f"sessions stored / users: {stored_sessions} / {args.users}")
    print(
        f"faults injected:         {sum(applied.values())}  "
        + ", ".join(f"{m} {k}: {n}" for (m, k), n in sorted(applied.items()))
    )
    print(
        f"restart at {monitor.restart_at or 0:.0f}s: exit code {monitor.restart_exit}, "
        f"back in {monitor.restart_took:.1f}s; final stop exit code {final_exit}"
    )
    print(
        f"bot RSS: peak {peak / 1024:.1f} MiB; second run settled {settled / 1024:.1f} MiB, "
        f"end {end / 1024:.1f} MiB ({growth:+.1%})"
    )
    print(f"handler errors in the bot's log: {len(errors)}; unlogged faults: {unlogged}")
    for line, n in error_lines.most_common():
        print(f"  ERROR line x{n}: {line}")
    failures = []
    if timed_out:
        failures.append(timed_out)
    if monitor.error:
        failures.append(f"monitor failed: {monitor.error!r}")
    if problems or lost:
        failures += problems[:10]
    if stored_sessions != args.users:
        failures.append(f"{args.users - stored_sessions} sessions lost")
    if errors:
        failures += errors[:5]
    if unlogged:
        failures.append(f"faults without a log line: {unlogged}")
    if growth > 0.10:
        failures.append(f"memory grew {growth:.0%} after warm-up")
    if monitor.restart_exit != 0 or final_exit not in (0, None):
        failures.append("the bot did not exit cleanly on SIGTERM")
    for failure in failures:
        print("FAIL:", failure)
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
