"""The surface scenes are drawn on: a colour image and a label image painted in step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from hallmark.samples.scenes.world import RGB, Box, Kind

SKY_LABEL = 0
GROUND_LABEL = 1


class Canvas:
    """Draws parts into a colour image and a label image at once."""

    def __init__(self, rgb: NDArray[np.uint8], labels: NDArray[np.int32]) -> None:
        self.size = rgb.shape[0]
        self.image = Image.fromarray(rgb, "RGB")
        self.label_image = Image.fromarray(labels, "I")
        self.draw = ImageDraw.Draw(self.image)
        self.label_draw = ImageDraw.Draw(self.label_image)
        self.kinds: dict[int, Kind] = {}
        self._next = GROUND_LABEL + 1

    def part(self, kind: Kind) -> int:
        """A new label for one drawn part of an item of this kind."""
        label = self._next
        self._next += 1
        self.kinds[label] = kind
        return label

    def px(self, points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        """Normalised points in pixels."""
        return [(x * self.size, y * self.size) for x, y in points]

    def polygon(self, points: Sequence[tuple[float, float]], rgb: RGB, label: int) -> None:
        """A filled polygon through normalised points."""
        xy = self.px(points)
        self.draw.polygon(xy, fill=rgb)
        self.label_draw.polygon(xy, fill=label)

    def ellipse(self, box: Box, rgb: RGB, label: int) -> None:
        """A filled ellipse inside a normalised box."""
        xy = self.pixel_box(box)
        self.draw.ellipse(xy, fill=rgb)
        self.label_draw.ellipse(xy, fill=label)

    def rectangle(self, box: Box, rgb: RGB, label: int) -> None:
        """A filled normalised box."""
        xy = self.pixel_box(box)
        self.draw.rectangle(xy, fill=rgb)
        self.label_draw.rectangle(xy, fill=label)

    def line(
        self, points: Sequence[tuple[float, float]], rgb: RGB, label: int, width: float
    ) -> None:
        """A line through normalised points, `width` a fraction of the picture (at least 1 px)."""
        xy = self.px(points)
        w = max(1, round(width * self.size))
        self.draw.line(xy, fill=rgb, width=w)
        self.label_draw.line(xy, fill=label, width=w)

    def masked(self, mask: Image.Image, rgb: RGB, label: int) -> None:
        """Fill wherever a full-size mask is set."""
        self.image.paste(rgb, (0, 0), mask)
        self.label_image.paste(label, (0, 0), mask)

    def pixel_box(self, box: Box) -> tuple[float, float, float, float]:
        """A normalised box in pixels, as PIL's inclusive corners."""
        x0, y0, x1, y1 = (v * self.size for v in box)
        return (x0, y0, max(x1 - 1, x0), max(y1 - 1, y0))


def shade(rgb: RGB, factor: float) -> RGB:
    """A darker shade of a colour (factor < 1)."""
    return (round(rgb[0] * factor), round(rgb[1] * factor), round(rgb[2] * factor))


def tint(rgb: RGB, amount: float) -> RGB:
    """A colour mixed with white by `amount`."""
    return (
        round(rgb[0] + (255 - rgb[0]) * amount),
        round(rgb[1] + (255 - rgb[1]) * amount),
        round(rgb[2] + (255 - rgb[2]) * amount),
    )
