"""A procedural world: a scene grammar, truthful captions in varied wording, a plain layout."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

Kind = Literal[
    "sun",
    "moon",
    "cloud",
    "bird",
    "mountain",
    "hill",
    "sea",
    "road",
    "house",
    "tree",
    "person",
    "boat",
    "flower",
]
Size = Literal["small", "large"]
Column = Literal["left", "centre", "right"]
Row = Literal["top", "middle", "bottom"]
TimeOfDay = Literal["day", "dusk", "night"]
Weather = Literal["clear", "cloudy", "rainy"]
Box = tuple[float, float, float, float]
RGB = tuple[int, int, int]

KINDS: tuple[Kind, ...] = (
    "sun",
    "moon",
    "cloud",
    "bird",
    "mountain",
    "hill",
    "sea",
    "road",
    "house",
    "tree",
    "person",
    "boat",
    "flower",
)
TIMES_OF_DAY: tuple[TimeOfDay, ...] = ("day", "dusk", "night")
WEATHERS: tuple[Weather, ...] = ("clear", "cloudy", "rainy")
COLUMNS: tuple[Column, ...] = ("left", "centre", "right")
ROWS: tuple[Row, ...] = ("top", "middle", "bottom")

# The named colours of the world: every object is painted in exactly one of them.
PALETTE: dict[str, RGB] = {
    "red": (210, 40, 40),
    "orange": (240, 140, 30),
    "yellow": (245, 215, 50),
    "green": (50, 140, 60),
    "blue": (40, 90, 200),
    "purple": (130, 60, 170),
    "pink": (240, 140, 180),
    "brown": (130, 80, 40),
    "white": (245, 245, 245),
    "grey": (120, 120, 120),
    "black": (25, 25, 25),
}

# Colours each kind may plausibly have (a grey sun or a pink road does not occur).
KIND_COLOURS: dict[Kind, tuple[str, ...]] = {
    "sun": ("yellow", "orange", "red", "white"),
    "moon": ("white", "yellow", "grey"),
    "cloud": ("white", "grey", "pink", "black"),
    "bird": ("black", "white", "red", "blue", "brown", "yellow"),
    "mountain": ("grey", "purple", "blue", "brown", "white", "green"),
    "hill": ("green", "brown", "yellow", "orange"),
    "sea": ("blue", "green", "grey", "purple"),
    "road": ("grey", "brown", "black", "yellow", "white"),
    "house": ("red", "white", "yellow", "blue", "brown", "pink", "orange", "purple"),
    "tree": ("green", "orange", "red", "yellow", "pink", "brown"),
    "person": ("red", "blue", "yellow", "green", "purple", "orange", "pink", "white", "black"),
    "boat": ("red", "white", "yellow", "blue", "orange", "brown", "black", "green"),
    "flower": ("red", "yellow", "pink", "purple", "white", "orange", "blue"),
}

# (singular, plural) words a caption may use for each kind; the first pair is the usual one.
KIND_WORDS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "sun": (("sun", "suns"),),
    "moon": (("moon", "moons"),),
    "cloud": (("cloud", "clouds"),),
    "bird": (("bird", "birds"),),
    "mountain": (("mountain", "mountains"), ("peak", "peaks")),
    "hill": (("hill", "hills"),),
    "sea": (("sea", "seas"), ("ocean", "oceans")),
    "road": (("road", "roads"), ("path", "paths")),
    "house": (("house", "houses"), ("cottage", "cottages")),
    "tree": (("tree", "trees"),),
    "person": (("person", "people"), ("figure", "figures")),
    "boat": (("boat", "boats"), ("sailboat", "sailboats")),
    "flower": (("flower", "flowers"),),
}
NUMBER_WORDS: dict[int, str] = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
SIZE_WORDS: dict[Size, tuple[str, ...]] = {"small": ("small", "little"), "large": ("large", "big")}
MAX_COUNT: dict[Kind, int] = {
    "sun": 1,
    "moon": 1,
    "cloud": 3,
    "bird": 4,
    "mountain": 1,
    "hill": 1,
    "sea": 1,
    "road": 1,
    "house": 2,
    "tree": 3,
    "person": 3,
    "boat": 3,
    "flower": 5,
}
SKY_KINDS: frozenset[Kind] = frozenset({"sun", "moon", "cloud", "bird"})
UNSIZED_KINDS: frozenset[Kind] = frozenset({"sea", "road"})
WIDE_KINDS: frozenset[Kind] = frozenset({"sea"})  # spans the width: only its row is named
HORIZON = 0.5  # where the sky meets the land, as a fraction of the height from the top
MIN_COLOUR_DISTANCE = 90.0  # an object must stand out this much (RGB) from what is behind it


@dataclass(frozen=True)
class SceneObject:
    """One thing in a scene, or a group of identical things ("three white birds").

    `boxes` holds one box per item in normalised coordinates (x0, y0, x1, y1; y grows downwards);
    the column and row a caption names are derived from where the group is drawn.
    """

    kind: Kind
    colour: str
    boxes: tuple[Box, ...]
    size: Size | None = None
    variant: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KIND_WORDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.colour not in PALETTE:
            raise ValueError(f"unknown colour {self.colour!r}")
        if not 1 <= len(self.boxes) <= len(NUMBER_WORDS):
            raise ValueError(f"a {self.kind} group holds 1 to 5 items, not {len(self.boxes)}")

    @property
    def count(self) -> int:
        """How many items of this kind the group holds."""
        return len(self.boxes)

    @property
    def box(self) -> Box:
        """The union of the items' boxes."""
        return (
            min(b[0] for b in self.boxes),
            min(b[1] for b in self.boxes),
            max(b[2] for b in self.boxes),
            max(b[3] for b in self.boxes),
        )

    @property
    def column(self) -> Column:
        """Left, centre or right third of the picture, from the centre of the drawn group."""
        x0, _, x1, _ = self.box
        return COLUMNS[min(2, int((x0 + x1) / 2 * 3))]

    @property
    def row(self) -> Row:
        """Top, middle or bottom third of the picture, from the centre of the drawn group."""
        _, y0, _, y1 = self.box
        return ROWS[min(2, int((y0 + y1) / 2 * 3))]


@dataclass(frozen=True)
class Scene:
    """A whole picture: time of day, weather and the objects in drawing order."""

    time: TimeOfDay
    weather: Weather
    objects: tuple[SceneObject, ...]

    def __post_init__(self) -> None:
        if self.time not in TIMES_OF_DAY:
            raise ValueError(f"unknown time of day {self.time!r}")
        if self.weather not in WEATHERS:
            raise ValueError(f"unknown weather {self.weather!r}")

    def of_kind(self, kind: Kind) -> list[SceneObject]:
        """The objects of one kind."""
        return [obj for obj in self.objects if obj.kind == kind]


# ---------------------------------------------------------------------------------------------
# Colours of the sky and land
# ---------------------------------------------------------------------------------------------

_SKY: dict[tuple[TimeOfDay, Weather], tuple[RGB, RGB]] = {  # (zenith, horizon)
    ("day", "clear"): ((110, 175, 235), (185, 220, 245)),
    ("day", "cloudy"): ((165, 180, 198), (200, 210, 220)),
    ("day", "rainy"): ((135, 145, 162), (170, 178, 190)),
    ("dusk", "clear"): ((80, 70, 150), (250, 170, 110)),
    ("dusk", "cloudy"): ((105, 95, 140), (215, 160, 130)),
    ("dusk", "rainy"): ((90, 85, 115), (170, 140, 125)),
    ("night", "clear"): ((10, 15, 45), (35, 45, 90)),
    ("night", "cloudy"): ((30, 35, 55), (55, 60, 85)),
    ("night", "rainy"): ((25, 30, 45), (50, 55, 70)),
}
_GROUND: dict[TimeOfDay, RGB] = {
    "day": (150, 190, 105),
    "dusk": (125, 140, 85),
    "night": (45, 65, 50),
}
_RAIN: RGB = (205, 215, 235)
_SKIN: RGB = (224, 180, 140)


def sky_colour(time: TimeOfDay, weather: Weather, y: float) -> RGB:
    """The sky's colour at height y (0 at the top, HORIZON at the horizon)."""
    top, bottom = _SKY[(time, weather)]
    t = min(1.0, max(0.0, y / HORIZON))
    return (
        round(top[0] + (bottom[0] - top[0]) * t),
        round(top[1] + (bottom[1] - top[1]) * t),
        round(top[2] + (bottom[2] - top[2]) * t),
    )


def ground_colour(time: TimeOfDay) -> RGB:
    """The colour of the bare land below the horizon."""
    return _GROUND[time]


def _distance(a: RGB, b: RGB) -> float:
    return math.dist(a, b)


# ---------------------------------------------------------------------------------------------
# The grammar: random, plausible scenes
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Captions
# ---------------------------------------------------------------------------------------------

_COLUMN_PHRASES: dict[Column, tuple[str, ...]] = {
    "left": ("on the left", "to the left", "at the left"),
    "centre": ("in the centre", "in the center", "at the centre"),
    "right": ("on the right", "to the right", "at the right"),
}
_ROW_PHRASES: dict[Row, tuple[str, ...]] = {
    "top": ("at the top", "near the top", "high up"),
    "middle": ("in the middle", "halfway up", "midway up"),
    "bottom": ("at the bottom", "near the bottom", "low down", "in the foreground"),
}
_SKY_ROW_PHRASES: dict[Row, tuple[str, ...]] = {
    "top": ("high in the sky", "up in the sky"),
    "middle": ("low in the sky", "just above the horizon"),
    "bottom": (),
}
_WIDE_PHRASES: dict[Row, tuple[str, ...]] = {
    "top": ("across the top",),
    "middle": ("across the middle",),
    "bottom": ("at the bottom", "along the bottom", "across the bottom", "in the foreground"),
}
_CENTRE_PHRASES = ("in the centre", "in the middle", "in the center", "in the very middle")
_COMPACT_COLUMN: dict[Column, str] = {"left": "left", "centre": "centre", "right": "right"}
_TIME_NOUNS: dict[TimeOfDay, str] = {"day": "day", "dusk": "evening", "night": "night"}
_TIME_PHRASES: dict[TimeOfDay, tuple[str, ...]] = {
    "day": ("by day", "during the day", "in daylight", "in the daytime"),
    "dusk": ("at dusk", "in the evening", "at twilight"),
    "night": ("at night", "by night", "in the night"),
}
_WEATHER_PHRASES: dict[Weather, tuple[str, ...]] = {
    "clear": ("under a clear sky", "with a clear sky"),
    "cloudy": ("under a cloudy sky", "under an overcast sky", "with a cloudy sky"),
    "rainy": ("in the rain", "under a rainy sky", "with rain falling"),
}
_WEATHER_ADJECTIVES: dict[Weather, tuple[str, ...]] = {
    "clear": ("clear", "fine"),
    "cloudy": ("cloudy", "overcast", "grey"),
    "rainy": ("rainy", "wet"),
}
_PICTURE_WORDS = ("a picture of", "a painting of", "a drawing of", "a scene with", "a view of")


def noun(kind: Kind, count: int, rng: random.Random | None = None) -> str:
    """The word for a kind, plural when count > 1; a synonym now and then when rng is given."""
    forms = KIND_WORDS[kind]
    pair = forms[0] if rng is None or len(forms) == 1 or rng.random() < 0.7 else rng.choice(forms)
    return pair[0] if count == 1 else pair[1]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def position_phrase(obj: SceneObject, rng: random.Random) -> str:
    """Where an object is, in words, always naming its row and (unless it spans) its column."""
    row, column = obj.row, obj.column
    if obj.kind in WIDE_KINDS:
        return rng.choice(_WIDE_PHRASES[row])
    if (row, column) == ("middle", "centre"):
        return rng.choice(_CENTRE_PHRASES)
    rows = _ROW_PHRASES[row] + (_SKY_ROW_PHRASES[row] if obj.kind in SKY_KINDS else ())
    columns = _COLUMN_PHRASES[column]
    options = [f"{r} {c}" for r in rows for c in columns]
    options += [f"{c} {r}" for r in rows for c in columns]
    if row != "middle":
        options += [f"in the {row} {_COMPACT_COLUMN[column]}", f"at the {row} {column}"]
        if column != "centre":
            options.append(f"in the {row} {column} corner")
    return rng.choice(options)


def object_phrase(obj: SceneObject, rng: random.Random) -> str:
    """A noun phrase naming an object's count, maybe its size, its colour, kind and position."""
    words: list[str] = []
    if obj.size is not None and rng.random() < 0.5:
        words.append(rng.choice(SIZE_WORDS[obj.size]))
    words += [obj.colour, noun(obj.kind, obj.count, rng)]
    if obj.count > 1:
        head = NUMBER_WORDS[obj.count]
    elif obj.kind == "sea" or (obj.kind in ("sun", "moon") and rng.random() < 0.3):
        head = "the"
    else:
        head = "one" if rng.random() < 0.15 else _article(words[0])
    return " ".join([head, *words, position_phrase(obj, rng)])


def _context_phrase(scene: Scene, rng: random.Random) -> str:
    """Time of day and weather in words; may be empty for the default (a clear day)."""
    if scene.time == "day" and scene.weather == "clear" and rng.random() < 0.3:
        return ""
    style = rng.randrange(3)
    if style == 0:
        adjective = rng.choice(_WEATHER_ADJECTIVES[scene.weather])
        return f"on {_article(adjective)} {adjective} {_TIME_NOUNS[scene.time]}"
    if style == 1:
        return (
            rng.choice(_TIME_PHRASES[scene.time])
            + " "
            + rng.choice(_WEATHER_PHRASES[scene.weather])
        )
    if scene.weather == "clear" and scene.time != "day":
        return rng.choice(_TIME_PHRASES[scene.time])
    return rng.choice(_WEATHER_PHRASES[scene.weather]) + " " + rng.choice(_TIME_PHRASES[scene.time])


def _join(phrases: Sequence[str], rng: random.Random, with_: bool = True) -> str:
    if len(phrases) == 1:
        return phrases[0]
    if len(phrases) == 2:
        joiners = ("and", "with", "beside") if with_ else ("and", "as well as")
        return f"{phrases[0]} {rng.choice(joiners)} {phrases[1]}"
    style = rng.randrange(3 if with_ else 2)
    if style == 0:
        return ", ".join(phrases[:-1]) + " and " + phrases[-1]
    if style == 1:
        return ", ".join(phrases[:-1]) + ", and " + phrases[-1]
    return phrases[0] + " with " + ", ".join(phrases[1:-1]) + " and " + phrases[-1]


def describe(scene: Scene, rng: random.Random) -> str:
    """A caption naming every object with its count, colour and position, in varied wording."""
    objects = list(scene.objects)
    if rng.random() < 0.3:
        objects.sort(key=lambda o: o.box[1])  # read from top to bottom
    else:
        rng.shuffle(objects)
    phrases = [object_phrase(obj, rng) for obj in objects]
    context = _context_phrase(scene, rng)
    high = [i for i, o in enumerate(objects) if o.kind in SKY_KINDS]
    low = [i for i, o in enumerate(objects) if o.row == "bottom"]
    if high and low and rng.random() < 0.35:  # "a red sun ... over a blue sea ..."
        i, j = rng.choice(high), rng.choice(low)
        lead = f"{phrases[i]} {rng.choice(('over', 'above'))} {phrases[j]}"
        rest = [p for k, p in enumerate(phrases) if k not in (i, j)]
        body = lead if not rest else f"{lead}, with {_join(rest, rng, with_=False)}"
    else:
        body = _join(phrases, rng)
    if not context:
        template = rng.choice(("{body}", "{picture} {body}", "there {be} {body}"))
    else:
        template = rng.choice(
            (
                "{body} {context}",
                "{body}, {context}",
                "{context}, {body}",
                "{context}: {body}",
                "{picture} {body} {context}",
                "there {be} {body} {context}",
            )
        )
    if body.startswith("the ") and template.startswith("there"):
        template = template.replace("there {be} ", "")  # not "there is the blue sea"
    plural = body.split(" ", 1)[0] in ("two", "three", "four", "five")
    be = "are" if plural else "is"
    caption = template.format(body=body, context=context, picture=rng.choice(_PICTURE_WORDS), be=be)
    return " ".join(caption.split())


# ---------------------------------------------------------------------------------------------
# The plain layout
# ---------------------------------------------------------------------------------------------

SKY_LABEL = 0
GROUND_LABEL = 1


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


class _Canvas:
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
        label = self._next
        self._next += 1
        self.kinds[label] = kind
        return label

    def px(self, points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * self.size, y * self.size) for x, y in points]

    def polygon(self, points: Sequence[tuple[float, float]], rgb: RGB, label: int) -> None:
        xy = self.px(points)
        self.draw.polygon(xy, fill=rgb)
        self.label_draw.polygon(xy, fill=label)

    def ellipse(self, box: Box, rgb: RGB, label: int) -> None:
        xy = self._box(box)
        self.draw.ellipse(xy, fill=rgb)
        self.label_draw.ellipse(xy, fill=label)

    def rectangle(self, box: Box, rgb: RGB, label: int) -> None:
        xy = self._box(box)
        self.draw.rectangle(xy, fill=rgb)
        self.label_draw.rectangle(xy, fill=label)

    def line(
        self, points: Sequence[tuple[float, float]], rgb: RGB, label: int, width: float
    ) -> None:
        xy = self.px(points)
        w = max(1, round(width * self.size))
        self.draw.line(xy, fill=rgb, width=w)
        self.label_draw.line(xy, fill=label, width=w)

    def masked(self, mask: Image.Image, rgb: RGB, label: int) -> None:
        self.image.paste(rgb, (0, 0), mask)
        self.label_image.paste(label, (0, 0), mask)

    def _box(self, box: Box) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = (v * self.size for v in box)
        return (x0, y0, max(x1 - 1, x0), max(y1 - 1, y0))


def _shade(rgb: RGB, factor: float) -> RGB:
    return (round(rgb[0] * factor), round(rgb[1] * factor), round(rgb[2] * factor))


def _tint(rgb: RGB, amount: float) -> RGB:
    return (
        round(rgb[0] + (255 - rgb[0]) * amount),
        round(rgb[1] + (255 - rgb[1]) * amount),
        round(rgb[2] + (255 - rgb[2]) * amount),
    )


def _draw_item(canvas: _Canvas, obj: SceneObject, box: Box) -> None:
    """One item of an object, from flat shapes in shades of its named colour."""
    kind, rgb = obj.kind, PALETTE[obj.colour]
    x0, y0, x1, y1 = box
    w, h, xc = x1 - x0, y1 - y0, (x0 + x1) / 2
    if kind == "sun":
        label = canvas.part(kind)
        if obj.variant:
            r, cy = w / 2, (y0 + y1) / 2
            for k in range(8):
                a = k * math.pi / 4 + math.pi / 8
                p = (xc + math.cos(a) * r * 1.2, cy + math.sin(a) * r * 1.2)
                q = (xc + math.cos(a) * r * 1.55, cy + math.sin(a) * r * 1.55)
                canvas.line((p, q), rgb, label, r * 0.18)
        canvas.ellipse(box, rgb, label)
    elif kind == "moon":
        label = canvas.part(kind)
        if obj.variant:
            mask = Image.new("L", (canvas.size, canvas.size), 0)
            mask_draw = ImageDraw.Draw(mask)
            mask_draw.ellipse(canvas._box(box), fill=255)
            dx, dy = w * 0.38, -h * 0.12
            mask_draw.ellipse(canvas._box((x0 + dx, y0 + dy, x1 + dx, y1 + dy)), fill=0)
            canvas.masked(mask, rgb, label)
        else:
            canvas.ellipse(box, rgb, label)
    elif kind == "cloud":
        label = canvas.part(kind)
        canvas.ellipse((x0, y0 + 0.4 * h, x1, y1), rgb, label)
        canvas.ellipse((x0 + 0.1 * w, y0 + 0.15 * h, x0 + 0.55 * w, y1 - 0.1 * h), rgb, label)
        canvas.ellipse((x0 + 0.35 * w, y0, x0 + 0.85 * w, y1 - 0.2 * h), rgb, label)
    elif kind == "bird":
        label = canvas.part(kind)
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
    elif kind == "mountain":
        label = canvas.part(kind)
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
    elif kind == "hill":
        canvas.ellipse((x0, y0, x1, y0 + 2 * h), rgb, canvas.part(kind))
    elif kind == "sea":
        label = canvas.part(kind)
        canvas.rectangle(box, rgb, label)
        wave = _tint(rgb, 0.3)
        for k in range(3):
            y = y0 + h * (0.25 + 0.25 * k)
            for j in range(4):
                start = (j + 0.15 * k) / 4 + 0.03
                canvas.line(((start, y), (start + 0.08, y)), wave, label, 0.008)
    elif kind == "road":
        tip = x0 + w * (0.25, 0.5, 0.75)[obj.variant]
        points = [(x0, y1), (tip - 0.008, y0), (tip + 0.008, y0), (x1, y1)]
        canvas.polygon(points, rgb, canvas.part(kind))
    elif kind == "house":
        roof_y = y0 + 0.42 * h
        canvas.rectangle((x0, roof_y, x1, y1), rgb, canvas.part(kind))
        roof = [(x0 - 0.08 * w, roof_y), (xc, y0), (x1 + 0.08 * w, roof_y)]
        canvas.polygon(roof, _shade(rgb, 0.6), canvas.part(kind))
        door_x = xc if obj.variant == 0 else x0 + 0.7 * w
        door = (door_x - 0.11 * w, y1 - 0.34 * h, door_x + 0.11 * w, y1)
        canvas.rectangle(door, _shade(rgb, 0.45), canvas.part(kind))
        window = _tint(rgb, 0.55)
        canvas.rectangle(
            (x0 + 0.12 * w, roof_y + 0.12 * h, x0 + 0.34 * w, roof_y + 0.3 * h),
            window,
            canvas.part(kind),
        )
        if obj.variant == 0:
            canvas.rectangle(
                (x1 - 0.34 * w, roof_y + 0.12 * h, x1 - 0.12 * w, roof_y + 0.3 * h),
                window,
                canvas.part(kind),
            )
    elif kind == "tree":
        trunk = _shade(PALETTE["brown"], 0.85)
        canvas.rectangle((xc - 0.1 * w, y0 + 0.55 * h, xc + 0.1 * w, y1), trunk, canvas.part(kind))
        if obj.variant:
            canvas.polygon(
                [(x0, y0 + 0.8 * h), (xc, y0), (x1, y0 + 0.8 * h)], rgb, canvas.part(kind)
            )
        else:
            canvas.ellipse((x0, y0, x1, y0 + 0.68 * h), rgb, canvas.part(kind))
    elif kind == "person":
        legs = _shade(rgb, 0.45)
        canvas.rectangle((x0 + 0.12 * w, y0 + 0.6 * h, xc - 0.04 * w, y1), legs, canvas.part(kind))
        canvas.rectangle((xc + 0.04 * w, y0 + 0.6 * h, x1 - 0.12 * w, y1), legs, canvas.part(kind))
        torso = [(x0 + 0.1 * w, y0 + 0.24 * h), (x1 - 0.1 * w, y0 + 0.24 * h)]
        torso += [(x1, y0 + 0.64 * h), (x0, y0 + 0.64 * h)]
        canvas.polygon(torso, rgb, canvas.part(kind))
        canvas.ellipse((xc - 0.36 * w, y0, xc + 0.36 * w, y0 + 0.24 * h), _SKIN, canvas.part(kind))
    elif kind == "boat":
        deck = y0 + 0.65 * h
        hull = [(x0, deck), (x1, deck), (x1 - 0.15 * w, y1), (x0 + 0.15 * w, y1)]
        mast = xc - 0.05 * w
        canvas.line(((mast, y0), (mast, deck)), _shade(rgb, 0.5), canvas.part(kind), 0.006)
        sail = _tint(rgb, 0.45)
        canvas.polygon(
            [
                (mast + 0.03 * w, y0),
                (mast + 0.03 * w, deck - 0.06 * h),
                (x1 - 0.1 * w, deck - 0.06 * h),
            ],
            sail,
            canvas.part(kind),
        )
        if obj.variant:
            canvas.polygon(
                [
                    (mast - 0.03 * w, y0 + 0.15 * h),
                    (mast - 0.03 * w, deck - 0.06 * h),
                    (x0 + 0.15 * w, deck - 0.06 * h),
                ],
                sail,
                canvas.part(kind),
            )
        canvas.polygon(hull, rgb, canvas.part(kind))
    elif kind == "flower":
        stem = PALETTE["green"]
        canvas.line(((xc, y0 + 0.3 * h), (xc, y1)), stem, canvas.part(kind), max(0.004, w * 0.12))
        canvas.ellipse((x0, y0, x1, y0 + w), rgb, canvas.part(kind))
        canvas.ellipse(
            (xc - 0.18 * w, y0 + 0.32 * w, xc + 0.18 * w, y0 + 0.68 * w),
            _shade(rgb, 0.6) if obj.colour != "yellow" else PALETTE["brown"],
            canvas.part(kind),
        )


def _stable_seed(scene: Scene) -> int:
    return int.from_bytes(hashlib.sha256(repr(scene).encode()).digest()[:8], "big")


def paint_layers(scene: Scene, size: int = 256) -> Layers:
    """Paint a scene plainly at size x size pixels, keeping a label for every drawn part."""
    if not 16 <= size <= 4096:
        raise ValueError(f"size must be between 16 and 4096 pixels, got {size}")
    # 1. Sky gradient above the horizon, flat land below it.
    ys = (np.arange(size, dtype=np.float32) + 0.5) / size
    top, bottom = (np.asarray(c, np.float32) for c in _SKY[(scene.time, scene.weather)])
    t = np.clip(ys / HORIZON, 0.0, 1.0)[:, None]
    column = top + (bottom - top) * t
    land = ys >= HORIZON
    column[land] = np.asarray(ground_colour(scene.time), np.float32)
    rgb = np.repeat(column.round().astype(np.uint8)[:, None, :], size, axis=1)
    labels = np.where(land, GROUND_LABEL, SKY_LABEL).astype(np.int32)[:, None].repeat(size, 1)
    # 2. The objects, back to front.
    canvas = _Canvas(np.ascontiguousarray(rgb), np.ascontiguousarray(labels))
    for obj in scene.objects:
        for box in obj.boxes:
            _draw_item(canvas, obj, box)
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
