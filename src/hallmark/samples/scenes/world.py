"""The world's vocabulary: kinds, colours and places, scenes and their objects, sky and land."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

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

KINDS: tuple[Kind, ...] = get_args(Kind)
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


def sky_gradient(time: TimeOfDay, weather: Weather) -> tuple[RGB, RGB]:
    """The sky's colour at the zenith and at the horizon, between which it shades evenly."""
    return _SKY[(time, weather)]


def sky_colour(time: TimeOfDay, weather: Weather, y: float) -> RGB:
    """The sky's colour at height y (0 at the top, HORIZON at the horizon)."""
    top, bottom = sky_gradient(time, weather)
    t = min(1.0, max(0.0, y / HORIZON))
    return (
        round(top[0] + (bottom[0] - top[0]) * t),
        round(top[1] + (bottom[1] - top[1]) * t),
        round(top[2] + (bottom[2] - top[2]) * t),
    )


def ground_colour(time: TimeOfDay) -> RGB:
    """The colour of the bare land below the horizon."""
    return _GROUND[time]
