"""Sample artists and their world: deterministic, truthful, varied and distinguishable."""

from __future__ import annotations

import io
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hallmark.samples import (
    KIND_COLOURS,
    KIND_WORDS,
    NUMBER_WORDS,
    SAMPLE_ARTISTS,
    SampleArtist,
    SampleWork,
    Scene,
    SceneObject,
    describe,
    export_samples,
    paint_layers,
    random_scene,
    render_layout,
    sample_works,
)
from hallmark.samples.scenes import HORIZON, SIZE_WORDS, SKY_KINDS, object_phrase

ARTISTS = list(SAMPLE_ARTISTS.values())


@pytest.fixture(scope="module")
def works() -> dict[str, list[SampleWork]]:
    """Every artist's default batch, made once for the module."""
    return {artist.handle: sample_works(artist) for artist in ARTISTS}


def scenes(n: int = 500) -> list[Scene]:
    return [random_scene(random.Random(seed)) for seed in range(n)]


# ---------------------------------------------------------------------------------------------
# Determinism and inputs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("artist", ARTISTS, ids=lambda a: a.handle)
def test_same_arguments_give_the_same_bytes(artist: SampleArtist) -> None:
    first = sample_works(artist, count=3, size=64)
    second = sample_works(artist, count=3, size=64)
    assert [w.png for w in first] == [w.png for w in second]
    assert [w.caption for w in first] == [w.caption for w in second]
    assert [w.filename for w in first] == [w.filename for w in second]


@pytest.mark.parametrize("artist", ARTISTS, ids=lambda a: a.handle)
def test_distinct_seeds_give_distinct_works(artist: SampleArtist) -> None:
    zero = sample_works(artist, count=3, size=64, seed=0)
    one = sample_works(artist, count=3, size=64, seed=1)
    assert not {w.png for w in zero} & {w.png for w in one}
    assert len({w.png for w in zero}) == 3


def test_render_seed_changes_texture_not_scene() -> None:
    scene = random_scene(random.Random(7))
    for artist in ARTISTS:
        a, b = artist.render(scene, 0, 64), artist.render(scene, 1, 64)
        assert a.tobytes() != b.tobytes()
        assert artist.render(scene, 0, 64).tobytes() == a.tobytes()


def test_default_batch_is_24_captioned_pngs(works: dict[str, list[SampleWork]]) -> None:
    assert set(works) == {"ana", "bo", "cleo", "dmitri"}
    for handle, batch in works.items():
        assert len(batch) == 24
        assert len({w.filename for w in batch}) == 24
        for index, work in enumerate(batch):
            assert work.filename.startswith(f"{index + 1:02d}-") and work.filename.endswith(".png")
            image = Image.open(io.BytesIO(work.png))
            assert image.format == "PNG" and image.size == (256, 256), handle


@pytest.mark.parametrize("count", [0, -1, 201])
def test_count_out_of_range_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="count"):
        sample_works(ARTISTS[0], count=count)


def test_size_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size"):
        ARTISTS[0].render(random_scene(random.Random(0)), 0, size=8)
    with pytest.raises(ValueError, match="count"):
        export_samples(tmp_path, count=0)


def test_unknown_colour_or_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        SceneObject("sun", "mauve", ((0.1, 0.1, 0.2, 0.2),))
    with pytest.raises(ValueError, match="kind"):
        SceneObject("dragon", "red", ((0.1, 0.1, 0.2, 0.2),))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The world: plausible layouts
# ---------------------------------------------------------------------------------------------


def slot(obj: SceneObject) -> tuple[str, str, str]:
    """The layer and cell an object occupies (see the planner in scenes/grammar.py)."""
    if obj.kind in SKY_KINDS and obj.row == "top":
        layer = "sky"
    elif obj.kind in ("mountain", "sun"):
        layer = "backdrop"
    elif obj.kind == "boat":
        layer = "water"
    else:
        layer = "ground"
    return (layer, obj.row, obj.column)


def test_layout_constraints_hold_over_500_scenes() -> None:
    kinds_seen: set[str] = set()
    for scene in scenes(500):
        kinds = [obj.kind for obj in scene.objects]
        kinds_seen.update(kinds)
        assert kinds, "a scene is never empty"
        assert ("cloud" in kinds) == (scene.weather != "clear")
        assert kinds.count("sun") + kinds.count("moon") <= 1
        assert kinds.count("sea") <= 1 and kinds.count("road") <= 1
        if "sun" in kinds:
            assert scene.time != "night" and scene.weather != "rainy"
        if "moon" in kinds:
            assert scene.time in ("dusk", "night")
        if "bird" in kinds:
            assert scene.time != "night"
        seas = scene.of_kind("sea")
        slots = [slot(obj) for obj in scene.objects if obj.kind != "sea"]
        assert len(slots) == len(set(slots)), slots
        for obj in scene.objects:
            assert obj.colour in KIND_COLOURS[obj.kind]
            assert 1 <= obj.count <= 5
            for x0, y0, x1, y1 in obj.boxes:
                assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
            if obj.kind in SKY_KINDS:
                assert obj.box[3] <= HORIZON, obj
                assert obj.row == "top" or (obj.kind == "sun" and scene.time == "dusk")
            if obj.kind in ("sea", "road", "hill", "flower"):
                assert obj.row == "bottom", obj
            if obj.kind == "mountain":
                assert obj.row == "middle" and obj.box[3] == HORIZON
            if obj.kind == "boat":
                assert seas and obj.box[1] >= seas[0].box[1] and obj.row == "bottom"
            if seas and obj.kind in ("house", "tree", "person"):
                assert obj.row == "middle" and obj.box[3] < seas[0].box[1]
            if obj.kind == "road":
                assert ("ground", "middle", obj.column) not in slots
    assert len(kinds_seen) >= 12


def test_layout_render_is_plain_and_deterministic() -> None:
    scene = random_scene(random.Random(3))
    image = render_layout(scene, 96)
    assert image.mode == "RGB" and image.size == (96, 96)
    assert image.tobytes() == render_layout(scene, 96).tobytes()
    layers = paint_layers(scene, 96)
    assert layers.labels.shape == (96, 96)
    assert set(layers.kinds.values()) == {obj.kind for obj in scene.objects}


# ---------------------------------------------------------------------------------------------
# Captions: truthful and varied
# ---------------------------------------------------------------------------------------------


def mentions(caption: str, obj: SceneObject) -> bool:
    """Whether the caption names the object's count, its true size if any, colour and kind."""
    nouns = "|".join(pair[0 if obj.count == 1 else 1] for pair in KIND_WORDS[obj.kind])
    head = NUMBER_WORDS[obj.count] if obj.count > 1 else "(?:a|an|one|the)"
    sizes = "|".join(SIZE_WORDS[obj.size]) if obj.size else "(?!)"
    pattern = rf"\b{head} (?:(?:{sizes}) )?{obj.colour} (?:{nouns})\b"
    return re.search(pattern, caption) is not None


def test_captions_name_every_object_truthfully(works: dict[str, list[SampleWork]]) -> None:
    pairs = [(w.scene, w.caption) for batch in works.values() for w in batch]
    pairs += [(scene, describe(scene, random.Random(i))) for i, scene in enumerate(scenes(300))]
    for scene, caption in pairs:
        for obj in scene.objects:
            assert mentions(caption, obj), (obj, caption)
        if scene.weather != "clear":
            assert re.search(r"cloudy|overcast|grey|rain|wet", caption), caption
        if scene.time != "day":
            assert re.search(rf"{scene.time}|evening|twilight", caption), caption


COLUMN_WORDS = {"left": ("left",), "centre": ("centre", "center", "middle"), "right": ("right",)}
ROW_WORDS = {
    "top": ("top", "high", "up in the sky"),
    "middle": ("middle", "halfway", "midway", "low in the sky", "horizon", "centre", "center"),
    "bottom": ("bottom", "low down", "foreground"),
}


def test_positions_in_captions_are_where_objects_are_drawn() -> None:
    rng = random.Random(0)
    for scene in scenes(300):
        for obj in scene.objects:
            phrase = object_phrase(obj, rng)
            assert any(w in phrase for w in ROW_WORDS[obj.row]), (obj.row, phrase)
            for row, words in ROW_WORDS.items():
                if row != obj.row and row != "middle":
                    assert not any(w in phrase for w in words), (obj.row, phrase)
            if obj.kind == "sea":
                continue
            assert any(w in phrase for w in COLUMN_WORDS[obj.column]), (obj.column, phrase)
            for column in ("left", "right"):
                if column != obj.column:
                    assert column not in phrase, (obj.column, phrase)


def template_signature(caption: str) -> tuple[str, bool, bool, bool, bool]:
    return (
        caption.split()[0],
        ":" in caption,
        bool(re.search(r" (over|above) ", caption)),
        " with " in caption,
        caption.startswith(("on a", "on an", "at ", "in the ", "by ", "during", "under")),
    )


def test_captions_vary_in_wording(works: dict[str, list[SampleWork]]) -> None:
    captions = [w.caption for batch in works.values() for w in batch]
    assert len(set(captions)) == len(captions)
    assert len({template_signature(c) for c in captions}) >= 12
    assert len({" ".join(c.split()[:2]) for c in captions}) >= 15
    scene = random_scene(random.Random(11))
    rewordings = {describe(scene, random.Random(seed)) for seed in range(40)}
    assert len(rewordings) >= 35


# ---------------------------------------------------------------------------------------------
# Styles: the same scene in each, and each style distinguishable
# ---------------------------------------------------------------------------------------------


def thumbnail(image: Image.Image) -> np.ndarray:
    """A 12 x 12 colour thumbnail, standardised so that a palette shift does not matter."""
    small = np.asarray(image.convert("RGB").resize((12, 12), Image.Resampling.BOX), np.float64)
    standardised: np.ndarray = ((small - small.mean()) / (small.std() + 1e-9)).ravel()
    return standardised


def test_every_style_shows_the_same_scene() -> None:
    scenes_ = [random_scene(random.Random(100 + i)) for i in range(10)]
    layouts = [thumbnail(render_layout(scene, 128)) for scene in scenes_]
    for artist in ARTISTS:
        hits = 0
        for i, scene in enumerate(scenes_):
            painted = thumbnail(artist.render(scene, i, 128))
            correlations = [float(painted @ layout) for layout in layouts]
            hits += int(np.argmax(correlations) == i)
        assert hits >= 9, (artist.handle, hits)


def style_features(image: Image.Image) -> np.ndarray:
    """Simple statistics of a picture: saturation, edges, local variance, colour histogram."""
    rgb = np.asarray(image.convert("RGB"), np.float64) / 255.0
    high, low = rgb.max(axis=2), rgb.min(axis=2)
    saturation = (high - low) / np.maximum(high, 1e-6)
    gray = rgb @ np.asarray([0.299, 0.587, 0.114])
    grad_y, grad_x = np.gradient(gray)
    magnitude = np.hypot(grad_x, grad_y)
    n = gray.shape[0] // 4 * 4
    blocks = gray[:n, :n].reshape(n // 4, 4, n // 4, 4)
    local_sd = np.sqrt(blocks.var(axis=(1, 3)))
    histogram = np.concatenate(
        [np.histogram(rgb[..., c], bins=4, range=(0.0, 1.0))[0] / gray.size for c in range(3)]
    )
    scalars = [
        saturation.mean(),
        saturation.std(),
        (magnitude > 0.04).mean(),
        (magnitude > 0.15).mean(),
        magnitude.mean(),
        local_sd.mean(),
        np.median(local_sd),
        high.mean(),
    ]
    return np.concatenate([np.asarray(scalars), histogram])


# Statistics of texture count fully; the colour histogram (which follows the subject) less.
FEATURE_WEIGHTS = np.asarray([1.0] * 8 + [0.3] * 12)


def attribution_accuracy(works: dict[str, list[SampleWork]]) -> tuple[float, list[str]]:
    """Fit a nearest-centroid classifier on even-numbered works, score it on the odd ones."""
    train_x: list[np.ndarray] = []
    test_x: list[np.ndarray] = []
    train_y: list[str] = []
    test_y: list[str] = []
    for handle, batch in works.items():
        for index, work in enumerate(batch):
            features = style_features(work.image())
            (train_x if index % 2 == 0 else test_x).append(features)
            (train_y if index % 2 == 0 else test_y).append(handle)
    x, y = np.asarray(train_x), np.asarray(train_y)
    handles = sorted(set(train_y))
    # Standardise by the spread within one artist's works, so subject matter counts for little.
    spread = np.sqrt(np.mean([x[y == h].var(axis=0) for h in handles], axis=0)) + 1e-9
    scale = FEATURE_WEIGHTS / spread
    centroids = np.stack([x[y == h].mean(axis=0) * scale for h in handles])
    z = np.asarray(test_x) * scale
    predicted = [handles[i] for i in np.linalg.norm(z[:, None] - centroids, axis=2).argmin(axis=1)]
    mistakes = [f"{t} as {p}" for p, t in zip(predicted, test_y, strict=True) if p != t]
    return 1.0 - len(mistakes) / len(test_y), mistakes


def test_styles_are_distinguishable_by_simple_statistics(
    works: dict[str, list[SampleWork]],
) -> None:
    accuracy, mistakes = attribution_accuracy(works)
    assert accuracy >= 0.9, mistakes


def test_styles_differ_where_they_claim() -> None:
    scene_list = [random_scene(random.Random(200 + i)) for i in range(4)]

    def stats(handle: str) -> tuple[float, float, float]:
        values = [style_features(SAMPLE_ARTISTS[handle].render(s, 0, 128)) for s in scene_list]
        mean = np.mean(values, axis=0)
        return float(mean[0]), float(mean[3]), float(mean[6])  # saturation, edges, local sd

    ana, bo, cleo, dmitri = (stats(h) for h in ("ana", "bo", "cleo", "dmitri"))
    assert ana[0] < bo[0] and ana[0] < dmitri[0]  # watercolour is muted
    assert ana[1] < min(bo[1], cleo[1], dmitri[1])  # and soft: few strong edges
    assert bo[2] < min(cleo[2], dmitri[2])  # flat shapes have no texture inside
    assert cleo[2] > ana[2] and dmitri[2] > ana[2]  # dots and strokes are busy
    assert all(math.isfinite(v) for v in (*ana, *bo, *cleo, *dmitri))


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def test_export_writes_images_and_caption_sidecars(tmp_path: Path) -> None:
    paths = export_samples(tmp_path, count=2, size=64)
    assert len(paths) == 2 * len(ARTISTS)
    for artist in ARTISTS:
        expected = sample_works(artist, count=2, size=64)
        written = sorted(p for p in paths if p.parent == tmp_path / artist.handle)
        assert [p.name for p in written] == [w.filename for w in expected]
        for path, work in zip(written, expected, strict=True):
            with Image.open(path) as image:
                assert image.size == (64, 64)
            assert path.read_bytes() == work.png
            assert path.with_suffix(".txt").read_text(encoding="utf-8") == work.caption + "\n"
