"""inspect_image accepts whole PNG, JPEG and WebP files within the limits and refuses the rest."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib

import pytest
from PIL import Image

from hallmark.artworks.images import ImageInfo, inspect_image, make_thumbnail
from hallmark.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

MAX_BYTES = 1024 * 1024
MAX_PIXELS = 4_000_000
MIN_SIDE = 32


def inspect(data: bytes) -> ImageInfo:
    """inspect_image with the limits these tests use."""
    return inspect_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, min_side=MIN_SIDE)


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    """The image saved in the given format, in memory."""
    out = io.BytesIO()
    image.save(out, format=image_format, **params)
    return out.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """An incompressible image, so its files have realistic lengths and decode work."""
    bands = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * bands))


def png_declaring(width: int, height: int) -> bytes:
    """A real small PNG whose IHDR is patched to declare other dimensions, with a valid CRC."""
    data = bytearray(encode(Image.new("L", (40, 40)), "PNG"))
    assert data[12:16] == b"IHDR"
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """A real small lossless WebP whose VP8L header is patched to declare other dimensions."""
    data = bytearray(encode(Image.new("RGB", (40, 40)), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
    bits |= (width - 1) | ((height - 1) << 14)
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize(
    ("image_format", "mode", "mime", "params"),
    [
        ("PNG", "RGBA", "image/png", {}),
        ("JPEG", "RGB", "image/jpeg", {"quality": 90}),
        ("WEBP", "RGB", "image/webp", {"quality": 80}),
        ("WEBP", "RGBA", "image/webp", {"lossless": True}),
    ],
)
def test_accepted_formats_are_described(
    image_format: str, mode: str, mime: str, params: dict[str, object]
) -> None:
    data = encode(noise((120, 80), mode), image_format, **params)

    info = inspect(data)

    assert info == ImageInfo(
        mime=mime,
        format=image_format,
        width=120,
        height=80,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_empty_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match="^the file is empty$") as refusal:
        inspect(b"")
    assert type(refusal.value) is InvalidInput


def test_file_over_max_bytes_is_refused_with_the_limit_in_megabytes() -> None:
    data = encode(noise((700, 700)), "PNG")
    assert len(data) > MAX_BYTES

    with pytest.raises(PayloadTooLarge, match=r"the file is 1\.\d+ MB; the limit is 1 MB"):
        inspect(data)


@pytest.mark.parametrize(
    "data",
    [
        b"just some notes, not a picture\n" * 10,
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" * 5,
        b"\x00" * 1000,
    ],
    ids=["text", "pdf", "zeros"],
)
def test_files_that_are_not_images_are_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType, match="the file is not an image.*PNG, JPEG, WEBP"):
        inspect(data)


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_images_in_formats_not_accepted_are_refused_by_name(image_format: str) -> None:
    data = encode(noise((64, 64)), image_format)

    with pytest.raises(UnsupportedMediaType, match=f"^{image_format} images are not accepted"):
        inspect(data)


@pytest.mark.parametrize(
    ("image_format", "params"),
    [("PNG", {}), ("JPEG", {"quality": 90}), ("WEBP", {"quality": 80})],
)
def test_image_cut_in_half_is_refused_as_truncated(
    image_format: str, params: dict[str, object]
) -> None:
    data = encode(noise((200, 200)), image_format, **params)

    with pytest.raises(InvalidInput, match="^the image is truncated or corrupt$"):
        inspect(data[: len(data) // 2])


def test_png_with_a_damaged_header_is_refused_as_corrupt() -> None:
    data = bytearray(encode(noise((64, 64)), "PNG"))
    data[20] ^= 0xFF  # inside IHDR, so its CRC no longer matches

    with pytest.raises(InvalidInput, match="^the image is truncated or corrupt$"):
        inspect(bytes(data))


def test_png_declaring_more_pixels_than_allowed_is_refused_before_decoding() -> None:
    data = png_declaring(20_000, 20_000)
    assert len(data) < 1000

    with pytest.raises(PayloadTooLarge, match=r"20000x20000 .*the limit is 4,000,000 pixels"):
        inspect(data)


def test_webp_declaring_more_pixels_than_allowed_is_refused_before_opening() -> None:
    data = webp_declaring(16_000, 16_000)

    with pytest.raises(PayloadTooLarge, match=r"16000x16000 .*the limit is 4,000,000 pixels"):
        inspect(data)


def test_real_image_just_over_max_pixels_is_refused() -> None:
    data = encode(Image.new("L", (2001, 2000)), "PNG")
    assert len(data) < MAX_BYTES

    with pytest.raises(PayloadTooLarge, match=r"2001x2000"):
        inspect(data)
    assert inspect(encode(Image.new("L", (2000, 2000)), "PNG")).width == 2000


def test_pillow_global_pixel_limit_is_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS

    with pytest.raises(PayloadTooLarge):
        inspect(png_declaring(20_000, 20_000))

    assert Image.MAX_IMAGE_PIXELS == before


@pytest.mark.parametrize("size", [(31, 100), (100, 31), (8, 8)])
def test_image_with_a_side_below_min_side_is_refused(size: tuple[int, int]) -> None:
    data = encode(noise(size), "PNG")

    with pytest.raises(InvalidInput, match="each side must be at least 32 pixels") as refusal:
        inspect(data)
    assert type(refusal.value) is InvalidInput
    assert f"{size[0]}x{size[1]}" in refusal.value.message


def test_min_side_exactly_is_accepted() -> None:
    assert inspect(encode(noise((32, 32)), "PNG")).width == 32


def test_thumbnail_is_a_png_within_max_side_keeping_the_aspect_ratio() -> None:
    data = encode(noise((400, 200)), "JPEG")

    thumbnail = make_thumbnail(data, max_side=100)

    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "PNG"
        assert image.size == (100, 50)
        assert image.mode == "RGB"


def test_thumbnail_keeps_transparency() -> None:
    data = encode(Image.new("RGBA", (300, 300), (255, 0, 0, 128)), "PNG")

    with Image.open(io.BytesIO(make_thumbnail(data))) as image:
        assert image.size == (256, 256)
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0)) == (255, 0, 0, 128)
