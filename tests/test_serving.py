"""Serving many at once, in process: body limits, admission, headers, bounds, rate limits.

The same behaviour against a real server process, on both databases, is in tests/server/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.models import ApiToken
from hallmark.accounts.service import authenticate_token, issue_api_token, register_user
from hallmark.accounts.token_use import TokenUseRecorder
from hallmark.app import create_app
from hallmark.config import Settings
from hallmark.db import ReadOnlyViolation, make_session_factory, transaction
from hallmark.serving import AdmissionMiddleware, BodyLimitMiddleware, BodyLimits
from hallmark.web.security import csrf_matches, csrf_token_from_cookie, new_csrf_cookie
from tests.conftest import migrated_engine
from tests.helpers import PASSWORD, assert_error, png_bytes, sign_up

Message = dict[str, Any]


class RecordingApp:
    """An ASGI app that reads the whole body and answers 200, counting what it received."""

    def __init__(self) -> None:
        self.calls = 0
        self.received = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        while True:
            message = await receive()
            self.received += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def http_scope(path: str, headers: dict[str, str], method: str = "POST") -> dict[str, Any]:
    raw = [(key.lower().encode(), value.encode()) for key, value in headers.items()]
    return {"type": "http", "method": method, "path": path, "headers": raw}


async def call(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> tuple[list[Message], int]:
    """Run one request through an ASGI app; returns what it sent and how many chunks it read."""
    sent: list[Message] = []
    pulled = 0

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        index = pulled - 1
        if index >= len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[index], "more_body": index < len(chunks) - 1}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await app(scope, receive, send)
    except Exception as error:  # the app under test raised: report it as the answer
        sent.append({"type": "raised", "error": error})
    return sent, pulled


LIMITS = BodyLimits(upload=1000, batch=5000, other=100)


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read() -> None:
    inner = RecordingApp()
    app = BodyLimitMiddleware(inner, LIMITS)
    scope = http_scope("/api/verify", {"content-length": str(1 << 30)})

    sent, pulled = anyio.run(call, app, scope, [b"x" * 1000] * 5)

    assert sent[0]["status"] == 413 and b"payload_too_large" in sent[1]["body"]
    assert pulled == 0 and inner.calls == 0


def test_a_body_without_a_length_is_cut_as_soon_as_it_passes_the_limit() -> None:
    inner = RecordingApp()
    app = BodyLimitMiddleware(inner, LIMITS)
    chunks = [b"x" * 40] * 100  # 4,000 bytes offered, 100 allowed

    sent, pulled = anyio.run(call, app, http_scope("/api/rights", {}), chunks)

    assert sent[-1]["type"] == "raised" and sent[-1]["error"].status_code == 413
    assert pulled == 3  # 40 + 40 + 40 > 100: the third chunk ends it


def test_an_anonymous_upload_to_an_account_route_is_refused_unread() -> None:
    inner = RecordingApp()
    app = BodyLimitMiddleware(inner, LIMITS)

    sent, pulled = anyio.run(
        call, app, http_scope("/api/artworks", {"content-length": "900"}), [b"x" * 900]
    )

    assert sent[0]["status"] == 401 and pulled == 0 and inner.calls == 0


def test_a_body_within_the_limit_reaches_the_route_whole() -> None:
    inner = RecordingApp()
    app = BodyLimitMiddleware(inner, LIMITS)

    scope = http_scope("/api/artworks/batch", {"authorization": "Bearer hm_x"})
    sent, _ = anyio.run(call, app, scope, [b"x" * 2000] * 2)

    assert sent[0]["status"] == 200 and inner.received == 4000


class BlockingApp:
    """An app whose requests wait until released, so that slots stay taken."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.running = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.running += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_admission_answers_503_with_retry_after_when_slots_and_line_are_full() -> None:
    inner = BlockingApp()
    gate = AdmissionMiddleware(inner, slots=2, queued=1, wait_seconds=0.3)
    statuses: dict[str, int] = {}
    headers: dict[str, dict[bytes, bytes]] = {}

    async def one(name: str) -> None:
        sent, _ = await call(gate, http_scope("/api/artworks", {}, "GET"), [b""])
        statuses[name] = sent[0]["status"]
        headers[name] = dict(sent[0]["headers"])

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(one, "first")
            group.start_soon(one, "second")
            await anyio.sleep(0.05)
            group.start_soon(one, "waits-too-long")
            await anyio.sleep(0.05)
            group.start_soon(one, "no-room-in-line")
            await anyio.sleep(0.5)
            inner.release.set()

    anyio.run(scenario)

    assert statuses == {
        "first": 200,
        "second": 200,
        "waits-too-long": 503,
        "no-room-in-line": 503,
    }
    assert headers["no-room-in-line"][b"retry-after"] == b"1"
    assert inner.running == 2


def test_a_waiting_request_is_let_in_when_a_slot_frees() -> None:
    inner = BlockingApp()
    gate = AdmissionMiddleware(inner, slots=1, queued=4, wait_seconds=2.0)
    statuses: list[int] = []

    async def one() -> None:
        sent, _ = await call(gate, http_scope("/api/styles", {}, "GET"), [b""])
        statuses.append(sent[0]["status"])

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(one)
            group.start_soon(one)
            await anyio.sleep(0.1)
            inner.release.set()

    anyio.run(scenario)

    assert statuses == [200, 200]


@pytest.fixture
def served(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_every_response_says_nosniff(served: TestClient) -> None:
    for response in (
        served.get("/api/health"),
        served.get("/api/artworks"),  # 401
        served.get("/static/style.css"),
        served.get("/"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url


@pytest.mark.parametrize(
    "path", ["/api/artworks", "/api/generations", "/api/styles/public", "/api/styles"]
)
def test_an_offset_past_what_a_database_stores_is_a_422(served: TestClient, path: str) -> None:
    headers = sign_up(served, "ana")

    response = served.get(path, params={"offset": 2**63}, headers=headers)

    assert_error(response, 422, "invalid_request")


def test_token_requests_are_rate_limited_even_for_the_right_password(served: TestClient) -> None:
    sign_up(served, "ana")  # one token issued: one attempt used
    for _ in range(9):
        wrong = served.post("/api/tokens", json={"username": "ana", "password": "wrong" * 3})
        assert wrong.status_code == 401

    refused = served.post("/api/tokens", json={"username": "ana", "password": PASSWORD})

    assert_error(refused, 429, "too_many_requests")
    assert int(refused.headers["retry-after"]) >= 1


def test_anonymous_verification_is_rate_limited_per_address(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"verifications_per_minute": 2}))
    with TestClient(app) as client:
        for _ in range(2):
            ok = client.post("/api/verify", files={"file": ("a.png", png_bytes(), "image/png")})
            assert ok.status_code == 200
        refused = client.post("/api/verify", files={"file": ("a.png", png_bytes(), "image/png")})

    assert_error(refused, 429, "too_many_requests")


@pytest.fixture
def session_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engines = migrated_engine("sqlite", tmp_path)
    yield make_session_factory(next(engines))
    next(engines, None)


def test_a_read_only_transaction_refuses_to_write(
    session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(ReadOnlyViolation):
        with transaction(session_factory, read_only=True) as session:
            register_user(session, "ana", PASSWORD)


def test_the_recorder_writes_token_uses_later_and_keeps_them_when_the_write_fails(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        user = register_user(session, "ana", PASSWORD)
        issued = issue_api_token(session, user, "ci", valid_days=1)
        token_id = issued.record.id
    with transaction(session_factory, read_only=True) as session:
        holder = authenticate_token(session, issued.token)
    broken = TokenUseRecorder(sessionmaker())  # bound to nothing: every write fails
    broken.note(holder)
    assert broken.flush() == 0

    recorder = TokenUseRecorder(session_factory)
    recorder._pending = broken._pending  # what failed is still there to write
    assert recorder.flush() == 1

    with transaction(session_factory, read_only=True) as session:
        stored = session.get(ApiToken, token_id)
        assert stored is not None and stored.last_used_at == holder.used_at


def test_a_csrf_cookie_is_worth_nothing_in_another_session() -> None:
    secret = "s" * 40
    planted = new_csrf_cookie(secret, None)  # set before the victim signed in
    token = csrf_token_from_cookie(secret, planted, None)

    assert csrf_matches(secret, planted, token, None)
    assert not csrf_matches(secret, planted, token, "the-victims-session")
    assert csrf_token_from_cookie(secret, planted, "the-victims-session") is None
