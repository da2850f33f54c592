"""Captions: every object named truthfully (count, colour, kind, place) in varied wording."""

from __future__ import annotations

import random
from collections.abc import Sequence

from hallmark.samples.scenes.world import (
    KIND_WORDS,
    NUMBER_WORDS,
    SIZE_WORDS,
    SKY_KINDS,
    WIDE_KINDS,
    Column,
    Kind,
    Row,
    Scene,
    SceneObject,
    TimeOfDay,
    Weather,
)

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
