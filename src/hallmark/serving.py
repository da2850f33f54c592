"""How one process serves many people at once: admission, body limits and response headers.

Routes run on a bounded pool of threads (`request_threads`), and the database pool has a
connection for each of them and for every job worker, so a request that is let in never waits
for a connection. Requests beyond the threads wait in line for at most `request_queue_seconds`,
behind at most `max_queued_requests` others; past either limit the answer is 503 with
`Retry-After`, at once, instead of a slow 500. A body is refused from its declared length before
any of it is read, and a body without one is cut as soon as it passes the limit, so nothing is
spooled past the limit. These are plain ASGI middlewares: they never touch the database.
"""

from __future__ import annotations

import html
import json
import tempfile
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import anyio
import anyio.to_thread
from fastapi import UploadFile
from starlette.exceptions import HTTPException

from hallmark.config import Settings
from hallmark.errors import PayloadTooLarge
from hallmark.web.security import SESSION_COOKIE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Room for a multipart body's boundaries and form fields around its file.
MULTIPART_OVERHEAD = 64 * 1024
RETRY_AFTER_SECONDS = 1
UNLIMITED_PATHS = ("/static/",)
MODEL_IMPORT_PATH = "/api/styles/import"
MODEL_IMPORT_PAGE = "/styles/import"


def size_thread_pool(threads: int) -> None:
    """Let the routes of this process run on at most `threads` threads at once."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


async def send_error(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer without running the app: the API's error shape, or a short page for a browser."""
    if str(scope.get("path", "")).startswith("/api/"):
        body = json.dumps({"error": {"code": code, "message": message, "rule": None}}).encode()
        content_type = b"application/json"
    else:
        body = f"<!doctype html><title>Hallmark</title><p>{html.escape(message)}</p>".encode()
        content_type = b"text/html; charset=utf-8"
    raw_headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    raw_headers += [(key.encode(), value.encode()) for key, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """A request body passed its limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    """What an artist reads when a body is over its limit, naming the limit."""
    return f"The file is larger than {limit / (1024 * 1024):g} MB; nothing was read past that."


@dataclass(frozen=True)
class BodyLimits:
    """How big a body each route takes: uploads take files, everything else a small form.

    Multipart routes accept MULTIPART_OVERHEAD more than their files' limit, for the form.
    """

    upload: int
    batch: int
    other: int
    model: int = 512 * 1024 * 1024  # an imported LoRA file
    # Upload routes that need an account: an anonymous body there is refused before it is read.
    account_uploads: frozenset[str] = frozenset(
        {"/api/artworks", "/api/artworks/batch", MODEL_IMPORT_PATH}
    )
    # Page uploads that need a signed-in browser: without its session cookie, refused unread.
    session_uploads: frozenset[str] = frozenset({MODEL_IMPORT_PAGE})

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        """Limits from the settings: one file, one batch, any other request."""
        return cls(
            upload=settings.max_upload_bytes,
            batch=settings.max_batch_bytes,
            other=settings.max_request_bytes,
            model=settings.max_model_bytes,
        )

    def for_path(self, path: str) -> tuple[int, int]:
        """The limit this path names to people, and the most bytes its body may have."""
        if path in ("/api/artworks/batch", "/artworks"):
            return self.batch, self.batch + MULTIPART_OVERHEAD
        if path in ("/api/artworks", "/api/verify", "/verify"):
            return self.upload, self.upload + MULTIPART_OVERHEAD
        if path in (MODEL_IMPORT_PATH, MODEL_IMPORT_PAGE):
            return self.model, self.model + MULTIPART_OVERHEAD
        return self.other, self.other


class BodyLimitMiddleware:
    """Refuses an oversized body from its Content-Length, and cuts one without it at the limit."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        named, limit = self.limits.for_path(path)
        headers = dict(scope["headers"])
        if path in self.limits.account_uploads and b"authorization" not in headers:
            await send_error(
                scope,
                send,
                401,
                "not_authenticated",
                "Sign in: send 'Authorization: Bearer <token>'.",
            )
            return
        signed_in = f"{SESSION_COOKIE}=".encode() in headers.get(b"cookie", b"")
        if path in self.limits.session_uploads and not signed_in:
            await send_error(scope, send, 401, "not_authenticated", "Log in first.")
            return
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await send_error(
                    scope, send, 400, "invalid_request", "Content-Length is not a number."
                )
                return
            if int(declared) > limit:
                await send_error(scope, send, 413, "payload_too_large", too_large_message(named))
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(named)
            return message

        await self.app(scope, limited_receive, send)


class AdmissionMiddleware:
    """Lets at most `slots` requests run at once and `queued` more wait, each for at most
    `wait_seconds`; anyone else is told to come back (503, Retry-After) at once."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        slots: int,
        queued: int,
        wait_seconds: float,
        exempt: Callable[[Scope], bool] = lambda scope: False,
    ) -> None:
        self.app = app
        self.slots = slots
        self.queued = queued
        self.wait_seconds = wait_seconds
        self.exempt = exempt
        self.waiting = 0
        self._semaphore: anyio.Semaphore | None = None

    @property
    def semaphore(self) -> anyio.Semaphore:
        """Created on first use, inside the server's event loop."""
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.slots)
        return self._semaphore

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        semaphore = self.semaphore
        if semaphore.value == 0 and self.waiting >= self.queued:
            await _overloaded(scope, send, "Too many requests are waiting")
            return
        self.waiting += 1
        try:
            with anyio.move_on_after(self.wait_seconds) as waited:
                await semaphore.acquire()
            if waited.cancelled_caught:
                await _overloaded(scope, send, "No worker was free in time")
                return
        finally:
            self.waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            semaphore.release()


async def _overloaded(scope: Scope, send: Send, reason: str) -> None:
    await send_error(
        scope,
        send,
        503,
        "overloaded",
        f"{reason}; try again in {RETRY_AFTER_SECONDS} s.",
        {"retry-after": str(RETRY_AFTER_SECONDS)},
    )


class SecurityHeadersMiddleware:
    """Every response says its declared type is the only one to read it as (nosniff)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def waits_without_a_thread(scope: Scope) -> bool:
    """Long-polls and static files: they wait or stream without a route thread."""
    path: str = scope["path"]
    return path.startswith(UNLIMITED_PATHS) or (
        path.startswith("/api/jobs/") and path.endswith("/wait")
    )


class LongPollSlots:
    """At most `limit` long-polls wait at once in this process; each holds only a coroutine."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def try_enter(self) -> bool:
        """Take a slot if one is free (called on the event loop, so no lock is needed)."""
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def leave(self) -> None:
        """Give a slot back."""
        self.open -= 1


def read_limited(upload: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes, or a clear error once it exceeds the limit (runs in a thread).

    The body as a whole is already bounded while it streams (BodyLimitMiddleware); this
    bounds each file of a batch.
    """
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        name = PurePosixPath((upload.filename or "").replace("\\", "/")).name
        raise PayloadTooLarge(f"'{name}' is over the {max_bytes // (1024 * 1024)} MB limit.")
    return data


def spool_limited(upload: UploadFile, max_bytes: int, destination: IO[bytes]) -> int:
    """Copy an upload to a file, refusing it once it exceeds the limit (runs in a thread); the
    bytes copied. For files too big to hold in memory, as a model is."""
    copied = 0
    while block := upload.file.read(1 << 20):
        copied += len(block)
        if copied > max_bytes:
            name = PurePosixPath((upload.filename or "").replace("\\", "/")).name
            raise PayloadTooLarge(f"'{name}' is over the {max_bytes // (1024 * 1024)} MB limit.")
        destination.write(block)
    return copied


@contextmanager
def spooled_to_disk(upload: UploadFile, max_bytes: int, suffix: str) -> Iterator[Path]:
    """An upload copied to a temporary file within the limit (see `spool_limited`), its path for
    the block; the file is gone after it."""
    with tempfile.NamedTemporaryFile(prefix="hallmark-upload-", suffix=suffix) as spool:
        spool_limited(upload, max_bytes, spool)
        spool.flush()
        yield Path(spool.name)
