"""Logging for ``backpain-bot run``: quiet HTTP libraries, the bot token redacted everywhere."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

REDACTED = "[REDACTED]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs every request line at INFO, URL included, and the URL holds the token; httpcore
# logs connection details at DEBUG. Neither helps a clinic operator, so only warnings pass.
QUIET_LOGGERS = ("httpx", "httpcore")


class RedactingFilter(logging.Filter):
    """Replace secrets in a record's message, arguments, traceback and stack text.

    Attach it to handlers, not loggers: a logger's filters do not see records that propagate
    up from its children (``telegram.ext.Updater`` and friends), a handler's filters do.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a full token is replaced before the secret part inside it.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not hide the record entirely
            message = str(record.msg)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Exceptions from httpx quote the request URL, which holds the token: render the
            # traceback now, redacted, so the formatter prints this text instead.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def token_secrets(token: str) -> list[str]:
    """The strings to hide for a bot token: the token and its secret part after the colon."""
    token = token.strip()
    if not token:
        return []
    _, _, secret = token.partition(":")
    return [token, secret] if secret else [token]


def setup_logging(
    token: str = "", level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send log records to ``stream`` (stderr) with the token redacted; return the handler.

    Messages people send are health information: the bot's own code never logs their text,
    and python-telegram-bot only logs update contents at DEBUG.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter(token_secrets(token)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return handler
