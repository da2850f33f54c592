"""Small builders the tests share: images made in memory, never binary fixtures."""

from __future__ import annotations

import io

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
