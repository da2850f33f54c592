"""The edits a copier makes to a work: re-encoded, resized, cropped, turned, recoloured, captioned.

The copy guard is measured and tested against these (bench/near_copy_eval.py, tests/similarity),
and the demo uses one to show a copied upload being refused.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance

Edit = Callable[[Image.Image], Image.Image]


def reencode_jpeg(image: Image.Image, quality: int = 60) -> Image.Image:
    """The image after a lossy JPEG round trip."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def centre_crop(fraction: float) -> Edit:
    """An edit that cuts `fraction` of the width and height away, half from each side."""

    def crop(image: Image.Image) -> Image.Image:
        width, height = image.size
        dx, dy = int(width * fraction / 2), int(height * fraction / 2)
        return image.crop((dx, dy, width - dx, height - dy))

    return crop


def corner_crop(fraction: float) -> Edit:
    """An edit that cuts `fraction` of the width and height away from the top-left corner."""

    def crop(image: Image.Image) -> Image.Image:
        width, height = image.size
        return image.crop((int(width * fraction), int(height * fraction), width, height))

    return crop


def overlay_banner(image: Image.Image) -> Image.Image:
    """The image with a dark advertising banner over its bottom fifth."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    width, height = out.size
    draw.rectangle((0, int(height * 0.8), width, height), fill=(20, 20, 20))
    draw.text((8, int(height * 0.83)), "@copycat  SALE  50% OFF", fill=(255, 255, 255))
    return out


def shift_colours(image: Image.Image) -> Image.Image:
    """The image brightened by 15% and saturated by 40%."""
    return ImageEnhance.Color(ImageEnhance.Brightness(image).enhance(1.15)).enhance(1.4)


COPY_EDITS: dict[str, Edit] = {
    "re-encode": reencode_jpeg,
    "resize-50%": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "mirror": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "crop-5%": centre_crop(0.05),
    "crop-10%": centre_crop(0.10),
    "crop-20%": corner_crop(0.20),
    "crop-30%": corner_crop(0.30),
    "rotate-90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "rotate-5deg": lambda im: im.rotate(5, resample=Image.Resampling.BICUBIC, expand=False),
    "colour-shift": shift_colours,
    "overlay-text": overlay_banner,
}
# The edits the guard promises to catch at recall >= 0.95 and precision >= 0.99.
TARGET_EDITS = frozenset({"re-encode", "resize-50%", "mirror", "crop-5%", "crop-10%", "crop-20%"})
