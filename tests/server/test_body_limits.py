"""Oversized bodies are refused from their first bytes, not after they were read and spooled.

A declared Content-Length over the limit gets 413 before the body is read (nothing spooled to
disk); a chunked body, which declares nothing, is cut once it passes the limit. The limit is
set to 1 MiB here so that the bodies stay small; the HTTP layer is the same on both databases,
so these run on SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.harness import Launch, RawAnswer, Server, open_files_under, send_streaming

LIMIT = 1024 * 1024
DECLARED = 1024**3  # 1 GiB
BOUNDARY = "hallmark-test-boundary"
SENT_BEFORE_WAITING = 4 * LIMIT  # past Starlette's 1 MiB in-memory spool: a reader would spill


@pytest.fixture(scope="module")
def small_limit(module_launch: Launch) -> Server:
    """A server whose uploads are limited to 1 MiB."""
    return module_launch("sqlite", HALLMARK_MAX_UPLOAD_BYTES=str(LIMIT))


@pytest.fixture(scope="module")
def ana(small_limit: Server) -> dict[str, str]:
    """A signed-in uploader's Authorization header."""
    return small_limit.sign_up("ana")


def multipart_start(filename: str = "big.jpg") -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + b"\xff\xd8\xff\xe0"


def request_head(path: str, port: int, *, extra: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in extra.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def body_chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A well-formed multipart body whose one file has `total` bytes, in pieces."""
    yield multipart_start()
    for _ in range(total // size):
        yield b"\x00" * size
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def error_code(answer: RawAnswer) -> str | None:
    try:
        return str(json.loads(answer.body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def spooled_files(server: Server) -> list[str]:
    """Temp files the server holds open or left in its TMPDIR (where request bodies spill)."""
    assert server.process is not None
    left = [str(path) for path in Path(server.tmp_dir).rglob("*") if path.is_file()]
    return open_files_under(server.process.pid, server.tmp_dir) + left


@pytest.mark.parametrize(
    ("path", "authenticated"), [("/api/verify", False), ("/api/artworks", True)]
)
def test_a_declared_1_gib_body_is_refused_in_half_a_second_with_nothing_spooled(
    small_limit: Server, ana: dict[str, str], path: str, authenticated: bool
) -> None:
    extra = {"Content-Length": str(DECLARED)} | (ana if authenticated else {})
    seen_open: list[str] = []

    answer = send_streaming(
        small_limit.port,
        request_head(path, small_limit.port, extra=extra),
        body_chunks(SENT_BEFORE_WAITING),
        deadline=3.0,
        before_close=lambda: seen_open.extend(spooled_files(small_limit)),
    )

    problems = []
    if answer.status != 413 or error_code(answer) != "payload_too_large":
        problems.append(
            f"no 413 payload_too_large within {answer.seconds:.2f} s of the headers (status "
            f"{answer.status}, {answer.body_bytes_sent} body bytes taken): {answer.body[:200]!r}"
        )
    elif answer.seconds >= 0.5:
        problems.append(f"the 413 came {answer.seconds:.2f} s after the headers")
    if seen_open:
        problems.append(f"the refused body was spooled to disk: {seen_open}")
    assert not problems, "; ".join(problems)


def test_a_chunked_body_is_cut_at_the_limit(small_limit: Server) -> None:
    total = 64 * LIMIT

    def chunked() -> Iterator[bytes]:
        for piece in body_chunks(total):
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        yield b"0\r\n\r\n"

    answer = send_streaming(
        small_limit.port,
        request_head("/api/verify", small_limit.port, extra={"Transfer-Encoding": "chunked"}),
        chunked(),
        deadline=60.0,
    )

    problems = []
    if answer.status != 413 or error_code(answer) != "payload_too_large":
        problems.append(f"status {answer.status}, not 413 payload_too_large: {answer.body[:200]!r}")
    if answer.body_finished:
        problems.append(
            f"the server took the whole {total >> 20} MiB body before answering a "
            f"{LIMIT >> 20} MiB-limited upload"
        )
    # What a loopback connection buffers aside, the server must stop reading near the limit.
    elif answer.body_bytes_sent >= total // 2:
        problems.append(f"{answer.body_bytes_sent >> 20} MiB were taken before the answer")
    assert not problems, "; ".join(problems)
