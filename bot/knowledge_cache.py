"""A loaded knowledge base kept on disk, keyed by every input, so an unchanged base loads fast.

Loading reads every knowledge file and learns from thousands of example messages: several
hundred milliseconds, paid at every start of the bot and at every `backpain-bot ask`. The
result depends only on the files' bytes, the settings, the working directory (problems name
files relative to it), the year (the red-flag check reads "in 2019" against it), the code
and the Python running it; all of them make up the key, so a changed input is a new key and
a stale base is never served. Only a load that succeeded is kept. Anything wrong with the
cache (unwritable, corrupt, written by another user) costs a normal load, never an error.
`backpain-bot check` and the admins' edits always load afresh.

Set ``BACKPAIN_BOT_CACHE_DIR`` to choose the folder, or to ``off`` to keep nothing.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import datetime
import hashlib
import io
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import pydantic
import rapidfuzz
import yaml

from bot.config import ClinicSettings, MatchingSettings
from bot.knowledge import KnowledgeBase, linked, load_knowledge
from bot.yamlfile import MAX_FILE_BYTES

log = logging.getLogger(__name__)

CACHE_ENV: Final = "BACKPAIN_BOT_CACHE_DIR"
# Bumped when what is stored changes shape in a way the code's own hash would not show.
_FORMAT: Final = 1
# Each kept base is a few MB; older ones (an edited base's earlier versions) are removed.
KEEP: Final = 4
_PREFIX: Final = "knowledge-"
_SUFFIX: Final = ".pickle"
_OFF: Final = frozenset({"", "off", "0", "no", "false", "none"})


def cache_folder(env: Mapping[str, str] | None = None) -> Path | None:
    """Where bases are kept: ``$BACKPAIN_BOT_CACHE_DIR``, else the user's cache folder; None
    when it is turned off (or there is no home to put it in)."""
    env = os.environ if env is None else env
    chosen = env.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in _OFF else Path(chosen)
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "backpain-bot"
    try:
        return Path.home() / ".cache" / "backpain-bot"
    except RuntimeError:  # no HOME and no user entry: keep nothing
        return None


def load_knowledge_cached(
    directory: Path,
    clinic: ClinicSettings | None = None,
    matching: MatchingSettings | None = None,
    *,
    lint: bool = True,
    folder: Path | None = None,
) -> KnowledgeBase:
    """:func:`~bot.knowledge.load_knowledge`, from ``folder`` (default :func:`cache_folder`)
    when the same inputs were loaded before; raises :class:`KnowledgeError` as it does."""
    folder = folder if folder is not None else cache_folder()
    clinic = clinic or ClinicSettings()
    matching = matching or MatchingSettings()
    if folder is None:
        return load_knowledge(directory, clinic, matching, lint=lint)
    try:
        key = _key(directory, clinic, matching, lint)
    except OSError:
        # The folder cannot be read: the load says so, with the file and what to do.
        return load_knowledge(directory, clinic, matching, lint=lint)
    path = folder / f"{_PREFIX}{key}{_SUFFIX}"
    kept = _read(path)
    if kept is not None:
        log.debug("knowledge loaded from the cache %s", path)
        return kept
    knowledge = load_knowledge(directory, clinic, matching, lint=lint)
    _write(folder, path, knowledge)
    return knowledge


# --- the key ---------------------------------------------------------------------------------

_code_hash: str | None = None


def _code_fingerprint() -> str:
    """The bot's own source and the versions of the libraries whose objects are stored."""
    global _code_hash
    if _code_hash is None:
        digest = hashlib.sha256()
        package = Path(__file__).resolve().parent
        for source in sorted(package.rglob("*.py")):
            digest.update(source.relative_to(package).as_posix().encode() + b"\0")
            digest.update(source.read_bytes() + b"\0")
        versions = (sys.version, pydantic.VERSION, rapidfuzz.__version__, yaml.__version__)
        digest.update("\0".join(versions).encode())
        _code_hash = digest.hexdigest()
    return _code_hash


def _key(directory: Path, clinic: ClinicSettings, matching: MatchingSettings, lint: bool) -> str:
    digest = hashlib.sha256()
    # Every part is followed by a separator, and every file's bytes by their length first:
    # no two different inputs run together into the same bytes.
    for part in (
        str(_FORMAT),
        _code_fingerprint(),
        str(directory.resolve()),
        os.getcwd(),
        clinic.model_dump_json(),
        matching.model_dump_json(),
        str(lint),
        # The red-flag check reads "in 2019" against the current year, fixed at load.
        str(datetime.date.today().year),
    ):
        digest.update(part.encode() + b"\0")
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(directory).as_posix()}\0{size}\0".encode())
        # A file over the loader's limit is refused by it: its size and time stand for it.
        digest.update(
            file.read_bytes() if size <= MAX_FILE_BYTES else b"%d" % file.stat().st_mtime_ns
        )
    return digest.hexdigest()


# --- reading and writing ---------------------------------------------------------------------


def _mapping_proxy(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def _reduce_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
    return (_mapping_proxy, (dict(proxy),))


def _family(knowledge: KnowledgeBase) -> list[KnowledgeBase]:
    """Every language's base, the default first, each without the shared ``translations``
    (they point at each other, which a read-only mapping cannot be rebuilt from)."""
    bases = [knowledge.for_language(code) for code in knowledge.languages]
    return [dataclasses.replace(kb, translations=MappingProxyType({})) for kb in bases]


def _joined(bases: list[KnowledgeBase]) -> KnowledgeBase:
    """The default language's base again, every language reaching the others (as loaded)."""
    return bases[0] if len(bases) == 1 else linked(bases)


def _safe_to_read(path: Path) -> bool:
    """Only a file of ours, in a folder of ours, that nobody else may change: unpickling runs
    what a file says."""
    for info in (path.parent.stat(), path.stat()):
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return stat.S_ISREG(path.stat().st_mode)


def _read(path: Path) -> KnowledgeBase | None:
    try:
        if not _safe_to_read(path):
            log.info("ignoring the knowledge cache %s: another user may change it", path)
            return None
        bases = pickle.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except Exception as exc:  # a broken cache file (any way broken) is only a slower load
        log.info("ignoring the knowledge cache %s: %s", path, exc)
        return None
    if not (
        isinstance(bases, list) and bases and all(isinstance(b, KnowledgeBase) for b in bases)
    ):
        return None
    # Recently used: kept when older versions are removed (a read-only cache still serves).
    with contextlib.suppress(OSError):
        path.touch()
    return _joined(bases)


def dumps(knowledge: KnowledgeBase) -> bytes:
    """The bytes kept for ``knowledge``: every language's base, nothing people wrote."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # Read-only mappings do not pickle by themselves; this pickler only, not the process.
    pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _reduce_proxy}
    pickler.dump(_family(knowledge))
    return buffer.getvalue()


def _write(folder: Path, path: Path, knowledge: KnowledgeBase) -> None:
    written: str | None = None
    try:
        data = dumps(knowledge)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Private to this user (mode 0600), and renamed into place whole, so two bots
        # starting at once never read half a file.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".writing-", delete=False) as out:
            written = out.name
            out.write(data)
        os.replace(written, path)
        written = None
        _remove_old(folder)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
        log.info(
            "could not keep the loaded knowledge in %s (%s): every start loads it afresh; "
            "set %s to a folder the bot may write, or to `off`",
            folder,
            exc,
            CACHE_ENV,
        )
    finally:
        if written is not None:
            Path(written).unlink(missing_ok=True)


def _remove_old(folder: Path) -> None:
    kept = sorted(
        folder.glob(f"{_PREFIX}*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in kept[KEEP:]:
        old.unlink(missing_ok=True)
