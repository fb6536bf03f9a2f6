"""Minimal asyncio HTTP/1.1 server plumbing (keep-alive, Content-Length/chunked, form parsing)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024

# Parameters whose values are plain strings even when they look like JSON (numbers, true...).
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "callback_query_id",
        "inline_message_id",
        "query",
        "description",
        "short_description",
        "title",
        "name",
        "url",
        "language_code",
        "action",
        "emoji",
        "first_name",
        "last_name",
        "address",
        "phone_number",
        "business_connection_id",
        "message_effect_id",
        "custom_title",
        "parse_mode",
        "caption_parse_mode",
        "secret_token",
        "sticker",
        "photo",
        "document",
        "voice",
        "audio",
        "video",
        "animation",
        "file_id",
    }
)


@dataclass
class UploadedFile:
    """A multipart part that carried a file."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    body_error: str | None = None


@dataclass
class Response:
    """One HTTP response; ``drop`` closes the connection without answering."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    drop: bool = False


DROP = Response(drop=True)

Handler = Callable[[Request], Awaitable[Response]]


def decode_value(name: str, value: Any) -> Any:
    """Decode one parameter value: PTB JSON-encodes everything that is not a str."""
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    stripped = value.strip()
    if not stripped:
        return value
    if stripped[0] in "[{" or stripped in ("true", "false", "null") or _numeric(stripped):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


def _numeric(value: str) -> bool:
    body = value[1:] if value[:1] == "-" else value
    return body.isdigit() or (body.replace(".", "", 1).isdigit() and body.count(".") == 1)


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    boundary = ""
    for piece in content_type.split(";")[1:]:
        key, _, val = piece.strip().partition("=")
        if key.lower() == "boundary":
            boundary = val.strip('"')
    if not boundary:
        raise ValueError("multipart body without boundary")
    params: dict[str, Any] = {}
    files: dict[str, Any] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        name = filename = None
        part_type = "application/octet-stream"
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, val = line.partition(":")
            if key.strip().lower() == "content-disposition":
                for item in val.split(";")[1:]:
                    k, _, v = item.strip().partition("=")
                    if k.lower() == "name":
                        name = v.strip('"')
                    elif k.lower() == "filename":
                        filename = v.strip('"')
            elif key.strip().lower() == "content-type":
                part_type = val.strip()
        if name is None:
            continue
        if filename is not None:
            files[name] = UploadedFile(name, filename, part_type, data)
        else:
            params[name] = data.decode("utf-8", "replace")
    return params, files


def parse_body(
    body: bytes, content_type: str
) -> tuple[dict[str, Any], dict[str, UploadedFile], str | None]:
    """Return raw (undecoded) params, uploaded files and an error text if the body is bad."""
    ctype = content_type.split(";")[0].strip().lower()
    try:
        if not body:
            return {}, {}, None
        if ctype == "application/json":
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                return {}, {}, "JSON body must be an object"
            return data, {}, None
        if ctype == "multipart/form-data":
            params, files = _parse_multipart(body, content_type)
            return params, files, None
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True)), {}, None
    except (ValueError, UnicodeDecodeError) as exc:
        return {}, {}, f"can't parse request body: {exc}"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class HttpServer:
    """Serves ``handler`` with HTTP/1.1 keep-alive on an asyncio loop."""

    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, self._host, self._port, limit=1024 * 1024, backlog=512
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        # Aborted transports end the connection tasks by themselves; cancelling them would make
        # asyncio's stream callback log a CancelledError, so only stragglers are cancelled.
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            verb, target, version = parts
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    key, _, val = line.partition(":")
                    headers[key.strip().lower()] = val.strip()
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await self._read_body(reader, headers)
            if body is None:
                writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")
                return
            conn = headers.get("connection", "").lower()
            keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            split = urlsplit(target)
            raw, files, error = parse_body(body, headers.get("content-type", ""))
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            merged = {**query, **raw}
            params = {k: decode_value(k, v) for k, v in merged.items()}
            request = Request(verb, unquote(split.path), headers, params, files, error)
            try:
                response = await self._handler(request)
            except Exception:
                log.exception("FakeBotApi: handler failed for %s %s", verb, target)
                body_out = b'{"ok":false,"error_code":500,"description":"Internal Server Error"}'
                response = Response(500, body_out)
            if response.drop:
                writer.transport.abort()
                return
            head_out = (
                f"HTTP/1.1 {response.status} {_reason(response.status)}\r\n"
                f"Server: fake-bot-api\r\nContent-Type: {response.content_type}\r\n"
                f"Content-Length: {len(response.body)}\r\n"
                f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
            )
            writer.write(head_out.encode("latin-1") + response.body)
            await writer.drain()
            if not keep_alive:
                return

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes | None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length", "0") or "0")
        if length > MAX_BODY:
            return None
        return await reader.readexactly(length) if length else b""
