"""Small builders the tests share: images made in memory (never binary fixtures), API calls."""

from __future__ import annotations

import io
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
