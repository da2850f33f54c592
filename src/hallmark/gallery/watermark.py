"""Watermarked previews: a downscaled copy with a diagonal, repeated, semi-opaque notice.

The clean file is served only to its owner or under a license (generations' download path);
everyone else browsing the gallery sees this copy. Previews are computed once per stored file
and kept on disk under the data directory, named by the SHA-256 of the file they were made from.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WATERMARK_TEXT = "HALLMARK PREVIEW · licence to use"
PREVIEW_MAX_SIDE = 512
PREVIEW_MIME = "image/jpeg"
# Raised whenever the drawing changes, so that previews cached by an older drawing are not served.
WATERMARK_VERSION = 1
# How opaque the notice is (0-255): legible on any picture, the picture still visible through it.
TEXT_ALPHA = 150
OUTLINE_ALPHA = 110
ANGLE_DEGREES = 30
MAX_SOURCE_PIXELS = 64_000_000


def watermarked_preview(image_bytes: bytes, *, max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    """A JPEG no larger than `max_side` on its longer side, the notice drawn across it."""
    with Image.open(io.BytesIO(image_bytes)) as source:
        if source.width * source.height > MAX_SOURCE_PIXELS:
            raise ValueError("the image is too large to preview")
        picture = source.convert("RGB")
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    marked = Image.alpha_composite(picture.convert("RGBA"), notice_layer(picture.size))
    buffer = io.BytesIO()
    marked.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def notice_layer(size: tuple[int, int]) -> Image.Image:
    """A transparent layer of `size` with the notice in diagonal rows covering all of it."""
    width, height = size
    font_size = max(9, min(width, height) // 14)
    font = ImageFont.load_default(size=font_size)
    # Drawn level on a square big enough to cover the picture at any angle, then turned.
    side = int((width**2 + height**2) ** 0.5) + 2 * font_size
    layer = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = draw.textbbox((0, 0), WATERMARK_TEXT, font=font)
    step_x = int(right - left) + 2 * font_size
    step_y = int(bottom - top) * 3
    for row, y in enumerate(range(-step_y, side, step_y)):
        offset = (row % 2) * step_x // 2  # stagger the rows like bricks
        for x in range(-step_x + offset, side, step_x):
            draw.text(
                (x, y),
                WATERMARK_TEXT,
                font=font,
                fill=(255, 255, 255, TEXT_ALPHA),
                stroke_width=max(1, font_size // 12),
                stroke_fill=(0, 0, 0, OUTLINE_ALPHA),
            )
    turned = layer.rotate(ANGLE_DEGREES, resample=Image.Resampling.BICUBIC)
    x0, y0 = (side - width) // 2, (side - height) // 2
    return turned.crop((x0, y0, x0 + width, y0 + height))


class PreviewCache:
    """Watermarked previews on disk, one file per source SHA-256 and watermark version."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, sha256: str) -> Path:
        """Where the preview of the file with this hash is kept."""
        return self.directory / sha256[:2] / f"{sha256}-w{WATERMARK_VERSION}.jpg"

    def get_or_make(self, sha256: str, read_source: Callable[[], bytes]) -> bytes:
        """The cached preview, or one made now from the source's bytes and kept."""
        path = self.path_for(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        preview = watermarked_preview(read_source())
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside its final name and renamed: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(preview)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return preview
