"""The world's pictures and captions are pinned: the studio base model was trained on them."""

from __future__ import annotations

import hashlib
import random

from hallmark.samples import Scene, SceneObject, describe, paint_layers, random_scene
from hallmark.samples.scenes import KINDS, Kind
from hallmark.samples.scenes.drawers import DRAWERS

SEEDS = range(64)

# Every kind in every variant it is drawn in, so each drawer is pinned even if random scenes
# stopped reaching one of them.
SHOWCASE_BOXES: dict[Kind, tuple[float, float, float, float]] = {
    "sun": (0.1, 0.1, 0.25, 0.25),
    "moon": (0.7, 0.1, 0.82, 0.22),
    "cloud": (0.35, 0.12, 0.6, 0.25),
    "bird": (0.62, 0.3, 0.7, 0.34),
    "mountain": (0.05, 0.3, 0.5, 0.5),
    "hill": (0.5, 0.4, 1.0, 0.5),
    "sea": (0.0, 0.68, 1.0, 1.0),
    "road": (0.3, 0.5, 0.55, 1.0),
    "house": (0.05, 0.45, 0.23, 0.63),
    "tree": (0.6, 0.35, 0.75, 0.63),
    "person": (0.8, 0.45, 0.86, 0.62),
    "boat": (0.1, 0.75, 0.27, 0.9),
    "flower": (0.4, 0.8, 0.46, 0.93),
}
VARIANTS: dict[Kind, int] = {"road": 3}


def showcase_scenes() -> list[Scene]:
    """One scene per (kind, variant), drawn in a colour it may have, at dusk in the rain."""
    scenes = []
    for kind in KINDS:
        for variant in range(VARIANTS.get(kind, 2)):
            obj = SceneObject(kind, "red", (SHOWCASE_BOXES[kind],), None, variant)
            scenes.append(Scene("dusk", "rainy", (obj,)))
    return scenes


def layers_digest(scene: Scene, size: int) -> str:
    """SHA-256 of everything painting a scene yields: colours, labels, rain and part kinds."""
    layers = paint_layers(scene, size)
    digest = hashlib.sha256()
    digest.update(layers.rgb.tobytes())
    digest.update(layers.labels.tobytes())
    digest.update(layers.rain.tobytes())
    digest.update(repr(sorted(layers.kinds.items())).encode())
    digest.update(layers.composite().tobytes())
    return digest.hexdigest()


def test_random_scenes_paint_and_read_exactly_as_the_base_model_saw_them() -> None:
    pictures = hashlib.sha256()
    captions = hashlib.sha256()
    drawn: set[tuple[Kind, int]] = set()
    for seed in SEEDS:
        rng = random.Random(seed)
        scene = random_scene(rng)
        captions.update(repr(scene).encode())
        captions.update(describe(scene, rng).encode())
        for size in (64, 256):
            pictures.update(layers_digest(scene, size).encode())
        drawn.update((obj.kind, obj.variant) for obj in scene.objects)

    assert {kind for kind, _ in drawn} == set(KINDS)
    assert captions.hexdigest() == (
        "641eff4507da9e6604364f2beb4cf870440f59e35e289bf648800a11eb59b539"
    )
    assert pictures.hexdigest() == (
        "083771a1786e31a9f6ef86c0dbf75db823fb41f2fc73874a870e937b259d7d0a"
    )


def test_every_kind_and_variant_paints_exactly_as_before() -> None:
    digest = hashlib.sha256()
    for scene in showcase_scenes():
        digest.update(layers_digest(scene, 128).encode())

    assert digest.hexdigest() == (
        "dc023c99c4d6a4d9982f2721e4fd7cde118af53ed2b41da9d146ee9a992a9e13"
    )


def test_every_kind_has_a_drawer_and_labels_its_parts_with_its_kind() -> None:
    assert set(DRAWERS) == set(KINDS)
    for scene in showcase_scenes():
        (obj,) = scene.objects
        assert set(paint_layers(scene, 64).kinds.values()) == {obj.kind}
