"""The studio renderer: coherent patch runs, centre-weighted painting, the layout's colours kept."""

from __future__ import annotations

import functools
import random

import numpy as np
import pytest
from PIL import Image, ImageFilter

from hallmark.engines.studio.renderer import (
    PatchRenderer,
    RenderSettings,
    Scale,
    keep_layout_colours,
    stroke_orientations,
    strokes_have_a_hand,
)
from hallmark.samples import SAMPLE_ARTISTS, random_scene, sample_works

SMALL_SCALES = (Scale(32, 2, 2), Scale(64, 2, 4), Scale(128, 4, 4))


@functools.lru_cache(maxsize=1)
def impasto_works() -> tuple[Image.Image, ...]:
    """Four of dmitri's thick-stroke works: texture a blend of strangers would smear."""
    return tuple(w.image() for w in sample_works(SAMPLE_ARTISTS["dmitri"], 4, 128, seed=0))


def layout_of_a_new_scene() -> Image.Image:
    """dmitri's painting of a scene that is not one of the works, shrunk to a 16 px layout."""
    scene = random_scene(random.Random("renderer-test"))
    return SAMPLE_ARTISTS["dmitri"].render(scene, 99, 128).resize((16, 16), Image.Resampling.BOX)


def fine_detail(image: Image.Image) -> float:
    grey = image.convert("L")
    blurred = grey.filter(ImageFilter.GaussianBlur(2))
    return float((np.asarray(grey, np.float64) - np.asarray(blurred, np.float64)).std())


def continued_rows(renderer: PatchRenderer) -> list[list[bool]]:
    """At the finest scale, row by row: does each patch continue its left neighbour's source?"""
    level = renderer.levels[-1]
    pixels = np.asarray(
        layout_of_a_new_scene().resize((128, 128), Image.Resampling.BICUBIC), np.float32
    )
    picks, grid = level.choose(pixels, sharp=False)
    step = grid.xs[1] - grid.xs[0]
    return [
        [
            level.continuation(int(picks[k - 1]), 0, step) == int(picks[k])
            for column in range(1, len(grid.xs))
            for k in [row * len(grid.xs) + column]
        ]
        for row in range(len(grid.ys))
    ]


def continued_share(renderer: PatchRenderer) -> float:
    """The share of patches at the finest scale that continue their left neighbour's source."""
    return float(np.mean(continued_rows(renderer)))


def longest_continued_run(renderer: PatchRenderer) -> int:
    """The most patches in a row at the finest scale that each continue the one before."""
    longest = 0
    for row in continued_rows(renderer):
        run = 0
        for continued in row:
            run = run + 1 if continued else 0
            longest = max(longest, run)
    return longest


def test_coherent_choice_copies_runs_of_the_same_work_instead_of_single_patches() -> None:
    works = list(impasto_works())
    coherent = PatchRenderer(works, SMALL_SCALES, settings=RenderSettings())
    plain = PatchRenderer(works, SMALL_SCALES, settings=RenderSettings.plain())

    assert continued_share(coherent) > 0.25
    assert continued_share(coherent) > 3 * continued_share(plain)


def test_runs_of_continued_patches_are_cut_so_no_region_of_a_work_is_rebuilt_whole() -> None:
    works = list(impasto_works())
    capped = PatchRenderer(works, SMALL_SCALES, settings=RenderSettings(longest_run=2))
    unbounded = PatchRenderer(works, SMALL_SCALES, settings=RenderSettings(longest_run=10**6))

    assert longest_continued_run(unbounded) > 2
    assert longest_continued_run(capped) <= 2
    assert continued_share(capped) > 0.25  # short runs still carry the strokes


def test_the_defaults_keep_fine_detail_that_a_blend_of_overlapping_patches_smears() -> None:
    works = list(impasto_works())
    layout = layout_of_a_new_scene()
    default = PatchRenderer(works, SMALL_SCALES).render(layout, seed=0)
    plain = PatchRenderer(works, SMALL_SCALES, settings=RenderSettings.plain()).render(
        layout, seed=0
    )
    own_detail = np.mean([fine_detail(work) for work in works])

    assert fine_detail(default) > 1.1 * fine_detail(plain)
    assert abs(fine_detail(default) - own_detail) < abs(fine_detail(plain) - own_detail)


def test_keeping_the_layouts_colours_moves_the_low_frequencies_and_keeps_the_texture() -> None:
    rng = np.random.default_rng(0)
    texture = rng.normal(0, 20, (64, 64, 3)).astype(np.float32)
    pixels = np.clip(np.full((64, 64, 3), (40.0, 160.0, 40.0), np.float32) + texture, 0, 255)
    layout = Image.new("RGB", (16, 16), (200, 30, 30))

    kept = keep_layout_colours(pixels, layout)

    centre = kept[16:48, 16:48].reshape(-1, 3).mean(axis=0)
    assert np.allclose(centre, (200, 30, 30), atol=6)
    high_before = pixels - pixels.mean(axis=(0, 1))
    high_after = kept - kept[16:48, 16:48].mean(axis=(0, 1))
    assert np.std(high_after[16:48, 16:48]) == pytest.approx(
        np.std(high_before[16:48, 16:48]), rel=0.15
    )


def test_a_render_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    renderer = PatchRenderer(list(impasto_works()), SMALL_SCALES)
    layout = layout_of_a_new_scene()

    first, again, other = (renderer.render(layout, seed=s) for s in (3, 3, 4))

    assert first.size == (128, 128)
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()


def _lean(image: Image.Image) -> np.ndarray:
    return stroke_orientations(np.asarray(image.convert("RGB"), np.float32))


def test_works_whose_strokes_lean_one_way_are_not_painted_from_their_mirror_images() -> None:
    dmitri = [np.asarray(w, np.float32) for w in impasto_works()]
    cleo = [np.asarray(w.image(), np.float32) for w in sample_works(SAMPLE_ARTISTS["cleo"], 4, 128)]
    assert strokes_have_a_hand(dmitri)
    assert not strokes_have_a_hand(cleo)
    assert not PatchRenderer(list(impasto_works()), SMALL_SCALES).mirrored
    assert PatchRenderer(list(impasto_works()), SMALL_SCALES, mirror=True).mirrored


def test_a_painting_from_works_with_a_hand_keeps_their_lean() -> None:
    works = list(impasto_works())
    lean = np.mean([_lean(w) for w in works], axis=0)
    layout = layout_of_a_new_scene()
    own_hand = PatchRenderer(works, SMALL_SCALES).render(layout, seed=0)
    both_hands = PatchRenderer(works, SMALL_SCALES, mirror=True).render(layout, seed=0)
    kept = float(np.abs(_lean(own_hand) - lean).sum())
    mixed = float(np.abs(_lean(both_hands) - lean).sum())
    assert kept < 0.7 * mixed, (kept, mixed)
