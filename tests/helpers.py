"""Small builders the tests share: images made in memory (never binary fixtures), API calls."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image


def png_bytes(seed: int = 0, size: tuple[int, int] = (64, 64)) -> bytes:
    """A small PNG whose pixels depend on `seed`, so different seeds give different files."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    image.putpixel((seed % size[0], 0), (255 - (seed % 256), 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (64, 64)) -> bytes:
    """A small JPEG whose pixels depend on `seed`."""
    image = Image.new("RGB", size, ((seed * 17) % 256, 120, (seed * 29) % 256))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


PASSWORD = "correct horse battery"


def sign_up(client: TestClient, username: str) -> dict[str, str]:
    """Register a user and return the Authorization header of a fresh token."""
    created = client.post("/api/users", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = client.post("/api/tokens", json={"username": username, "password": PASSWORD})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['token']}"}


def upload(client: TestClient, headers: dict[str, str], data: bytes, **form: Any) -> Any:
    """Upload one file as `art.png`, attesting rights unless told otherwise."""
    fields = {"attest_rights": "true", **form}
    return client.post(
        "/api/artworks", headers=headers, files={"file": ("art.png", data)}, data=fields
    )


def assert_error(response: Any, status: int, code: str, rule: str | None = None) -> None:
    """Every error has the same shape: {"error": {"code", "message", "rule"}}."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["rule"] == rule


def png_with_one_pixel_changed(data: bytes) -> bytes:
    """The PNG with one byte of its first row's pixels changed and every other chunk kept as is.

    Recompresses the image data and rewrites the IDAT chunk with a correct CRC, so the file still
    decodes: a change to the picture, not damage to the file.
    """
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks.append((kind, data[position + 8 : position + 8 + length]))
        position += 12 + length
    raw = bytearray(zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT")))
    raw[1] ^= 0x40  # byte 0 of a row is its filter type; byte 1 is the first pixel's red
    out, written = [data[:8]], False
    for kind, body in chunks:
        if kind == b"IDAT":
            if written:
                continue
            body, written = zlib.compress(bytes(raw)), True
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc))
    return b"".join(out)
