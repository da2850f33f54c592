"""Paint a coarse layout in an artist's own texture: coarse-to-fine patch nearest neighbours.

After GPNN (Granot et al., CVPR 2022): at each scale the image so far is cut into overlapping
patches; each is matched against blurred patches of the artist's works and replaced by the sharp
patch found there. A second pass at each scale matches against the sharp patches themselves,
which removes most seams. Three choices keep the artist's texture and the layout's colours:

- coherence (after Ashikhmin, 2001): a patch that continues its left or upper neighbour's
  source, one stride on in the same work, is preferred over the nearest match unless it fits
  much worse, so strokes and dots are copied in runs rather than averaged from strangers;
  a run is cut after 16 continuations, or it can rebuild a whole region of one work in place;
- each pixel comes from the central part of the patches covering it, not a wide blend, which
  would halve the fine detail (measured: docs/benchmarks.md);
- between scales the picture's low frequencies are pulled back to the layout's, so that small
  objects the patches lost at one scale are searched for again at the next.

The works' mirror images double the patches to choose from, unless the artist's strokes have a
hand: strokes that lean one way in every work lean the other way in its mirror, and a picture
painted from both has no lean at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

PATCH = 8
PCA_DIMS = 32
EXACT_LIMIT = 40_000
PROBES = 12
LOW_FREQUENCY_RADIUS = 6.0  # Gaussian radius at 256 px of the colours kept from the layout
ORIENTATION_BINS = 8
FloatImage = NDArray[np.float32]


@dataclass(frozen=True)
class Scale:
    """One level of the pyramid: its size and the strides used to cut patches."""

    size: int
    key_stride: int
    query_stride: int


@dataclass(frozen=True)
class RenderSettings:
    """How patches are chosen and put together; `plain()` leaves out all three choices."""

    coherence: float = 2.0  # a continuation is taken within (1 + this) x the nearest distance
    # Continuations in a row before a fresh nearest patch: unbounded runs can rebuild a whole
    # region of one work in place, which the copy guard rightly calls a copy.
    longest_run: int = 16
    centre_half_width: float | None = 2.0  # pixels from a patch's centre painted at full weight
    keep_layout_colours: bool = True

    @classmethod
    def plain(cls) -> RenderSettings:
        """Nearest patches, a Gaussian blend, no colour correction: the baseline of the bench."""
        return cls(coherence=0.0, centre_half_width=None, keep_layout_colours=False)


@dataclass(frozen=True)
class Grid:
    """The top-left corners of the patches cut from a picture, row by row."""

    ys: list[int]
    xs: list[int]


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


def _window(centre_half_width: float | None) -> FloatImage:
    """Full weight on each patch's central pixels, a faint Gaussian elsewhere (for the borders).

    Without a centre width, the Gaussian alone: overlapping patches are averaged.
    """
    axis = np.arange(PATCH, dtype=np.float32) - (PATCH - 1) / 2
    bell = np.exp(-(axis**2) / (2 * (PATCH / 4) ** 2))
    window: FloatImage = np.outer(bell, bell).astype(np.float32)
    if centre_half_width is not None:
        centre = (np.abs(axis) < centre_half_width).astype(np.float32)
        window = np.outer(centre, centre) + np.float32(1e-3) * window
    return window[:, :, None]


def _blur(pixels: FloatImage, radius: float) -> FloatImage:
    image = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")
    return np.asarray(image.filter(ImageFilter.GaussianBlur(radius)), np.float32)


def keep_layout_colours(pixels: FloatImage, layout: Image.Image) -> FloatImage:
    """The picture with its low frequencies replaced by the layout's (its texture is kept)."""
    size = pixels.shape[0]
    target = np.asarray(
        layout.convert("RGB").resize((size, size), Image.Resampling.BICUBIC), np.float32
    )
    radius = LOW_FREQUENCY_RADIUS * size / 256
    corrected: FloatImage = pixels + _blur(target, radius) - _blur(pixels, radius)
    return corrected


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

    def __init__(self, works: list[FloatImage], scale: Scale, settings: RenderSettings) -> None:
        self.scale = scale
        self.settings = settings
        self.window = _window(settings.centre_half_width)
        sharp = [_resize(work, scale.size) for work in works]
        blurred = [_resize(_resize(work, scale.size // 2), scale.size) for work in sharp]
        self.values = np.concatenate([_patches(w, scale.key_stride) for w in sharp])
        blurred_keys = np.concatenate([_patches(w, scale.key_stride) for w in blurred])
        self.mean = self.values.mean(axis=0)
        centred = self.values - self.mean
        sample = centred[:: max(1, len(centred) // 20000)].astype(np.float64)
        _, vectors = np.linalg.eigh(sample.T @ sample)
        self.components = np.ascontiguousarray(vectors[:, ::-1][:, :PCA_DIMS], np.float32)
        self.blurred_keys = self._project(blurred_keys)
        self.sharp_keys = self._project(self.values)
        self.blurred_index = _search_index(self.blurred_keys)
        self.sharp_index = _search_index(self.sharp_keys)
        self.grid = len(range(0, scale.size - PATCH + 1, scale.key_stride))

    def _project(self, patches: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.ascontiguousarray((patches - self.mean) @ self.components, np.float32)

    def continuation(self, source: int, down: int, right: int) -> int | None:
        """The patch `down` and `right` pixels on from `source` in the same work, if any."""
        if down % self.scale.key_stride or right % self.scale.key_stride:
            return None
        work, rest = divmod(source, self.grid * self.grid)
        row, column = divmod(rest, self.grid)
        row += down // self.scale.key_stride
        column += right // self.scale.key_stride
        if row >= self.grid or column >= self.grid:
            return None
        return (work * self.grid + row) * self.grid + column

    def coherent_picks(
        self,
        queries: NDArray[np.float32],
        keys: NDArray[np.float32],
        nearest_distances: NDArray[np.float32],
        nearest: NDArray[np.int64],
        grid: Grid,
    ) -> NDArray[np.int64]:
        """In reading order, each query's nearest patch, or a neighbour's continuation."""
        if self.settings.coherence <= 0:
            return nearest.astype(np.int64)
        picks = np.empty(len(queries), np.int64)
        runs = np.zeros(len(queries), np.int64)  # continuations since the last fresh pick
        ys, xs = grid.ys, grid.xs
        for row, y in enumerate(ys):
            for column, x in enumerate(xs):
                k = row * len(xs) + column
                pick, limit, run = (
                    int(nearest[k]),
                    float(nearest_distances[k]) * (1 + self.settings.coherence),
                    0,
                )
                neighbours = []
                if column > 0:
                    neighbours.append((k - 1, 0, x - xs[column - 1]))
                if row > 0:
                    neighbours.append((k - len(xs), y - ys[row - 1], 0))
                for neighbour, down, right in neighbours:
                    if runs[neighbour] >= self.settings.longest_run:
                        continue
                    candidate = self.continuation(int(picks[neighbour]), down, right)
                    if candidate is None:
                        continue
                    distance = float(((keys[candidate] - queries[k]) ** 2).sum())
                    if distance <= limit:
                        pick, limit, run = candidate, distance, int(runs[neighbour]) + 1
                picks[k], runs[k] = pick, run
        return picks

    def choose(self, pixels: FloatImage, sharp: bool) -> tuple[NDArray[np.int64], Grid]:
        """The artist patch chosen for each patch of `pixels`, and where those patches sit."""
        size, stride = self.scale.size, self.scale.query_stride
        grid = Grid(_positions(size, stride), _positions(size, stride))
        windows = np.lib.stride_tricks.sliding_window_view(pixels, (PATCH, PATCH, 3))[:, :, 0]
        queries = np.ascontiguousarray(
            windows[np.ix_(grid.ys, grid.xs)].reshape(-1, PATCH * PATCH * 3), np.float32
        )
        index, keys = (
            (self.sharp_index, self.sharp_keys)
            if sharp
            else (self.blurred_index, self.blurred_keys)
        )
        projected = self._project(queries)
        distances, found = index.search(projected, 1)
        picks = self.coherent_picks(projected, keys, distances[:, 0], found[:, 0], grid)
        return picks, grid

    def paint(self, picks: NDArray[np.int64], grid: Grid) -> FloatImage:
        """The chosen patches put together, each pixel weighted by its place in each patch."""
        size = self.scale.size
        chosen = self.values[picks].reshape(-1, PATCH, PATCH, 3)
        total = np.zeros((size, size, 3), np.float32)
        norm = np.zeros((size, size, 1), np.float32)
        k = 0
        for y in grid.ys:
            for x in grid.xs:
                total[y : y + PATCH, x : x + PATCH] += chosen[k] * self.window
                norm[y : y + PATCH, x : x + PATCH] += self.window
                k += 1
        painted: FloatImage = (total / np.maximum(norm, 1e-6)).astype(np.float32)
        return painted

    def replace(self, pixels: FloatImage, sharp: bool) -> FloatImage:
        """Each patch of `pixels` replaced by an artist patch (against blurred or sharp keys)."""
        return self.paint(*self.choose(pixels, sharp))


def stroke_orientations(pixels: FloatImage) -> NDArray[np.float64]:
    """The share of the picture's edge strength along each direction, 0 to 180 degrees."""
    grey = pixels.astype(np.float64).mean(axis=2)
    gy, gx = np.gradient(grey)
    angle = np.arctan2(gy, gx) % np.pi
    histogram = np.histogram(
        angle, bins=ORIENTATION_BINS, range=(0, np.pi), weights=np.hypot(gx, gy)
    )[0]
    shares: NDArray[np.float64] = histogram / max(float(histogram.sum()), 1e-9)
    return shares


def strokes_have_a_hand(works: list[FloatImage]) -> bool:
    """Do the works' strokes lean one way, so that their mirror images paint another hand?

    The works' mean stroke orientations are set against their mirrors': they have a hand when
    the two differ by more than twice as much as one work differs from the mean.
    """
    own = np.stack([stroke_orientations(work) for work in works])
    mirrored = np.stack([stroke_orientations(work[:, ::-1]) for work in works])
    mean = own.mean(axis=0)
    spread = float(np.abs(own - mean).sum(axis=1).mean())
    return float(np.abs(mirrored.mean(axis=0) - mean).sum()) > 2 * spread


class PatchRenderer:
    """An artist's works as a patch pyramid, ready to paint layouts in their texture."""

    def __init__(
        self,
        works: list[Image.Image],
        scales: tuple[Scale, ...] = DEFAULT_SCALES,
        mirror: bool | None = None,
        settings: RenderSettings | None = None,
    ) -> None:
        """`mirror`: also paint from the works' mirror images (None: unless strokes have a hand)."""
        if not works:
            raise ValueError("The renderer needs at least one work to take patches from.")
        arrays = [np.asarray(w.convert("RGB"), np.float32) for w in works]
        self.mirrored = not strokes_have_a_hand(arrays) if mirror is None else mirror
        if self.mirrored:
            arrays += [a[:, ::-1].copy() for a in arrays]
        self.settings = settings or RenderSettings()
        self.levels = [_Level(arrays, scale, self.settings) for scale in scales]

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
            if self.settings.keep_layout_colours and number < len(self.levels) - 1:
                pixels = keep_layout_colours(pixels, layout)
        return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")
