"""Inspection of uploaded image bytes before anything is stored: format, size, integrity."""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps
from PIL.JpegImagePlugin import JpegImageFile
from PIL.PngImagePlugin import PngImageFile
from PIL.WebPImagePlugin import WebPImageFile

from hallmark.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}

_READERS: dict[str, type[ImageFile.ImageFile]] = {
    "PNG": PngImageFile,
    "JPEG": JpegImageFile,
    "WEBP": WebPImageFile,
}
_ACCEPTED_NAMES = ", ".join(ACCEPTED_FORMATS)
_MEGABYTE = 1024 * 1024
# What Pillow raises on a damaged file while reading its header or decoding its pixels.
_CORRUPT_IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


@dataclass(frozen=True)
class ImageInfo:
    """What an accepted upload is: its media type, dimensions, length and content hash."""

    mime: str
    format: str
    width: int
    height: int
    size_bytes: int
    sha256: str


def inspect_image(data: bytes, *, max_bytes: int, max_pixels: int, min_side: int) -> ImageInfo:
    """Describe the bytes if they are a whole PNG, JPEG or WebP within the limits; else refuse."""
    # 1. The length, before any parser sees the bytes.
    if not data:
        raise InvalidInput("the file is empty")
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"the file is {_human_size(len(data))}; the limit is {_human_size(max_bytes)}"
        )

    # 2. The format, from the leading bytes (never the filename or the client's content type).
    image_format = _sniff_accepted_format(data)
    if image_format is None:
        found = _identify_format(data)
        if found is None:
            raise UnsupportedMediaType(f"the file is not an image (accepted: {_ACCEPTED_NAMES})")
        raise UnsupportedMediaType(f"{found} images are not accepted (accepted: {_ACCEPTED_NAMES})")

    # 3. The dimensions, from the header, before any pixel data is decoded; then 4. a full decode,
    # so a truncated or corrupt file is refused now rather than when someone first views it.
    declared = _declared_webp_size(data) if image_format == "WEBP" else None
    if declared is not None:
        _check_pixels(*declared, max_pixels=max_pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _READERS[image_format](io.BytesIO(data)) as image:
                width, height = image.size
                _check_pixels(width, height, max_pixels=max_pixels)
                _check_sides(width, height, min_side=min_side)
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PayloadTooLarge(
                f"the image has too many pixels; the limit is {max_pixels:,} pixels"
            ) from exc
        except _CORRUPT_IMAGE_ERRORS as exc:
            raise InvalidInput("the image is truncated or corrupt") from exc

    return ImageInfo(
        mime=ACCEPTED_FORMATS[image_format],
        format=image_format,
        width=width,
        height=height,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def make_thumbnail(data: bytes, max_side: int = 256) -> bytes:
    """An upright PNG at most max_side on each side, for listing pages, of an inspected image."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    with Image.open(io.BytesIO(data)) as image:
        # Shrinking the still-undecoded image lets JPEG decode at a reduced scale.
        image.thumbnail((max_side, max_side))
        upright = ImageOps.exif_transpose(image)
    converted = upright.convert("RGBA" if upright.has_transparency_data else "RGB")
    out = io.BytesIO()
    converted.save(out, format="PNG")
    return out.getvalue()


def sniff_mime(data: bytes) -> str | None:
    """The media type the leading bytes announce, if it is an accepted format (no decoding)."""
    image_format = _sniff_accepted_format(data)
    return ACCEPTED_FORMATS[image_format] if image_format else None


def _sniff_accepted_format(data: bytes) -> str | None:
    """Which accepted format the leading bytes announce, if any."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _identify_format(data: bytes) -> str | None:
    """Pillow's name for a refused file's format, to say what was uploaded; None if unknown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.format
        # The file is refused whatever happens here; any failure only means it has no name.
        except Exception:
            return None


def _declared_webp_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP header declares, read by hand: Pillow allocates the canvas on open."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _check_pixels(width: int, height: int, *, max_pixels: int) -> None:
    """Refuse an image whose pixel count would make decoding it a memory bomb."""
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"the image is {width}x{height} ({width * height:,} pixels); "
            f"the limit is {max_pixels:,} pixels"
        )


def _check_sides(width: int, height: int, *, min_side: int) -> None:
    """Refuse an image too small to teach a style anything."""
    if min(width, height) < min_side:
        raise InvalidInput(
            f"the image is {width}x{height}; each side must be at least {min_side} pixels"
        )


def _human_size(size: int) -> str:
    """A byte count in MB, or KB below one MB, with at most two decimals: 52428800 -> '50 MB'."""
    if size < _MEGABYTE:
        return f"{size / 1024:,.2f}".rstrip("0").rstrip(".") + " KB"
    return f"{size / _MEGABYTE:,.2f}".rstrip("0").rstrip(".") + " MB"
