"""The ``backpain-bot`` command line: the one place that prints and sets exit codes."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from bot.config import ClinicSettings, Settings
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.knowledge_cache import load_knowledge_cached
from bot.problems import KnowledgeError
from bot.review import QuestionGroup, accept_group, dismiss_group, review

if TYPE_CHECKING:
    from bot.engine import Engine

DEFAULT_KB = Path("knowledge")


def _add_kb(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kb",
        type=Path,
        default=DEFAULT_KB,
        metavar="DIR",
        help="folder holding the knowledge files (default: ./knowledge)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backpain-bot",
        description="A Telegram bot that answers questions about physical therapy for back pain.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = commands.add_parser("chat", help="talk to the bot in this terminal (no token needed)")
    _add_kb(chat)

    run = commands.add_parser("run", help="run the Telegram bot (long polling)")
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="config file (see config.example.yaml); default: ./config.yaml if it exists",
    )

    ask = commands.add_parser("ask", help="answer one question, or one per line from stdin")
    _add_kb(ask)
    ask.add_argument("--json", action="store_true", help="print one JSON object per line")
    ask.add_argument(
        "question",
        nargs="?",
        default=None,
        metavar="QUESTION",
        help="the question; without it, questions are read from standard input",
    )

    check = commands.add_parser("check", help="validate and lint the knowledge files")
    _add_kb(check)

    evaluate = commands.add_parser("eval", help="score the matcher on a labelled set")
    _add_kb(evaluate)
    evaluate.add_argument(
        "set",
        nargs="?",
        type=Path,
        default=None,
        metavar="SET",
        help="labelled YAML set (default: tests/eval/heldout.yaml)",
    )

    report = commands.add_parser(
        "report",
        help="group the questions the bot could not answer; --apply to act on them",
        description="Group similar unanswered questions, most frequent first, with the topic "
        "each group came closest to. With --apply, go through the groups one by one.",
        epilog=REPORT_ANSWERS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="config file (as for run)"
    )
    report.add_argument("--kb", type=Path, default=None, metavar="DIR", help="knowledge folder")
    report.add_argument(
        "--data", type=Path, default=None, metavar="DIR", help="folder of the bot's database"
    )
    report.add_argument(
        "--apply", action="store_true", help="add, dismiss or skip each group (see below)"
    )
    stats = commands.add_parser(
        "stats", help="usage figures for the last 7 and 30 days; --html FILE for a page"
    )
    stats.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="config file (as for run)"
    )
    stats.add_argument(
        "--data", type=Path, default=None, metavar="DIR", help="folder of the bot's database"
    )
    stats.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write a one-page report with charts to FILE (needs the [report] extra)",
    )
    return parser


def _config_path(given: Path | None) -> Path | None:
    """The config file to read: the one given, else ./config.yaml when it exists."""
    if given is None and Path("config.yaml").is_file():
        return Path("config.yaml")
    return given


def _settings_or_report(config: Path | None, command: str, err: TextIO) -> Settings | None:
    """Settings for a subcommand, or None after printing why they cannot be read."""
    from bot.config import ConfigError, load_settings

    try:
        return load_settings(_config_path(config))
    except ConfigError as exc:
        print(f"backpain-bot {command}: {exc}", file=err)
        return None


def load_or_report(
    kb_dir: Path, err: TextIO, clinic: ClinicSettings | None = None
) -> KnowledgeBase | None:
    """Load the knowledge base, or print its problems to ``err`` and return None."""
    try:
        return load_knowledge_cached(kb_dir, clinic, lint=False)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        errors = len(exc.errors)
        print(
            f"{kb_dir}: {errors} error{'s' if errors != 1 else ''}; "
            "the knowledge files must be fixed first (see knowledge/README.md)",
            file=err,
        )
        return None


def cmd_check(kb_dir: Path, out: TextIO) -> int:
    if not kb_dir.is_dir():
        print(f"{kb_dir}: no such folder (pass the knowledge folder with --kb DIR)", file=out)
        return 1
    try:
        kb = load_knowledge(kb_dir)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=out)
        errors = len(exc.errors)
        warnings = len(exc.problems) - errors
        print(
            f"{kb_dir}: {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}; not valid",
            file=out,
        )
        return 1
    for problem in kb.warnings:
        print(problem, file=out)
    count = len(kb.warnings)
    print(
        f"{kb_dir}: {len(kb.topics)} topics, {kb.question_count} questions, "
        f"{count} warning{'s' if count != 1 else ''}, 0 errors; valid",
        file=out,
    )
    return 0


def _ask_line(kb: KnowledgeBase, engine: Engine, text: str, as_json: bool, single: bool) -> str:
    from bot.evaluation import ask

    result = ask(kb, text, engine)
    if as_json:
        return json.dumps(result.as_json(), ensure_ascii=False)
    if single:
        return result.answer
    # One output line per input line, so piped questions and answers stay aligned.
    label = "URGENT" if result.urgent else (result.topic or "-")
    return f"{label}\t{result.score:.1f}\t" + " ".join(result.answer.split())


def cmd_ask(
    kb_dir: Path,
    question: str | None,
    as_json: bool,
    stdin: BinaryIO,
    out: BinaryIO,
    err: TextIO,
) -> int:
    kb = load_or_report(kb_dir, err)
    if kb is None:
        return 1
    from bot.engine import Engine

    engine = Engine(kb)  # one for every line: replies depend only on the message
    if question is not None:
        out.write(_ask_line(kb, engine, question, as_json, single=True).encode("utf-8") + b"\n")
        out.flush()
        return 0
    # Bytes in, so invalid UTF-8 is replaced rather than fatal; flushed per line for pipes.
    for raw in stdin:
        text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
        out.write(_ask_line(kb, engine, text, as_json, single=False).encode("utf-8") + b"\n")
        out.flush()
    return 0


def cmd_eval(kb_dir: Path, set_path: Path | None, out: TextIO, err: TextIO) -> int:
    from bot.evaluation import EvalSetError, evaluate_default, format_report, load_cases

    kb = load_or_report(kb_dir, err)
    if kb is None:
        return 1
    path = set_path or Path("tests/eval/heldout.yaml")
    try:
        cases = load_cases(path)
    except EvalSetError as exc:
        print(exc, file=err)
        return 1
    report = evaluate_default(kb.matcher, kb.red_flags_detector, cases)
    print(format_report(report, str(path)), file=out)
    return 0


def cmd_chat(kb_dir: Path, inp: TextIO, out: TextIO, err: TextIO) -> int:
    """Talk to the engine in the terminal; works interactively and with piped input."""
    import shutil

    from bot.adapters import console
    from bot.engine import Engine

    kb = load_or_report(kb_dir, err)
    if kb is None:
        return 1
    if isinstance(inp, io.TextIOWrapper):
        # A pasted emoji half or a Latin-1 file must not end the chat with a traceback.
        inp.reconfigure(errors="replace")
    width = min(shutil.get_terminal_size((console.MAX_WIDTH, 24)).columns, console.MAX_WIDTH)
    # The locale says which language the person reads, as Telegram's language_code does;
    # POSIX precedence: LC_ALL, then LC_MESSAGES, then LANG.
    locale = next(
        (os.environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(k)), None
    )
    return console.run(
        Engine(kb), inp, out, interactive=inp.isatty(), width=width, language_hint=locale
    )


def cmd_run(config: Path | None, err: TextIO) -> int:
    """Run the Telegram bot until SIGINT/SIGTERM; one clear line on a setup problem."""
    from bot.config import ConfigError, load_settings, require_token
    from bot.logging_setup import setup_logging
    from bot.storage import Storage, StorageError

    config = _config_path(config)
    storage: Storage | None = None
    try:
        if config is not None and not config.is_file():
            raise ConfigError(f"{config}: no such config file (copy config.example.yaml)")
        settings = load_settings(config)
        token = require_token(settings)
        setup_logging(token)
        kb = load_knowledge_cached(
            settings.knowledge_dir, settings.clinic, settings.matching, lint=False
        )
        storage = Storage.open(settings.data_dir)
        # Imported here: only `run` needs python-telegram-bot loaded.
        from bot.adapters.telegram import run

        run(settings, token, kb, storage)
    except (ConfigError, StorageError) as exc:
        print(f"backpain-bot run: {exc}", file=err)
        return 1
    except KnowledgeError as exc:
        errors = len(exc.errors)
        first = exc.errors[0] if exc.errors else exc.summary().splitlines()[0]
        print(
            f"backpain-bot run: {first} ({errors} error{'s' if errors != 1 else ''} in the "
            "knowledge files; `backpain-bot check` lists them all)",
            file=err,
        )
        return 1
    finally:
        if storage is not None:
            storage.close()
    return 0


REPORT_ANSWERS = """\
answers with --apply, one per group (typed, or one per line on standard input):
  a        add the group's question as a phrasing of the suggested topic
  c        choose another topic: the next line is a topic id or an offered number
           (or on one line: c posture)
  d        dismiss: hide these questions from later reports
  s        skip (also an empty line)
  q        quit (also the end of the input)
"""


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_group(number: int, group: QuestionGroup, kb: KnowledgeBase, out: TextIO) -> None:
    topic = group.closest_topic
    title = f" ({kb.topics_by_id[topic].title})" if topic and topic in kb.topics_by_id else ""
    closest = f"closest topic: {topic}{title}" if topic else "no close topic"
    print(f"{number:>3}. {group.count} time{'s' if group.count != 1 else ''}, {closest}", file=out)
    print(f'     "{_short(group.representative)}"', file=out)
    others = group.questions[1:]
    if others:
        shown = " | ".join(f'"{_short(q, 60)}"' for q in others[:3])
        more = f" (+{len(others) - 3} more)" if len(others) > 3 else ""
        print(f"     also: {shown}{more}", file=out)


def _read_answer(prompt: str, inp: TextIO, out: TextIO) -> str | None:
    """One line of input, or None at the end; piped answers are echoed to keep a transcript."""
    print(prompt, end="", file=out, flush=True)
    line = inp.readline()
    if not line:
        print(file=out)
        return None
    answer = line.strip()
    if not inp.isatty():
        print(answer, file=out)
    return answer


def _choose_topic(
    group: QuestionGroup, given: str, kb: KnowledgeBase, inp: TextIO, out: TextIO
) -> str | None:
    offered = [t for t in (group.closest_topic, *group.alternatives) if t]
    while True:
        if not given:
            menu = "  ".join(f"{i}) {t}" for i, t in enumerate(offered, 1))
            print(f"     topics: {menu}{'  ' if menu else ''}or type a topic id", file=out)
            answer = _read_answer("     topic? ", inp, out)
            if answer is None:
                return None
            given = answer
        if given.isdigit() and 1 <= int(given) <= len(offered):
            return offered[int(given) - 1]
        if given in kb.topics_by_id:
            return given
        print(f"     no topic `{given}`: give an offered number or a topic id", file=out)
        given = ""


def cmd_report(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    """Print grouped unanswered questions; with ``--apply`` act on each group."""
    from bot.storage import DB_FILENAME, Storage, StorageError

    settings = _settings_or_report(args.config, "report", err)
    if settings is None:
        return 1
    kb_dir: Path = args.kb or settings.knowledge_dir
    data_dir: Path = args.data or settings.data_dir
    try:
        kb = load_knowledge(kb_dir, settings.clinic, settings.matching)
    except KnowledgeError as exc:
        print("\n".join(str(p) for p in exc.problems), file=err)
        print(f"{kb_dir}: the knowledge files must be fixed first", file=err)
        return 1
    if not (data_dir / DB_FILENAME).is_file():
        # Opening would create an empty database in a folder that may be the wrong one.
        print(f"no unanswered questions: there is no database in {data_dir} yet", file=out)
        return 0
    try:
        storage = Storage.open(data_dir)
    except StorageError as exc:
        print(f"backpain-bot report: {exc}", file=err)
        return 1
    try:
        groups = review(storage, kb)
        total = sum(g.count for g in groups)
        print(
            f"{total} unanswered question{'s' if total != 1 else ''} in {len(groups)} "
            f"group{'s' if len(groups) != 1 else ''}, most frequent first",
            file=out,
        )
        if not args.apply:
            for number, group in enumerate(groups, 1):
                _print_group(number, group, kb, out)
            return 0
        done = {"added": 0, "dismissed": 0, "skipped": 0, "refused": 0}
        for number, group in enumerate(groups, 1):
            print(file=out)
            _print_group(number, group, kb, out)
            suggested = f"add to {group.closest_topic}" if group.closest_topic else ""
            prompt = f"     {'a) ' + suggested + '  ' if suggested else ''}"
            prompt += "c) choose topic  d) dismiss  s) skip  q) quit? "
            answer = _read_answer(prompt, inp, out)
            while answer is not None and (
                answer[:1].lower() not in ("a", "c", "d", "s", "q", "")
                or (answer[:1].lower() == "a" and not suggested)
            ):
                answer = _read_answer("     please answer a, c, d, s or q: ", inp, out)
            choice = "q" if answer is None else (answer[:1].lower() or "s")
            if choice == "q":
                break
            if choice == "s":
                done["skipped"] += 1
                continue
            if choice == "d":
                dismiss_group(storage, group)
                done["dismissed"] += 1
                print(f"     dismissed {group.count} question(s)", file=out)
                continue
            topic = group.closest_topic
            if choice == "c":
                given = answer[2:].strip() if answer and answer[1:2].isspace() else ""
                topic = _choose_topic(group, given, kb, inp, out)
                if topic is None:
                    break
            assert topic is not None
            try:
                added = accept_group(
                    storage,
                    kb_dir,
                    group,
                    topic,
                    clinic=settings.clinic,
                    matching=settings.matching,
                )
            except KnowledgeError as exc:
                done["refused"] += 1
                print("     not added; the knowledge files would then have problems:", file=out)
                for problem in exc.problems:
                    print(f"       {problem}", file=out)
                continue
            kb = added.knowledge
            done["added"] += 1
            where = f"{kb_dir / 'faq.yaml'}:{added.line}" if added.changed else "already there"
            print(f"     added to {topic} ({where})", file=out)
            if not added.answers:
                print(
                    "     note: the bot may still only suggest this topic for it, because "
                    "another topic scores close",
                    file=out,
                )
        print(
            "\n" + ", ".join(f"{n} {what}" for what, n in done.items()),
            file=out,
        )
        if done["added"]:
            print("a running bot uses the new phrasings after it reloads the knowledge", file=out)
        return 1 if done["refused"] else 0
    except StorageError as exc:
        print(f"backpain-bot report: {exc}", file=err)
        return 1
    finally:
        storage.close()


def cmd_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the usage figures; with ``--html FILE`` also write the report page."""
    from datetime import UTC, datetime

    from bot.stats import ChartsUnavailableError, Labels, load_report, render_html, render_text
    from bot.storage import DB_FILENAME, Storage, StorageError

    settings = _settings_or_report(args.config, "stats", err)
    if settings is None:
        return 1
    data_dir: Path = args.data or settings.data_dir
    if not (data_dir / DB_FILENAME).is_file():
        # Opening would create an empty database in a folder that may be the wrong one.
        print(
            f"backpain-bot stats: no database in {data_dir} (pass --data DIR or --config FILE)",
            file=err,
        )
        return 1
    try:
        # Only names for topic and outcome ids: a knowledge problem must not hide the figures.
        kb = load_knowledge(settings.knowledge_dir, settings.clinic, settings.matching, lint=False)
        labels = Labels.from_knowledge(kb)
    except KnowledgeError:
        labels = Labels()
    try:
        storage = Storage.open(data_dir)
    except StorageError as exc:
        print(f"backpain-bot stats: {exc}", file=err)
        return 1
    try:
        report = load_report(
            storage, datetime.now(UTC), clinic=settings.clinic.name, labels=labels
        )
    finally:
        storage.close()
    if args.html is not None:
        try:
            page = render_html(report)
            args.html.write_text(page, encoding="utf-8")
        except ChartsUnavailableError as exc:
            print(f"backpain-bot stats: {exc}", file=err)
            return 1
        except OSError as exc:
            print(f"backpain-bot stats: cannot write {args.html}: {exc.strerror}", file=err)
            return 1
    print(render_text(report), file=out)
    if args.html is not None:
        print(f"wrote {args.html}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return cmd_check(args.kb, sys.stdout)
        if args.command == "chat":
            return cmd_chat(args.kb, sys.stdin, sys.stdout, sys.stderr)
        if args.command == "ask":
            return cmd_ask(
                args.kb, args.question, args.json, sys.stdin.buffer, sys.stdout.buffer, sys.stderr
            )
        if args.command == "eval":
            return cmd_eval(args.kb, args.set, sys.stdout, sys.stderr)
        if args.command == "run":
            return cmd_run(args.config, sys.stderr)
        if args.command == "report":
            return cmd_report(args, sys.stdin, sys.stdout, sys.stderr)
        assert args.command == "stats", args.command  # argparse allows no other
        return cmd_stats(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`backpain-bot eval | head`): stop quietly, as other
        # command-line tools do, and keep Python from complaining when it flushes at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
