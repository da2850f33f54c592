"""A procedural world: a scene grammar, truthful captions in varied wording, a plain layout.

`world` names what a scene holds, `grammar` makes random plausible scenes, `captions` describes
them, and `painting` draws them (each kind's shapes in `drawers`, on a `canvas`).
"""

from __future__ import annotations

from hallmark.samples.scenes.canvas import GROUND_LABEL, SKY_LABEL
from hallmark.samples.scenes.captions import describe, noun, object_phrase, position_phrase
from hallmark.samples.scenes.grammar import MIN_COLOUR_DISTANCE, random_scene
from hallmark.samples.scenes.painting import Layers, paint_layers, render_layout
from hallmark.samples.scenes.world import (
    COLUMNS,
    HORIZON,
    KIND_COLOURS,
    KIND_WORDS,
    KINDS,
    MAX_COUNT,
    NUMBER_WORDS,
    PALETTE,
    RGB,
    ROWS,
    SIZE_WORDS,
    SKY_KINDS,
    TIMES_OF_DAY,
    UNSIZED_KINDS,
    WEATHERS,
    WIDE_KINDS,
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
    sky_gradient,
)

__all__ = [
    "COLUMNS",
    "GROUND_LABEL",
    "HORIZON",
    "KINDS",
    "KIND_COLOURS",
    "KIND_WORDS",
    "MAX_COUNT",
    "MIN_COLOUR_DISTANCE",
    "NUMBER_WORDS",
    "PALETTE",
    "RGB",
    "ROWS",
    "SIZE_WORDS",
    "SKY_KINDS",
    "SKY_LABEL",
    "TIMES_OF_DAY",
    "UNSIZED_KINDS",
    "WEATHERS",
    "WIDE_KINDS",
    "Box",
    "Column",
    "Kind",
    "Layers",
    "Row",
    "Scene",
    "SceneObject",
    "Size",
    "TimeOfDay",
    "Weather",
    "describe",
    "ground_colour",
    "noun",
    "object_phrase",
    "paint_layers",
    "position_phrase",
    "random_scene",
    "render_layout",
    "sky_colour",
    "sky_gradient",
]
