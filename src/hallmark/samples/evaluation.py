"""Measuring generated images against the world: prompt adherence, style attribution, novelty.

Adherence is checked procedurally from the scene a prompt describes: for each named object,
does its named colour cover its named place about as much as it does in the plain drawing of
the scene? Style attribution uses a nearest-centroid classifier on colour, gradient and
random-network Gram statistics, each family weighted equally. Novelty compares outputs with the
works they were learnt from.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from hallmark.samples.scenes import (
    PALETTE,
    Scene,
    SceneObject,
    ground_colour,
    render_layout,
    sky_colour,
)
from hallmark.similarity.fingerprints import PDQ_BITS, hamming
from hallmark.similarity.service import MatchThresholds, PreparedImage, judge_pair

CHECK_SIZE = 48
MIN_SHARE_OF_TRUTH = 0.3  # the named colour must cover this share of what it covers in truth
FloatArray = NDArray[np.float64]


def _cell(obj: SceneObject) -> tuple[slice, slice]:
    """The rows and columns of the named place (a third of the picture each way)."""
    thirds = {"left": 0, "centre": 1, "right": 2, "top": 0, "middle": 1, "bottom": 2}
    step = CHECK_SIZE // 3
    row = thirds[obj.row] * step
    if obj.kind == "sea":
        return slice(row, row + step), slice(0, CHECK_SIZE)
    column = thirds[obj.column] * step
    return slice(row, row + step), slice(column, column + step)


@dataclass(frozen=True)
class ColourMap:
    """How an artist shifts the world's colours: an affine map from plain RGB to painted RGB."""

    matrix: FloatArray  # (4, 3): [r, g, b, 1] @ matrix

    @classmethod
    def identity(cls) -> ColourMap:
        """Colours as the plain drawing has them."""
        return cls(np.vstack([np.eye(3), np.zeros((1, 3))]))

    @classmethod
    def fit(cls, scenes: Sequence[Scene], paint: Callable[[Scene, int], Image.Image]) -> ColourMap:
        """Least squares over the pixels of scenes drawn plainly and as painted by `paint`."""
        plain, painted = [], []
        for number, scene in enumerate(scenes):
            size = CHECK_SIZE * 2
            plain.append(np.asarray(render_layout(scene, size), np.float64).reshape(-1, 3))
            image = paint(scene, number).convert("RGB").resize((size, size), Image.Resampling.BOX)
            painted.append(np.asarray(image, np.float64).reshape(-1, 3))
        x = np.concatenate(plain)
        design = np.hstack([x, np.ones((len(x), 1))])
        matrix, *_ = np.linalg.lstsq(design, np.concatenate(painted), rcond=None)
        return cls(matrix)

    def apply(self, colours: FloatArray) -> FloatArray:
        """Plain colours as this artist paints them."""
        return np.hstack([colours, np.ones((len(colours), 1))]) @ self.matrix


def _references(scene: Scene, colour_map: ColourMap) -> tuple[list[str], FloatArray]:
    """The palette colours plus the scene's sky and ground, as names and (painted) RGB rows."""
    names = list(PALETTE)
    colours = [PALETTE[n] for n in names]
    for y in (0.05, 0.25, 0.45):
        names.append("background")
        colours.append(sky_colour(scene.time, scene.weather, y))
    names.append("background")
    colours.append(ground_colour(scene.time))
    return names, colour_map.apply(np.asarray(colours, np.float64))


def colour_shares(
    image: Image.Image, scene: Scene, colour_map: ColourMap | None = None
) -> list[float]:
    """For each object of the scene, the share of its named place painted its named colour."""
    pixels = np.asarray(
        image.convert("RGB").resize((CHECK_SIZE, CHECK_SIZE), Image.Resampling.BOX), np.float64
    )
    names, colours = _references(scene, colour_map or ColourMap.identity())
    distances = ((pixels[:, :, None, :] - colours[None, None]) ** 2).sum(-1)
    nearest = np.asarray(names, dtype=object)[distances.argmin(-1)]
    shares = []
    for obj in scene.objects:
        rows, columns = _cell(obj)
        shares.append(float((nearest[rows, columns] == obj.colour).mean()))
    return shares


@functools.lru_cache(maxsize=4096)
def _true_shares(scene: Scene) -> tuple[float, ...]:
    return tuple(colour_shares(render_layout(scene, CHECK_SIZE * 2), scene))


def adherence(image: Image.Image, scene: Scene, colour_map: ColourMap | None = None) -> list[bool]:
    """Per object of the scene: is its named colour in its named place in the image?"""
    truth = _true_shares(scene)
    found = colour_shares(image, scene, colour_map)
    return [f >= MIN_SHARE_OF_TRUTH * t and f > 0 for f, t in zip(found, truth, strict=True)]


def adherence_rate(
    images: Sequence[Image.Image], scenes: Sequence[Scene], colour_map: ColourMap | None = None
) -> float:
    """The share of named objects, over all images, found in their colour and place."""
    results = [
        ok
        for image, scene in zip(images, scenes, strict=True)
        for ok in adherence(image, scene, colour_map)
    ]
    return float(np.mean(results)) if results else 0.0


# ---- style features ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _random_filters() -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A fixed random two-layer conv net (seeded): its Gram matrices describe texture."""
    rng = np.random.default_rng(1234)
    first = rng.normal(0, 1, (16, 3, 5, 5)).astype(np.float32)
    second = rng.normal(0, 1, (16, 16, 3, 3)).astype(np.float32)
    first -= first.mean(axis=(1, 2, 3), keepdims=True)
    return first, (second / np.sqrt(16 * 9)).astype(np.float32)


def _gram_features(pixels: NDArray[np.float32], colour: bool) -> FloatArray:
    import torch
    import torch.nn.functional as F

    first, second = _random_filters()
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None] / 255.0
    if not colour:
        x = x.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    x = x - x.mean()
    features = []
    with torch.no_grad():
        h1 = F.relu(F.conv2d(x, torch.from_numpy(first)))
        h2 = F.relu(F.conv2d(F.avg_pool2d(h1, 2), torch.from_numpy(second)))
        for h in (h1, h2):
            flat = h[0].reshape(h.shape[1], -1)
            gram = (flat @ flat.T) / flat.shape[1]
            upper = gram[np.triu_indices(h.shape[1])]
            features.append(np.log1p(upper.numpy().astype(np.float64)))
    return np.concatenate(features)


def _gradient_features(grey: FloatArray) -> FloatArray:
    gy, gx = np.gradient(grey)
    magnitude = np.hypot(gx, gy)
    angle = np.arctan2(gy, gx) % np.pi
    histogram = np.histogram(magnitude, bins=8, range=(0, 64))[0] / magnitude.size
    orientation = np.histogram(angle, bins=8, range=(0, np.pi), weights=magnitude)[0]
    orientation = orientation / max(orientation.sum(), 1e-9)
    laplacian = (
        grey[1:-1, 1:-1] * 4 - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    )
    return np.concatenate(
        [histogram, orientation, [magnitude.mean() / 32, np.log1p(laplacian.var()) / 10]]
    )


def _colour_features(pixels: FloatArray) -> FloatArray:
    hsv = np.asarray(Image.fromarray(pixels.astype(np.uint8), "RGB").convert("HSV"), np.float64)
    stats = [pixels.mean((0, 1)) / 255, pixels.std((0, 1)) / 255, hsv.mean((0, 1)) / 255]
    stats.append(hsv.std((0, 1)) / 255)
    hue = np.histogram(hsv[:, :, 0], bins=12, range=(0, 256), weights=hsv[:, :, 1])[0]
    stats.append(hue / max(hue.sum(), 1e-9))
    return np.concatenate(stats)


def _style_feature_families(image: Image.Image, texture_only: bool) -> list[FloatArray]:
    pixels = np.asarray(
        image.convert("RGB").resize((128, 128), Image.Resampling.BICUBIC), np.float32
    )
    grey = pixels.astype(np.float64).mean(axis=2)
    families = [_gradient_features(grey), _gram_features(pixels, colour=not texture_only)]
    if not texture_only:
        families.append(_colour_features(pixels.astype(np.float64)))
    return families


def style_features(image: Image.Image, texture_only: bool = False) -> FloatArray:
    """Colour, gradient and Gram statistics of an image; texture_only leaves out all colour."""
    return np.concatenate(_style_feature_families(image, texture_only))


@functools.lru_cache(maxsize=2)
def _family_weights(texture_only: bool) -> tuple[float, ...]:
    probe = Image.new("RGB", (8, 8))
    sizes = [len(family) for family in _style_feature_families(probe, texture_only)]
    return tuple(w for size in sizes for w in [1 / np.sqrt(size)] * size)


def style_feature_weights(texture_only: bool = False) -> FloatArray:
    """Per dimension of `style_features`: 1/sqrt(family size), so each family counts equally.

    Unweighted, the 272 Gram dimensions drown the 18 gradient and 24 colour ones, and the
    classifier follows what a picture shows (a dusk sky, a dark sea) rather than how it is
    painted: it then recognised only half of one artist's own paintings of new scenes.
    """
    return np.asarray(_family_weights(texture_only))


@dataclass
class NearestCentroid:
    """Assigns a feature vector to the class whose (standardised) mean is nearest."""

    labels: list[str]
    centroids: FloatArray
    mean: FloatArray
    scale: FloatArray

    @classmethod
    def fit(
        cls, features: FloatArray, labels: Sequence[str], weights: FloatArray | None = None
    ) -> NearestCentroid:
        """Fit on rows of features with their labels; `weights` scale each standardised one."""
        mean = features.mean(axis=0)
        scale = (features.std(axis=0) + 1e-6) / (1.0 if weights is None else weights)
        z = (features - mean) / scale
        names = sorted(set(labels))
        array = np.asarray(labels)
        centroids = np.stack([z[array == name].mean(axis=0) for name in names])
        return cls(names, centroids, mean, scale)

    def predict(self, features: FloatArray) -> list[str]:
        """The nearest class of each row."""
        z = (np.atleast_2d(features) - self.mean) / self.scale
        distances = ((z[:, None, :] - self.centroids[None]) ** 2).sum(-1)
        return [self.labels[i] for i in distances.argmin(axis=1)]


# ---- novelty ----------------------------------------------------------------------------------


def _thumbnail(image: Image.Image) -> FloatArray:
    small = image.convert("RGB").resize((32, 32), Image.Resampling.BOX)
    return np.asarray(small, np.float64).ravel() / 255.0


def novelty(outputs: Sequence[Image.Image], works: Sequence[Image.Image]) -> tuple[float, float]:
    """(closest distance of any output to a work, median distance between two works)."""
    work_vectors = np.stack([_thumbnail(w) for w in works])
    pairwise = np.sqrt(((work_vectors[:, None] - work_vectors[None]) ** 2).sum(-1))
    typical = float(np.median(pairwise[np.triu_indices(len(works), 1)]))
    output_vectors = np.stack([_thumbnail(o) for o in outputs])
    closest = np.sqrt(((output_vectors[:, None] - work_vectors[None]) ** 2).sum(-1)).min()
    return float(closest), typical


@dataclass(frozen=True)
class CopyCheck:
    """How near outputs come to the works by the fingerprints the product's copy guard uses."""

    closest_pdq: int  # fewest PDQ bits between an output (turned or mirrored too) and a work
    typical_pdq: float  # median PDQ bits between two of the works
    near_copies: int  # outputs the guard's pair check calls a copy of some work


def _prepared(image: Image.Image) -> PreparedImage:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return PreparedImage.from_bytes(buffer.getvalue())


def _is_copy(query: PreparedImage, work: PreparedImage) -> bool:
    return judge_pair(query, work.fingerprint, lambda: work.features, MatchThresholds()) is not None


def copy_check(outputs: Sequence[Image.Image], works: Sequence[Image.Image]) -> CopyCheck:
    """Perceptual-hash distances and the near-copy verdicts of outputs against the works."""
    prepared_works = [_prepared(work) for work in works]
    pairwise = [
        hamming(a.fingerprint.pdq, b.fingerprint.pdq)
        for i, a in enumerate(prepared_works)
        for b in prepared_works[i + 1 :]
    ]
    closest, copies = PDQ_BITS, 0
    for output in outputs:
        query = _prepared(output)
        for work in prepared_works:
            closest = min(closest, *(hamming(q, work.fingerprint.pdq) for q in query.queries.pdq))
        copies += any(_is_copy(query, work) for work in prepared_works)
    return CopyCheck(closest, float(np.median(pairwise)) if pairwise else 0.0, copies)


__all__ = [
    "ColourMap",
    "CopyCheck",
    "NearestCentroid",
    "adherence",
    "adherence_rate",
    "colour_shares",
    "copy_check",
    "novelty",
    "style_feature_weights",
    "style_features",
]
