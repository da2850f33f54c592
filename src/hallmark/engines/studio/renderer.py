"""Paint a coarse layout in an artist's own texture: coarse-to-fine patch nearest neighbours.

After GPNN (Granot et al., CVPR 2022): at each scale the image so far is cut into overlapping
patches; each is matched against blurred patches of the artist's works and replaced by the sharp
patch found there; overlaps are blended with a Gaussian window. A second pass at each scale
matches against the sharp patches themselves, which removes most seams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

PATCH = 8
PCA_DIMS = 32
EXACT_LIMIT = 40_000
PROBES = 12
FloatImage = NDArray[np.float32]


@dataclass(frozen=True)
class Scale:
    """One level of the pyramid: its size and the strides used to cut patches."""

    size: int
    key_stride: int
    query_stride: int


DEFAULT_SCALES: tuple[Scale, ...] = (Scale(64, 2, 2), Scale(128, 2, 4), Scale(256, 4, 4))


def _resize(pixels: FloatImage, size: int) -> FloatImage:
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    resized = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized, np.float32)


def _patches(pixels: FloatImage, stride: int) -> NDArray[np.float32]:
    """Every PATCH x PATCH patch at `stride`, flattened: (count, PATCH*PATCH*3)."""
    windows = np.lib.stride_tricks.sliding_window_view(pixels, (PATCH, PATCH, 3))
    windows = windows[::stride, ::stride, 0]
    return np.ascontiguousarray(windows.reshape(-1, PATCH * PATCH * 3), np.float32)


def _positions(size: int, stride: int) -> list[int]:
    last = size - PATCH
    points = list(range(0, last + 1, stride))
    if points[-1] != last:
        points.append(last)
    return points


def _gaussian_window() -> FloatImage:
    axis = np.arange(PATCH, dtype=np.float32) - (PATCH - 1) / 2
    g = np.exp(-(axis**2) / (2 * (PATCH / 4) ** 2))
    return np.outer(g, g).astype(np.float32)[:, :, None]


def _search_index(vectors: NDArray[np.float32]) -> Any:
    """Exact search for small sets; an inverted file (k-means cells) past EXACT_LIMIT vectors."""
    import faiss

    index: Any
    if len(vectors) <= EXACT_LIMIT:
        index = faiss.IndexFlatL2(PCA_DIMS)
    else:
        cells = int(4 * np.sqrt(len(vectors)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(PCA_DIMS), PCA_DIMS, cells)
        index.cp.seed = 0
        index.train(vectors[:: max(1, len(vectors) // (cells * 40))])
        index.nprobe = PROBES
    index.add(vectors)
    return index


class _Level:
    """The artist's patches at one scale: blurred keys, sharp values, a PCA and a search index."""

    def __init__(self, works: list[FloatImage], scale: Scale) -> None:
        self.scale = scale
        sharp = [_resize(work, scale.size) for work in works]
        blurred = [_resize(_resize(work, scale.size // 2), scale.size) for work in sharp]
        self.values = np.concatenate([_patches(w, scale.key_stride) for w in sharp])
        blurred_keys = np.concatenate([_patches(w, scale.key_stride) for w in blurred])
        self.mean = self.values.mean(axis=0)
        centred = self.values - self.mean
        sample = centred[:: max(1, len(centred) // 20000)].astype(np.float64)
        _, vectors = np.linalg.eigh(sample.T @ sample)
        self.components = np.ascontiguousarray(vectors[:, ::-1][:, :PCA_DIMS], np.float32)
        self.blurred_index = _search_index(self._project(blurred_keys))
        self.sharp_index = _search_index(self._project(self.values))

    def _project(self, patches: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.ascontiguousarray((patches - self.mean) @ self.components, np.float32)

    def replace(self, pixels: FloatImage, sharp: bool) -> FloatImage:
        """Each patch of `pixels` replaced by its nearest artist patch, blended back together."""
        size, stride = self.scale.size, self.scale.query_stride
        ys = _positions(size, stride)
        xs = _positions(size, stride)
        windows = np.lib.stride_tricks.sliding_window_view(pixels, (PATCH, PATCH, 3))[:, :, 0]
        queries = np.ascontiguousarray(
            windows[np.ix_(ys, xs)].reshape(-1, PATCH * PATCH * 3), np.float32
        )
        index = self.sharp_index if sharp else self.blurred_index
        _, found = index.search(self._project(queries), 1)
        chosen = self.values[found[:, 0]].reshape(-1, PATCH, PATCH, 3)
        weight = _gaussian_window()
        total = np.zeros((size, size, 3), np.float32)
        norm = np.zeros((size, size, 1), np.float32)
        k = 0
        for y in ys:
            for x in xs:
                total[y : y + PATCH, x : x + PATCH] += chosen[k] * weight
                norm[y : y + PATCH, x : x + PATCH] += weight
                k += 1
        blended: FloatImage = (total / np.maximum(norm, 1e-6)).astype(np.float32)
        return blended


class PatchRenderer:
    """An artist's works as a patch pyramid, ready to paint layouts in their texture."""

    def __init__(
        self,
        works: list[Image.Image],
        scales: tuple[Scale, ...] = DEFAULT_SCALES,
        mirror: bool = True,
    ) -> None:
        if not works:
            raise ValueError("The renderer needs at least one work to take patches from.")
        arrays = [np.asarray(w.convert("RGB"), np.float32) for w in works]
        if mirror:
            arrays += [a[:, ::-1].copy() for a in arrays]
        self.levels = [_Level(arrays, scale) for scale in scales]

    @property
    def output_size(self) -> int:
        """The side of the images this renderer paints."""
        return self.levels[-1].scale.size

    def render(self, layout: Image.Image, seed: int, noise: float = 12.0) -> Image.Image:
        """The layout, upsampled level by level, repainted from the artist's patches."""
        rng = np.random.default_rng(seed)
        pixels = np.asarray(layout.convert("RGB"), np.float32)
        for number, level in enumerate(self.levels):
            pixels = _resize(pixels, level.scale.size)
            if number == 0:
                pixels = pixels + rng.normal(0.0, noise, pixels.shape).astype(np.float32)
            pixels = level.replace(pixels, sharp=False)
            pixels = level.replace(pixels, sharp=True)
        return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")
