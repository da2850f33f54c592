"""One drawer per kind: an item drawn from flat shapes in shades of its named colour.

Every drawer takes a label from the canvas for each part it draws, in drawing order, so the
label image tells the parts apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PIL import Image, ImageDraw

from hallmark.samples.scenes.canvas import Canvas, shade, tint
from hallmark.samples.scenes.world import PALETTE, RGB, Box, Kind, SceneObject

Drawer = Callable[[Canvas, SceneObject, Box], None]

_SKIN: RGB = (224, 180, 140)


def _draw_sun(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """A disc; variant 1 adds eight rays."""
    rgb, label = PALETTE[obj.colour], canvas.part("sun")
    x0, y0, x1, y1 = box
    w, xc = x1 - x0, (x0 + x1) / 2
    if obj.variant:
        r, cy = w / 2, (y0 + y1) / 2
        for k in range(8):
            a = k * math.pi / 4 + math.pi / 8
            p = (xc + math.cos(a) * r * 1.2, cy + math.sin(a) * r * 1.2)
            q = (xc + math.cos(a) * r * 1.55, cy + math.sin(a) * r * 1.55)
            canvas.line((p, q), rgb, label, r * 0.18)
    canvas.ellipse(box, rgb, label)


def _draw_moon(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """A full disc; variant 1 a crescent."""
    rgb, label = PALETTE[obj.colour], canvas.part("moon")
    if not obj.variant:
        canvas.ellipse(box, rgb, label)
        return
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    mask = Image.new("L", (canvas.size, canvas.size), 0)
    mask_draw = ImageDraw.Draw(mask)
    mask_draw.ellipse(canvas.pixel_box(box), fill=255)
    dx, dy = w * 0.38, -h * 0.12
    mask_draw.ellipse(canvas.pixel_box((x0 + dx, y0 + dy, x1 + dx, y1 + dy)), fill=0)
    canvas.masked(mask, rgb, label)


def _draw_cloud(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """Three overlapping puffs."""
    rgb, label = PALETTE[obj.colour], canvas.part("cloud")
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    canvas.ellipse((x0, y0 + 0.4 * h, x1, y1), rgb, label)
    canvas.ellipse((x0 + 0.1 * w, y0 + 0.15 * h, x0 + 0.55 * w, y1 - 0.1 * h), rgb, label)
    canvas.ellipse((x0 + 0.35 * w, y0, x0 + 0.85 * w, y1 - 0.2 * h), rgb, label)


def _draw_bird(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """Two wings and a body; variant 1 holds its wings lower."""
    rgb, label = PALETTE[obj.colour], canvas.part("bird")
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    t = h * 0.45
    tip_y = y0 + h * 0.15 if obj.variant else y0
    points = [
        (x0, tip_y),
        (xc, y1 - t),
        (x1, tip_y),
        (x1, tip_y + t * 0.8),
        (xc, y1),
        (x0, tip_y + t * 0.8),
    ]
    canvas.polygon(points, rgb, label)
    canvas.ellipse((xc - w * 0.08, y1 - t * 1.3, xc + w * 0.08, y1), rgb, label)


def _draw_mountain(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """One peak; variant 1 a ridge with a lower shoulder."""
    rgb, label = PALETTE[obj.colour], canvas.part("mountain")
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    if obj.variant:
        points = [
            (x0, y1),
            (x0 + 0.3 * w, y0 + 0.25 * h),
            (x0 + 0.45 * w, y0 + 0.45 * h),
            (x0 + 0.68 * w, y0),
            (x1, y1),
        ]
    else:
        points = [(x0, y1), (xc, y0), (x1, y1)]
    canvas.polygon(points, rgb, label)


def _draw_hill(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """The top half of an ellipse rising from the bottom of its box."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    canvas.ellipse((x0, y0, x1, y0 + 2 * h), PALETTE[obj.colour], canvas.part("hill"))


def _draw_sea(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """A flat band with three rows of lighter wave strokes."""
    rgb, label = PALETTE[obj.colour], canvas.part("sea")
    _, y0, _, y1 = box
    h = y1 - y0
    canvas.rectangle(box, rgb, label)
    wave = tint(rgb, 0.3)
    for k in range(3):
        y = y0 + h * (0.25 + 0.25 * k)
        for j in range(4):
            start = (j + 0.15 * k) / 4 + 0.03
            canvas.line(((start, y), (start + 0.08, y)), wave, label, 0.008)


def _draw_road(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """A road narrowing to the horizon; the variant says where it meets it (left to right)."""
    x0, y0, x1, y1 = box
    w = x1 - x0
    tip = x0 + w * (0.25, 0.5, 0.75)[obj.variant]
    points = [(x0, y1), (tip - 0.008, y0), (tip + 0.008, y0), (x1, y1)]
    canvas.polygon(points, PALETTE[obj.colour], canvas.part("road"))


def _draw_house(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """Walls, roof, door and two windows; variant 1 has its door to the right and one window."""
    rgb = PALETTE[obj.colour]
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    roof_y = y0 + 0.42 * h
    canvas.rectangle((x0, roof_y, x1, y1), rgb, canvas.part("house"))
    roof = [(x0 - 0.08 * w, roof_y), (xc, y0), (x1 + 0.08 * w, roof_y)]
    canvas.polygon(roof, shade(rgb, 0.6), canvas.part("house"))
    door_x = xc if obj.variant == 0 else x0 + 0.7 * w
    door = (door_x - 0.11 * w, y1 - 0.34 * h, door_x + 0.11 * w, y1)
    canvas.rectangle(door, shade(rgb, 0.45), canvas.part("house"))
    window = tint(rgb, 0.55)
    canvas.rectangle(
        (x0 + 0.12 * w, roof_y + 0.12 * h, x0 + 0.34 * w, roof_y + 0.3 * h),
        window,
        canvas.part("house"),
    )
    if obj.variant == 0:
        canvas.rectangle(
            (x1 - 0.34 * w, roof_y + 0.12 * h, x1 - 0.12 * w, roof_y + 0.3 * h),
            window,
            canvas.part("house"),
        )


def _draw_tree(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """A brown trunk under a round crown; variant 1 a pointed one."""
    rgb = PALETTE[obj.colour]
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    trunk = shade(PALETTE["brown"], 0.85)
    canvas.rectangle((xc - 0.1 * w, y0 + 0.55 * h, xc + 0.1 * w, y1), trunk, canvas.part("tree"))
    if obj.variant:
        canvas.polygon([(x0, y0 + 0.8 * h), (xc, y0), (x1, y0 + 0.8 * h)], rgb, canvas.part("tree"))
    else:
        canvas.ellipse((x0, y0, x1, y0 + 0.68 * h), rgb, canvas.part("tree"))


def _draw_person(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """Two legs, a torso in the named colour and a head."""
    rgb = PALETTE[obj.colour]
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    legs = shade(rgb, 0.45)
    canvas.rectangle((x0 + 0.12 * w, y0 + 0.6 * h, xc - 0.04 * w, y1), legs, canvas.part("person"))
    canvas.rectangle((xc + 0.04 * w, y0 + 0.6 * h, x1 - 0.12 * w, y1), legs, canvas.part("person"))
    torso = [(x0 + 0.1 * w, y0 + 0.24 * h), (x1 - 0.1 * w, y0 + 0.24 * h)]
    torso += [(x1, y0 + 0.64 * h), (x0, y0 + 0.64 * h)]
    canvas.polygon(torso, rgb, canvas.part("person"))
    canvas.ellipse((xc - 0.36 * w, y0, xc + 0.36 * w, y0 + 0.24 * h), _SKIN, canvas.part("person"))


def _draw_boat(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """A mast, a sail and a hull; variant 1 adds a second sail."""
    rgb = PALETTE[obj.colour]
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    deck = y0 + 0.65 * h
    hull = [(x0, deck), (x1, deck), (x1 - 0.15 * w, y1), (x0 + 0.15 * w, y1)]
    mast = xc - 0.05 * w
    canvas.line(((mast, y0), (mast, deck)), shade(rgb, 0.5), canvas.part("boat"), 0.006)
    sail = tint(rgb, 0.45)
    canvas.polygon(
        [
            (mast + 0.03 * w, y0),
            (mast + 0.03 * w, deck - 0.06 * h),
            (x1 - 0.1 * w, deck - 0.06 * h),
        ],
        sail,
        canvas.part("boat"),
    )
    if obj.variant:
        canvas.polygon(
            [
                (mast - 0.03 * w, y0 + 0.15 * h),
                (mast - 0.03 * w, deck - 0.06 * h),
                (x0 + 0.15 * w, deck - 0.06 * h),
            ],
            sail,
            canvas.part("boat"),
        )
    canvas.polygon(hull, rgb, canvas.part("boat"))


def _draw_flower(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """A green stem, a bloom and its darker heart (brown in a yellow flower)."""
    rgb = PALETTE[obj.colour]
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    stem = PALETTE["green"]
    canvas.line(((xc, y0 + 0.3 * h), (xc, y1)), stem, canvas.part("flower"), max(0.004, w * 0.12))
    canvas.ellipse((x0, y0, x1, y0 + w), rgb, canvas.part("flower"))
    canvas.ellipse(
        (xc - 0.18 * w, y0 + 0.32 * w, xc + 0.18 * w, y0 + 0.68 * w),
        shade(rgb, 0.6) if obj.colour != "yellow" else PALETTE["brown"],
        canvas.part("flower"),
    )


DRAWERS: dict[Kind, Drawer] = {
    "sun": _draw_sun,
    "moon": _draw_moon,
    "cloud": _draw_cloud,
    "bird": _draw_bird,
    "mountain": _draw_mountain,
    "hill": _draw_hill,
    "sea": _draw_sea,
    "road": _draw_road,
    "house": _draw_house,
    "tree": _draw_tree,
    "person": _draw_person,
    "boat": _draw_boat,
    "flower": _draw_flower,
}


def draw_item(canvas: Canvas, obj: SceneObject, box: Box) -> None:
    """Draw one item of an object (one bird of "three white birds") with its kind's drawer."""
    DRAWERS[obj.kind](canvas, obj, box)
