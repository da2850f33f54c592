"""The plain layout: a scene painted in flat fills, with a label per drawn part and its rain."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from hallmark.samples.scenes.canvas import GROUND_LABEL, SKY_LABEL, Canvas
from hallmark.samples.scenes.drawers import draw_item
from hallmark.samples.scenes.world import HORIZON, RGB, Kind, Scene, ground_colour, sky_gradient

_RAIN: RGB = (205, 215, 235)


@dataclass(frozen=True)
class Layers:
    """A scene painted plainly: colours, a label per drawn part, and the rain streaks' opacity."""

    rgb: NDArray[np.uint8]  # (size, size, 3) without rain
    labels: NDArray[np.int32]  # (size, size): 0 sky, 1 land, then one label per drawn part
    rain: NDArray[np.float32]  # (size, size) in [0, 1]: how much rain covers each pixel
    kinds: dict[int, Kind]  # which kind each part label belongs to

    def composite(self) -> NDArray[np.uint8]:
        """Colours with the rain drawn over them."""
        if not self.rain.any():
            return self.rgb
        alpha = self.rain[..., None]
        mixed: NDArray[np.float32] = (
            self.rgb * (1.0 - alpha) + np.asarray(_RAIN, np.float32) * alpha
        )
        return mixed.round().astype(np.uint8)


def _stable_seed(scene: Scene) -> int:
    """A seed for the scene's rain that depends on nothing but the scene."""
    return int.from_bytes(hashlib.sha256(repr(scene).encode()).digest()[:8], "big")


def paint_layers(scene: Scene, size: int = 256) -> Layers:
    """Paint a scene plainly at size x size pixels, keeping a label for every drawn part."""
    if not 16 <= size <= 4096:
        raise ValueError(f"size must be between 16 and 4096 pixels, got {size}")
    # 1. Sky gradient above the horizon, flat land below it.
    ys = (np.arange(size, dtype=np.float32) + 0.5) / size
    top, bottom = (np.asarray(c, np.float32) for c in sky_gradient(scene.time, scene.weather))
    t = np.clip(ys / HORIZON, 0.0, 1.0)[:, None]
    column = top + (bottom - top) * t
    land = ys >= HORIZON
    column[land] = np.asarray(ground_colour(scene.time), np.float32)
    rgb = np.repeat(column.round().astype(np.uint8)[:, None, :], size, axis=1)
    labels = np.where(land, GROUND_LABEL, SKY_LABEL).astype(np.int32)[:, None].repeat(size, 1)
    # 2. The objects, back to front.
    canvas = Canvas(np.ascontiguousarray(rgb), np.ascontiguousarray(labels))
    for obj in scene.objects:
        for box in obj.boxes:
            draw_item(canvas, obj, box)
    # 3. Rain streaks, as an opacity layer the artists may paint their own way.
    rain = np.zeros((size, size), np.float32)
    if scene.weather == "rainy":
        rng = random.Random(_stable_seed(scene))
        rain_image = Image.new("L", (size, size), 0)
        rain_draw = ImageDraw.Draw(rain_image)
        width = max(1, size // 180)
        for _ in range(70):
            x, y = rng.uniform(-0.05, 1.05), rng.uniform(-0.05, 1.0)
            rain_draw.line(
                [(x * size, y * size), ((x - 0.02) * size, (y + 0.07) * size)],
                fill=150,
                width=width,
            )
        rain = np.asarray(rain_image, np.float32) / 255.0
    return Layers(
        rgb=np.asarray(canvas.image, np.uint8),
        labels=np.asarray(canvas.label_image, np.int32),
        rain=rain,
        kinds=canvas.kinds,
    )


def render_layout(scene: Scene, size: int = 256) -> Image.Image:
    """The scene drawn plainly in flat fills: the world a base model learns."""
    return Image.fromarray(paint_layers(scene, size).composite(), "RGB")
