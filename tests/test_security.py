"""Security checks: admin commands for admins only, YAML loaded safely, no user text reaching a
shell, an eval or an SQL string. (The Docker image's non-root USER: tests/test_packaging.py.)"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, TelegramSettings, load_settings
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.problems import KnowledgeError
from tests.botapi import FakeBotApi
from tests.telegram_rig import TOKEN, BotRig

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
ADMIN = 777
STRANGER = 778
GROUP = -100_999
EVIL_TAG = "!!python/object/apply:os.system ['echo pwned']"


# --- static checks over bot/ ------------------------------------------------------------------


def _calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _sources() -> Iterator[tuple[Path, ast.AST]]:
    for path in sorted(BOT.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_yaml_is_never_loaded_with_an_unsafe_loader() -> None:
    banned = {"yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all"}
    found = []
    for path, tree in _sources():
        for call, name in _calls(tree):
            if name in banned:
                found.append(f"{path.name}:{call.lineno}: {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and ast.unparse(node) in (
                "yaml.Loader",
                "yaml.FullLoader",
                "yaml.UnsafeLoader",
            ):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert not found, found


# The one module allowed to unpickle: the knowledge cache reads only files it wrote itself,
# in a folder of its own, owned by the bot's user and writable by nobody else (checked before
# every read; tests/test_knowledge_cache.py), the trust Python gives its own __pycache__.
PICKLE_ALLOWED = {"knowledge_cache.py"}


def test_nothing_reaches_a_shell_or_eval() -> None:
    banned = {"eval", "exec", "compile", "os.system", "os.popen", "__import__"}
    found = []
    for path, tree in _sources():
        unsafe = (
            ("subprocess", "shelve")
            if path.name in PICKLE_ALLOWED
            else ("subprocess", "pickle", "shelve")
        )
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in unsafe for n in names):
                    found.append(f"{path.name}:{node.lineno}: imports {names}")
        for call, name in _calls(tree):
            if name in banned or name.startswith("subprocess."):
                found.append(f"{path.name}:{call.lineno}: {name}")
    assert not found, found


def test_sql_strings_are_never_built_from_values() -> None:
    """execute() gets a literal (or a module constant); values go in as ? parameters."""
    found = []
    for path, tree in _sources():
        for call, name in _calls(tree):
            if not name.endswith(("execute", "executemany", "executescript")) or not call.args:
                continue
            sql = call.args[0]
            literal = isinstance(sql, ast.Constant) and isinstance(sql.value, str)
            constant = (isinstance(sql, ast.Name) and sql.id.isupper()) or (
                isinstance(sql, ast.Name) and sql.id.startswith("_") and sql.id[1:].isupper()
            )
            if not (literal or constant):
                found.append(f"{path.name}:{call.lineno}: {ast.unparse(sql)[:60]}")
    assert not found, found


def test_file_paths_come_from_settings_never_from_messages() -> None:
    """Only the storage, config, knowledge and CLI modules open files; the adapters do not."""
    for name in ("adapters/telegram.py", "adapters/console.py", "engine.py"):
        path = BOT / name
        if not path.exists():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        opened = [n for c, n in _calls(tree) if n in ("open", "Path", "os.remove", "os.unlink")]
        assert not opened, f"{name} opens files: {opened}"


# --- YAML tags that would run code ------------------------------------------------------------


def test_python_tag_in_a_knowledge_file_is_a_clear_problem(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    faq = knowledge / "faq.yaml"
    faq.write_text(
        faq.read_text(encoding="utf-8").replace("version: 1", f"version: {EVIL_TAG}", 1),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "faq.yaml:" in text
    assert "python/object" in text or "tag" in text


def test_python_tag_in_the_config_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"telegram:\n  admin_ids: {EVIL_TAG}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config|tag"):
        load_settings(config, env={})


# --- admin commands ---------------------------------------------------------------------------


@pytest.fixture
def rig(kb: KnowledgeBase, tmp_path: Path) -> Iterator[BotRig]:
    api = FakeBotApi(TOKEN, bot_username="clinic_pt_bot").start()
    settings = Settings(
        telegram=TelegramSettings(api_base_url=api.base_url, admin_ids=[ADMIN]),
        data_dir=tmp_path,
        knowledge_dir=kb.directory,
    )
    bot_rig = BotRig(kb, tmp_path, settings=settings, api=api)
    yield bot_rig
    bot_rig.close()
    api.stop()


def _count_reloads(rig: BotRig) -> list[int]:
    reloads: list[int] = []
    real = rig.bot.reload

    async def counting() -> str:
        reloads.append(1)
        return await real()

    rig.bot.reload = counting  # type: ignore[method-assign]
    return reloads


def test_admin_commands_are_refused_to_everyone_else(rig: BotRig) -> None:
    api = rig.api
    reloads = _count_reloads(rig)
    unknown_mark = api.mark()
    rig.process(api.user_text(STRANGER, "/frobnicate"))
    [unknown] = api.messages_since(unknown_mark, STRANGER)
    for name in ("reload", "stats", "unanswered"):
        # A stranger in private: exactly the answer to an unknown command.
        mark = api.mark()
        rig.process(api.user_text(STRANGER, f"/{name}"))
        [reply] = api.messages_since(mark, STRANGER)
        assert reply.plain_text == unknown.plain_text
        # A stranger in a group, addressing this bot by name.
        mark = api.mark()
        rig.process(api.group_message(STRANGER, GROUP, f"/{name}@clinic_pt_bot"))
        assert all("unanswered question" not in m.plain_text for m in api.messages(GROUP))
        assert all("reloaded" not in m.plain_text for m in api.messages(GROUP))
        # The admin in a group, but the command is for another bot: not ours to act on.
        mark = api.mark()
        rig.process(api.group_message(ADMIN, GROUP, f"/{name}@some_other_bot"))
        assert not api.messages_since(mark, GROUP)
    # Forged: a stranger forwarding the admin's command, and an edit of it.
    forwarded = api.user_text(STRANGER, "/reload")
    assert forwarded.message is not None
    forwarded.message["forward_origin"] = {
        "type": "user",
        "date": forwarded.message["date"],
        "sender_user": {"id": ADMIN, "is_bot": False, "first_name": "Admin"},
    }
    rig.process(forwarded)
    sent = api.user_text(ADMIN, "/help")
    rig.process(sent)
    mark = api.mark()
    rig.process(api.edit_user_message(ADMIN, sent, "/reload"))
    assert not api.messages_since(mark, ADMIN), "an edited message is never a command"
    assert reloads == []
    # The admin in private is obeyed: the checks above refused for the right reason.
    mark = api.mark()
    rig.process(api.user_text(ADMIN, "/reload"))
    [report] = api.messages_since(mark, ADMIN)
    assert "reloaded" in report.plain_text
    assert reloads == [1]


def test_channel_post_is_ignored(rig: BotRig) -> None:
    reloads = _count_reloads(rig)
    mark = rig.api.mark()
    post = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": -100_123, "type": "channel", "title": "Clinic news"},
        "sender_chat": {"id": -100_123, "type": "channel", "title": "Clinic news"},
        "text": "/reload",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
    }
    rig.process(rig.api.raw_update({"channel_post": post}))
    assert not rig.api.calls_since(mark, "sendMessage")
    assert reloads == []
