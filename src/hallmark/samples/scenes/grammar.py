"""The scene grammar: random, plausible scenes whose every object stands out in its own cell."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from hallmark.samples.scenes.world import (
    COLUMNS,
    HORIZON,
    KIND_COLOURS,
    MAX_COUNT,
    PALETTE,
    RGB,
    TIMES_OF_DAY,
    UNSIZED_KINDS,
    WEATHERS,
    Box,
    Column,
    Kind,
    Row,
    Scene,
    SceneObject,
    Size,
    TimeOfDay,
    Weather,
    ground_colour,
    sky_colour,
)

MIN_COLOUR_DISTANCE = 90.0  # an object must stand out this much (RGB) from what is behind it


def _distance(a: RGB, b: RGB) -> float:
    return math.dist(a, b)


_Slot = tuple[str, Row, Column]  # (layer, row, column): each slot holds at most one object
_KIND_WEIGHTS: dict[Kind, float] = {
    "sun": 3,
    "moon": 3,
    "bird": 3,
    "mountain": 3,
    "hill": 2,
    "road": 2,
    "house": 4,
    "tree": 4,
    "person": 3,
    "boat": 4,
    "flower": 2,
}
_COUNT_WEIGHTS = (5.0, 3.0, 2.5, 1.5, 1.0)


@dataclass
class _Planner:
    """Places objects one at a time into free slots, refusing implausible ones."""

    rng: random.Random
    time: TimeOfDay
    weather: Weather
    objects: list[SceneObject] = field(default_factory=list)
    taken: set[_Slot] = field(default_factory=set)
    sea_top: float | None = None

    def has(self, *kinds: Kind) -> bool:
        return any(obj.kind in kinds for obj in self.objects)

    def allowed(self, kind: Kind) -> bool:
        if kind == "sun":
            return self.time != "night" and self.weather != "rainy" and not self.has("sun", "moon")
        if kind == "moon":
            return self.time != "day" and not self.has("sun", "moon")
        if kind == "cloud":
            return self.weather != "clear" and len([o for o in self.objects if o.kind == kind]) < 2
        if kind == "bird":
            return self.time != "night"
        if kind == "sea":
            return self.sea_top is None and not any(
                s[:2] == ("ground", "bottom") for s in self.taken
            )
        if kind == "boat":
            return self.sea_top is not None
        if kind == "road":
            return not self.has("road")
        return True

    def slots(self, kind: Kind) -> list[_Slot]:
        slots: list[_Slot]
        if kind in ("moon", "cloud", "bird"):
            slots = [("sky", "top", c) for c in COLUMNS]
        elif kind == "sun":
            slots = [("sky", "top", c) for c in COLUMNS]
            if self.time == "dusk":  # a setting sun hangs low over the horizon
                slots += [("backdrop", "middle", c) for c in COLUMNS]
        elif kind == "mountain":
            slots = [("backdrop", "middle", c) for c in COLUMNS]
        elif kind in ("house", "tree", "person"):
            slots = [("ground", "middle", c) for c in COLUMNS]
            if self.sea_top is None:
                slots += [("ground", "bottom", c) for c in COLUMNS]
        elif kind in ("hill", "flower"):
            slots = [("ground", "bottom", c) for c in COLUMNS] if self.sea_top is None else []
        elif kind == "road":
            slots = [
                ("ground", "bottom", c)
                for c in COLUMNS
                if self.sea_top is None and ("ground", "middle", c) not in self.taken
            ]
        elif kind == "boat":
            slots = [("water", "bottom", c) for c in COLUMNS] if self.sea_top is not None else []
        else:
            slots = []
        return [s for s in slots if s not in self.taken]

    def add(self, kind: Kind) -> bool:
        """Try to place one object (or group) of this kind; False when it does not fit."""
        if not self.allowed(kind):
            return False
        if kind == "sea":
            return self._add_sea()
        slots = self.slots(kind)
        if not slots:
            return False
        slot = self.rng.choice(slots)
        size: Size | None = None if kind in UNSIZED_KINDS else self.rng.choice(("small", "large"))
        limit = MAX_COUNT[kind]
        if kind == "cloud" and size == "large":
            limit = 2
        count = self.rng.choices(range(1, limit + 1), weights=_COUNT_WEIGHTS[:limit])[0]
        variant = self.rng.randrange(2)
        boxes = _group_boxes(self, kind, slot, size, count)
        if kind == "road":
            variant = {"left": 2, "centre": 1, "right": 0}[slot[2]]
        colours = [c for c in KIND_COLOURS[kind] if self._stands_out(kind, PALETTE[c], boxes)]
        if not colours:
            return False
        obj = SceneObject(kind, self.rng.choice(colours), boxes, size, variant)
        if (obj.row, obj.column) != slot[1:]:
            return False  # squeezed out of its cell: keep every slot's object inside its cell
        self.objects.append(obj)
        self.taken.add(slot)
        if kind == "road":
            self.taken.add(("ground", "middle", slot[2]))
        return True

    def _add_sea(self) -> bool:
        self.sea_top = self.rng.uniform(0.66, 0.7)
        colours = [
            c
            for c in KIND_COLOURS["sea"]
            if _distance(PALETTE[c], ground_colour(self.time)) >= MIN_COLOUR_DISTANCE
        ]
        if not colours:
            self.sea_top = None
            return False
        box = (0.0, self.sea_top, 1.0, 1.0)
        self.objects.append(SceneObject("sea", self.rng.choice(colours), (box,)))
        self.taken.update(("ground", "bottom", c) for c in COLUMNS)
        return True

    def _stands_out(self, kind: Kind, rgb: RGB, boxes: tuple[Box, ...]) -> bool:
        """Whether a colour is clearly visible against the sky, land and overlapped objects."""
        behind: list[RGB] = []
        for _, y0, _, y1 in boxes:
            if y0 < HORIZON:
                behind.append(sky_colour(self.time, self.weather, (y0 + min(y1, HORIZON)) / 2))
            if y1 > HORIZON and kind != "boat":
                behind.append(ground_colour(self.time))
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes))
        union_end = (max(b[2] for b in boxes), max(b[3] for b in boxes))
        for other in self.objects:
            ox0, oy0, ox1, oy1 = other.box
            if ox0 < union_end[0] and union[0] < ox1 and oy0 < union_end[1] and union[1] < oy1:
                behind.append(PALETTE[other.colour])
        return all(_distance(rgb, b) >= MIN_COLOUR_DISTANCE for b in behind)


def _group_boxes(
    planner: _Planner, kind: Kind, slot: _Slot, size: Size | None, count: int
) -> tuple[Box, ...]:
    """Item boxes for a group placed in a slot, kept inside the picture."""
    rng = planner.rng
    _, row, column = slot
    large = size == "large"
    cx = (COLUMNS.index(column) + 0.5) / 3 + rng.uniform(-0.05, 0.05)
    jitter = rng.uniform(0.9, 1.1)
    stagger = (0.0, 0.0, 0.0, 0.0, 0.0)
    if kind in ("sun", "moon"):
        r = (0.085 if large else 0.055) if kind == "sun" else (0.065 if large else 0.045)
        r *= jitter
        if row == "top":
            cy = rng.uniform(0.11, 0.2)
        else:
            cy = HORIZON - r - rng.uniform(0.01, 0.05)
        w, h, spread, base = 2 * r, 2 * r, 0.0, cy + r
    elif kind == "cloud":
        w = (0.2 if large else 0.12) * jitter
        h, spread, base = w * 0.5, w * 0.75, rng.uniform(0.14, 0.24)
        stagger = (0.0, 0.035, -0.025, 0.0, 0.0)
    elif kind == "bird":
        w = (0.08 if large else 0.045) * jitter
        h, spread, base = w * 0.5, w * 1.35, rng.uniform(0.12, 0.24)
        stagger = (0.0, 0.035, -0.02, 0.03, -0.03)
    elif kind == "mountain":
        w, h = (0.46 if large else 0.3) * jitter, (0.26 if large else 0.15) * jitter
        spread, base = 0.0, HORIZON
    elif kind == "hill":
        w, h = (0.56 if large else 0.36) * jitter, (0.18 if large else 0.1) * jitter
        spread, base = 0.0, 1.0
    elif kind == "road":
        w, h, spread, base = (0.26 if large else 0.18) * jitter, 1.0 - HORIZON, 0.0, 1.0
    elif kind == "boat":
        assert planner.sea_top is not None
        w = (0.17 if large else 0.11) * jitter
        h, spread = w * 0.9, w * 1.2
        base = rng.uniform(planner.sea_top + h + 0.06, 0.95)
        stagger = (0.0, 0.03, -0.02, 0.0, 0.0)
    else:  # things standing on the land: house, tree, person, flower
        w = {
            "house": 0.18 if large else 0.12,
            "tree": 0.15 if large else 0.09,
            "person": 0.06 if large else 0.04,
            "flower": 0.065 if large else 0.04,
        }[kind] * jitter
        h = w * {"house": 1.0, "tree": 1.9, "person": 2.8, "flower": 2.2}[kind]
        spread = w * {"house": 1.15, "tree": 0.85, "person": 1.6, "flower": 1.3}[kind]
        base = rng.uniform(0.56, 0.62) if row == "middle" else rng.uniform(0.9, 0.97)
        stagger = (0.0, -0.012, 0.01, -0.006, 0.008) if kind == "flower" else stagger
    spread = min(spread, (0.32 - w) / (count - 1)) if count > 1 else 0.0
    spread = max(spread, w * 0.5)
    left = cx - (w + spread * (count - 1)) / 2
    boxes = [
        (left + i * spread, base + stagger[i] - h, left + i * spread + w, base + stagger[i])
        for i in range(count)
    ]
    x0 = min(b[0] for b in boxes)
    x1 = max(b[2] for b in boxes)
    shift = max(0.005 - x0, 0.0) + min(0.995 - x1, 0.0)
    return tuple(
        (round(a + shift, 4), round(b, 4), round(c + shift, 4), round(d, 4)) for a, b, c, d in boxes
    )


_DRAW_LAYER: dict[Kind, int] = {
    "sun": 0,
    "moon": 0,
    "mountain": 1,
    "sea": 2,
    "hill": 3,
    "road": 4,
    "cloud": 6,
    "bird": 7,
}


def _draw_order(obj: SceneObject) -> tuple[int, float]:
    return (_DRAW_LAYER.get(obj.kind, 5), obj.box[3])


def random_scene(rng: random.Random) -> Scene:
    """A random plausible scene: the sky holds sun, moon, clouds and birds; boats need a sea."""
    time: TimeOfDay = rng.choices(TIMES_OF_DAY, weights=(5, 3, 3))[0]
    weather: Weather = rng.choices(WEATHERS, weights=(5, 3, 2))[0]
    planner = _Planner(rng, time, weather)
    if weather != "clear":  # cloudy and rainy skies always show their clouds
        planner.add("cloud")
    if rng.random() < 0.35:
        planner.add("sea")
    target = len(planner.objects) + rng.randint(2, 5)
    kinds = list(_KIND_WEIGHTS)
    weights = list(_KIND_WEIGHTS.values())
    for _ in range(40):
        if len(planner.objects) >= target:
            break
        planner.add(rng.choices(kinds, weights=weights)[0])
    if weather != "clear" and not planner.has("cloud"):
        weather = "clear"  # no cloud could be placed: the sky is clear after all
    objects = tuple(sorted(planner.objects, key=_draw_order))
    return Scene(time, weather, objects)
