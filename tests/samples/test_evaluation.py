"""The measuring sticks of the studio bench: prompt adherence, style attribution, novelty."""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image

from hallmark.samples import SAMPLE_ARTISTS, random_scene, render_layout, sample_works
from hallmark.samples.evaluation import (
    ColourMap,
    NearestCentroid,
    adherence,
    adherence_rate,
    copy_check,
    novelty,
    style_feature_weights,
    style_features,
)
from hallmark.samples.studio_base import (
    held_out_scene,
    held_out_triples,
    scene_triples,
    training_scene,
)


def test_adherence_passes_the_true_drawing_and_fails_a_drawing_of_another_scene() -> None:
    rng = random.Random(11)
    scenes = [random_scene(rng) for _ in range(30)]
    truth = adherence_rate([render_layout(s, 64) for s in scenes], scenes)
    shifted = adherence_rate([render_layout(s, 64) for s in scenes[1:] + scenes[:1]], scenes)
    assert truth > 0.95
    assert shifted < 0.35


def test_a_colour_map_lets_the_check_read_an_artists_paintings() -> None:
    artist = SAMPLE_ARTISTS["ana"]  # soft washes: paler than the plain palette
    rng = random.Random(5)
    scenes = [random_scene(rng) for _ in range(16)]
    paintings = [artist.render(scene, seed=i, size=96) for i, scene in enumerate(scenes)]
    fit = [random_scene(random.Random(f"fit/{i}")) for i in range(8)]
    colours = ColourMap.fit(fit, lambda scene, n: artist.render(scene, 100 + n, 96))
    assert adherence_rate(paintings, scenes, colours) > adherence_rate(paintings, scenes) + 0.2
    assert adherence_rate(paintings, scenes, colours) > 0.85


def test_an_empty_picture_names_nothing_right() -> None:
    scene = random_scene(random.Random(2))
    blank = render_layout(scene.__class__(scene.time, scene.weather, ()), 64)
    assert not any(adherence(blank, scene))


def test_style_features_tell_the_sample_artists_apart_on_unseen_works() -> None:
    train_x: list[np.ndarray] = []
    test_x: list[np.ndarray] = []
    train_y: list[str] = []
    test_y: list[str] = []
    for handle, artist in SAMPLE_ARTISTS.items():
        works = sample_works(artist, count=10, size=128, seed=1)
        for number, work in enumerate(works):
            features = style_features(work.image())
            (train_x if number < 6 else test_x).append(features)
            (train_y if number < 6 else test_y).append(handle)
    model = NearestCentroid.fit(np.stack(train_x), train_y)
    predicted = model.predict(np.stack(test_x))
    assert np.mean([p == t for p, t in zip(predicted, test_y, strict=True)]) >= 0.9
    assert len(style_features(works[0].image(), texture_only=True)) < len(train_x[0])


def test_novelty_is_zero_for_a_copy_and_positive_for_a_new_picture() -> None:
    works = [w.image() for w in sample_works(SAMPLE_ARTISTS["bo"], count=6, size=96, seed=2)]
    closest, typical = novelty([works[0]], works)
    assert closest == 0.0 and typical > 0
    other = SAMPLE_ARTISTS["bo"].render(random_scene(random.Random(99)), seed=1, size=96)
    assert novelty([other], works)[0] > 0


def test_held_out_combinations_never_reach_training_and_always_reach_the_bench() -> None:
    held_out = held_out_triples()
    assert held_out == held_out_triples() and len(held_out) > 20
    rng = random.Random(0)
    assert all(not scene_triples(training_scene(rng, held_out)) & held_out for _ in range(200))
    assert all(scene_triples(held_out_scene(rng, held_out)) & held_out for _ in range(50))


def test_weighting_feature_families_equally_recognises_each_artist_in_new_scenes() -> None:
    handles = list(SAMPLE_ARTISTS)
    works = {h: sample_works(SAMPLE_ARTISTS[h], count=12, size=128, seed=0) for h in handles}
    features = np.stack([style_features(w.image()) for h in handles for w in works[h]])
    labels = [h for h in handles for _ in works[h]]
    rng = random.Random(21)
    scenes = [held_out_scene(rng, held_out_triples()) for _ in range(8)]

    def recognised(model: NearestCentroid) -> dict[str, float]:
        rates = {}
        for handle in handles:
            artist = SAMPLE_ARTISTS[handle]
            paintings = [artist.render(s, 700 + i, 128) for i, s in enumerate(scenes)]
            predicted = model.predict(np.stack([style_features(p) for p in paintings]))
            rates[handle] = float(np.mean([p == handle for p in predicted]))
        return rates

    weighted = recognised(NearestCentroid.fit(features, labels, style_feature_weights()))
    unweighted = recognised(NearestCentroid.fit(features, labels))
    assert min(weighted.values()) >= 0.85, weighted
    # Without the weights the Gram dimensions outvote colour and gradients, and scene content wins.
    assert min(unweighted.values()) < min(weighted.values()), unweighted


def test_the_copy_check_flags_a_reencoded_work_and_passes_a_new_painting() -> None:
    artist = SAMPLE_ARTISTS["ana"]
    works = [w.image() for w in sample_works(artist, count=8, size=192, seed=3)]
    buffer = io.BytesIO()
    works[3].resize((160, 160)).save(buffer, format="JPEG", quality=70)
    copied = copy_check([Image.open(buffer)], works)
    assert copied.near_copies == 1 and copied.closest_pdq < 32
    new = copy_check([artist.render(random_scene(random.Random(77)), seed=5, size=192)], works)
    assert new.near_copies == 0 and new.closest_pdq > new.typical_pdq / 2
