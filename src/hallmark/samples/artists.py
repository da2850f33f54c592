"""Synthetic sample artists: four painters with distinct habits who render scenes of the world."""

from __future__ import annotations

import hashlib
import io
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from hallmark.samples.scenes import Scene, describe, paint_layers, random_scene

Technique = Literal["watercolour", "flat", "pointillist", "impasto"]
FloatImage = NDArray[np.float64]  # (height, width, 3) in 0..255

MIN_COUNT, MAX_COUNT = 1, 200
_LUMA = np.asarray([0.299, 0.587, 0.114])


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any printable parts (independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# ---------------------------------------------------------------------------------------------
# Shared tools
# ---------------------------------------------------------------------------------------------


def _to_image(rgb: FloatImage) -> Image.Image:
    return Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8), "RGB")


def _blur(rgb: FloatImage, radius: float) -> FloatImage:
    blurred = _to_image(rgb).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(blurred, np.float64)


def _saturate(rgb: FloatImage, factor: float) -> FloatImage:
    luma = (rgb @ _LUMA)[..., None]
    saturated: FloatImage = luma + (rgb - luma) * factor
    return saturated


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> NDArray[np.float64]:
    """Zero-mean noise varying over about size/cells pixels, roughly in [-1, 1]."""
    coarse = rng.uniform(0, 255, (cells + 1, cells + 1)).astype(np.uint8)
    image = Image.fromarray(coarse, "L").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, np.float64) / 127.5 - 1.0


def _edges(labels: NDArray[np.int32]) -> NDArray[np.bool_]:
    """Pixels on the boundary between two differently labelled parts."""
    edge = np.zeros(labels.shape, bool)
    horizontal = labels[:, 1:] != labels[:, :-1]
    vertical = labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= horizontal
    edge[1:, :] |= vertical
    return edge


def _dilate(mask: NDArray[np.bool_], width: int) -> NDArray[np.bool_]:
    """Grow a mask by a square of about width pixels (separable, in numpy)."""
    reach = max(0, width // 2)
    grown = mask.copy()
    for axis in (0, 1):
        source = grown.copy()
        for step in range(1, reach + 1):
            if axis == 0:
                grown[step:, :] |= source[:-step, :]
                grown[:-step, :] |= source[step:, :]
            else:
                grown[:, step:] |= source[:, :-step]
                grown[:, :-step] |= source[:, step:]
    return grown


# ---------------------------------------------------------------------------------------------
# Techniques: each turns a scene into an image in one painter's habits
# ---------------------------------------------------------------------------------------------

_PAPER = np.asarray([246.0, 241.0, 228.0])


def paint_watercolour(scene: Scene, seed: int, size: int) -> Image.Image:
    """Soft, wobbly, muted washes pooling darker at their edges, on grainy paper."""
    rng = np.random.default_rng(seed)
    layers = paint_layers(scene, size)
    rgb = layers.composite().astype(np.float64)
    # 1. Muted palette: less saturated and lifted towards the paper, as thin washes are.
    rgb = _saturate(rgb, 0.72) * 0.84 + _PAPER * 0.16
    # 2. Wobble the washes' edges with a smooth displacement field.
    amplitude = size * 0.012
    ys, xs = np.mgrid[0:size, 0:size]
    dx = _smooth_noise(rng, size, 10) * amplitude
    dy = _smooth_noise(rng, size, 10) * amplitude
    xi = np.clip((xs + dx).round().astype(np.intp), 0, size - 1)
    yi = np.clip((ys + dy).round().astype(np.intp), 0, size - 1)
    rgb = rgb[yi, xi]
    rims = _edges(layers.labels[yi, xi])
    # 3. Bleed the washes into each other, then let pigment pool in a rim where they meet.
    rgb = _blur(rgb, size * 0.007)
    rim = np.asarray(
        Image.fromarray(rims.astype(np.uint8) * 255, "L").filter(
            ImageFilter.GaussianBlur(size * 0.004)
        ),
        np.float64,
    )
    rgb = rgb * (1.0 - 0.5 * np.clip(rim / 255.0, 0.0, 0.6))[..., None]
    # 4. Uneven pigment density across each wash (blooms) and fine paper grain.
    blooms = 1.0 + 0.07 * _smooth_noise(rng, size, 7)[..., None]
    grain_raw = rng.normal(0.0, 1.0, (size, size))
    grain = np.asarray(
        Image.fromarray(np.clip(grain_raw * 40 + 128, 0, 255).astype(np.uint8), "L").filter(
            ImageFilter.GaussianBlur(0.6)
        ),
        np.float64,
    )
    grain = (grain - 128.0) / 128.0
    rgb = rgb * blooms * (1.0 + 0.06 * grain[..., None])
    rgb = rgb * 0.94 + _PAPER * 0.06 * (1.0 + 0.5 * grain[..., None])
    # 5. A ragged margin of unpainted paper.
    margin = size * (0.025 + 0.012 * _smooth_noise(rng, size, 12))
    border = np.minimum(np.minimum(xs, size - 1 - xs), np.minimum(ys, size - 1 - ys))
    paper = _PAPER * (1.0 + 0.04 * grain[..., None])
    rgb = np.where((border < margin)[..., None], paper, rgb)
    return _to_image(rgb)


_INK = np.asarray([22.0, 20.0, 24.0])


def paint_flat(scene: Scene, seed: int, size: int) -> Image.Image:
    """Flat, saturated poster colours in hard-edged shapes with thick black outlines."""
    rng = np.random.default_rng(seed)
    scale = 2  # paint twice as large, then reduce: crisp but smooth edges
    big = size * scale
    layers = paint_layers(scene, big)
    labels = layers.labels
    # 1. One flat colour per part: the sky's gradient becomes a single poster colour.
    count = np.bincount(labels.ravel()).astype(np.float64)
    count[count == 0] = 1.0
    means = np.stack(
        [np.bincount(labels.ravel(), weights=layers.rgb[..., c].ravel()) / count for c in range(3)],
        axis=1,
    )
    rgb = _saturate(means, 1.3)[labels]
    # 2. Thick ink outlines (their weight varies a little from picture to picture); small parts
    #    such as birds keep their colour inside and are outlined from the outside only.
    thickness = round(big * (0.011 + 0.002 * rng.random()))
    outline = _dilate(_edges(labels), thickness)
    small = np.flatnonzero(count < (big * 0.06) ** 2)
    outline &= ~np.isin(labels, small)
    rgb = np.where(outline[..., None], _INK, rgb)
    # 3. Rain as crisp pale dashes on top, without outlines.
    if layers.rain.any():
        rain = (layers.rain > 0.25)[..., None]
        rgb = np.where(rain, np.asarray([225.0, 235.0, 250.0]), rgb)
    image = _to_image(rgb)
    return image.resize((size, size), Image.Resampling.BOX)


_GROUND_CREAM = (250, 246, 233)


def paint_pointillist(scene: Scene, seed: int, size: int) -> Image.Image:
    """The scene built from small dots of bright colour on a light ground, in two passes."""
    rng = np.random.default_rng(seed)
    layers = paint_layers(scene, size)
    rgb = _saturate(layers.composite().astype(np.float64), 1.25)
    rgb = rgb * 0.88 + 255.0 * 0.12
    source = _blur(rgb, size * 0.004)
    image = Image.new("RGB", (size, size), _GROUND_CREAM)
    draw = ImageDraw.Draw(image)
    # 1. A jittered grid of dots covering the whole picture.
    spacing = size / 56.0
    n = round(size / spacing)
    gy, gx = np.mgrid[0:n, 0:n]
    centres = np.stack([gx.ravel(), gy.ravel()], axis=1) + 0.5
    centres = (centres + rng.uniform(-0.3, 0.3, centres.shape)) * spacing
    radii = spacing * rng.uniform(0.52, 0.68, len(centres))
    # 2. Smaller dots where the layout has detail, so that small things keep their shape.
    detail = np.argwhere(_dilate(_edges(layers.labels), max(3, round(size * 0.012))))
    picks = detail[rng.choice(len(detail), min(len(detail), size * 6), replace=False)]
    fine = picks[:, ::-1] + rng.uniform(0.0, 1.0, picks.shape)
    centres = np.concatenate([centres, fine])
    radii = np.concatenate([radii, spacing * rng.uniform(0.28, 0.38, len(fine))])
    # 3. Each dot takes the colour under it, varied as divisionist painters varied theirs.
    xi = np.clip(centres[:, 0].astype(np.intp), 0, size - 1)
    yi = np.clip(centres[:, 1].astype(np.intp), 0, size - 1)
    colours = source[yi, xi] + rng.normal(0.0, 10.0, (len(centres), 3))
    tint = rng.random(len(centres)) < 0.12
    colours[tint] = colours[tint] * 0.65 + 255.0 * 0.35
    shift = rng.random(len(centres)) < 0.1
    colours[shift] = colours[shift][:, [1, 2, 0]] * 0.2 + colours[shift] * 0.8
    colours = np.clip(colours, 0, 255).round().astype(np.int64)
    order = np.concatenate([rng.permutation(n * n), np.arange(n * n, len(centres))])
    for k in order:
        x, y, r = centres[k, 0], centres[k, 1], radii[k]
        c = colours[k]
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(int(c[0]), int(c[1]), int(c[2])))
    return image


def paint_impasto(scene: Scene, seed: int, size: int) -> Image.Image:
    """Thick directional brush strokes in rich colour, lit from the top left so ridges shine."""
    rng = np.random.default_rng(seed)
    layers = paint_layers(scene, size)
    rgb = layers.composite().astype(np.float64)
    # 1. Rich, slightly warm and dark palette.
    rgb = _saturate(rgb, 1.3)
    rgb = 255.0 * (np.clip(rgb, 0, 255) / 255.0) ** 1.15 + np.asarray([8.0, 0.0, -8.0])
    # 2. Stroke directions: along the contours of the layout, else the painter's habit.
    luma = _blur(rgb, size * 0.02) @ _LUMA
    grad_y, grad_x = np.gradient(luma)
    magnitude = np.hypot(grad_x, grad_y)
    along = np.arctan2(grad_y, grad_x) + np.pi / 2
    ys = np.arange(size)[:, None] / size
    habit = np.where(ys < 0.5, 0.12, -0.55) + 0.35 * _smooth_noise(rng, size, 5)
    angle = np.where(magnitude > 1.5, along, habit)
    # 3. Underpainting, then a pass of broad strokes and a pass of small ones on the details.
    #    Every stroke remembers which part of the layout it was loaded from (`owner`), so that
    #    paint carried across a contour can be cut back, as a painter cuts in an edge.
    canvas = _to_image(_blur(rgb, size * 0.008))
    height = Image.new("L", (size, size), 60)
    owner = Image.fromarray(layers.labels, "I")
    paint, relief, owned = ImageDraw.Draw(canvas), ImageDraw.Draw(height), ImageDraw.Draw(owner)
    detail = np.argwhere(_dilate(_edges(layers.labels), max(3, round(size * 0.01))))
    passes = [
        (size * 0.075, size * 0.03, rng.uniform(0, size, (round(size * size / 62.0), 2))),
        (size * 0.035, size * 0.014, detail[rng.choice(len(detail), size * 5)][:, ::-1] + 0.5),
    ]
    for length, width, points in passes:
        theta = angle[
            np.clip(points[:, 1].astype(np.intp), 0, size - 1),
            np.clip(points[:, 0].astype(np.intp), 0, size - 1),
        ] + rng.normal(0.0, 0.15, len(points))
        half = length * rng.uniform(0.35, 0.6, len(points))
        ends = np.stack([np.cos(theta), np.sin(theta)], axis=1) * half[:, None]
        normal = np.stack([-np.sin(theta), np.cos(theta)], axis=1) * width * 0.22
        xi = np.clip(points[:, 0].astype(np.intp), 0, size - 1)
        yi = np.clip(points[:, 1].astype(np.intp), 0, size - 1)
        colours = np.clip(rgb[yi, xi] + rng.normal(0.0, 9.0, (len(points), 3)), 0, 255)
        colours = colours.round().astype(np.int64)
        sources = layers.labels[yi, xi]
        levels = rng.integers(90, 150, len(points))
        w = max(2, round(width))
        for k in range(len(points)):
            p, e, q = points[k], ends[k], normal[k]
            a, b = (p[0] - e[0], p[1] - e[1]), (p[0] + e[0], p[1] + e[1])
            c = colours[k]
            paint.line((a, b), fill=(int(c[0]), int(c[1]), int(c[2])), width=w)
            owned.line((a, b), fill=int(sources[k]), width=w)
            level = int(levels[k])
            relief.line((a, b), fill=level, width=w)
            for side, bump in ((1.0, 45), (-1.0, 25)):
                offset = (q[0] * side, q[1] * side)
                relief.line(
                    ((a[0] + offset[0], a[1] + offset[1]), (b[0] + offset[0], b[1] + offset[1])),
                    fill=level + bump,
                    width=max(1, w // 4),
                )
    # 4. Light the paint's relief from the top left: shadows in the furrows, highlights on ridges.
    painted = np.asarray(canvas, np.float64)
    strayed = np.asarray(owner, np.int32) != layers.labels
    noise = rng.normal(0.0, 6.0, (size, size, 1))
    painted = np.where(strayed[..., None], rgb + noise, painted)
    relief_map = np.asarray(height.filter(ImageFilter.GaussianBlur(0.8)), np.float64)
    hy, hx = np.gradient(relief_map)
    light = -(hx + hy) / np.sqrt(2.0)
    shade = 1.0 + np.clip(light * 0.03, -0.3, 0.3)
    # Glossy paint catches the light whatever its colour: on dark paint the relief shows as sheen.
    darkness = 1.0 - (painted @ _LUMA) / 255.0
    sheen = np.clip(light, -12.0, 14.0) * (0.5 + 1.3 * darkness)
    highlight = np.clip((light - 8.0) / 12.0, 0.0, 1.0) ** 2 * 60.0
    out = painted * shade[..., None] + (sheen + highlight)[..., None]
    return _to_image(out)


_TECHNIQUES: dict[Technique, Callable[[Scene, int, int], Image.Image]] = {
    "watercolour": paint_watercolour,
    "flat": paint_flat,
    "pointillist": paint_pointillist,
    "impasto": paint_impasto,
}


# ---------------------------------------------------------------------------------------------
# Artists and their works
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleArtist:
    """A synthetic painter: who they are, their style in one line, and the technique they use."""

    handle: str
    display_name: str
    style: str
    technique: Technique

    def render(self, scene: Scene, seed: int, size: int = 256) -> Image.Image:
        """The scene painted in this artist's style; the same seed gives the same pixels."""
        if not 32 <= size <= 2048:
            raise ValueError(f"size must be between 32 and 2048 pixels, got {size}")
        return _TECHNIQUES[self.technique](scene, derive_seed(self.handle, seed), size)


@dataclass(frozen=True)
class SampleWork:
    """One captioned work by a sample artist, as PNG bytes ready to upload."""

    filename: str
    caption: str
    scene: Scene
    png: bytes

    def image(self) -> Image.Image:
        """The work decoded."""
        return Image.open(io.BytesIO(self.png)).convert("RGB")


SAMPLE_ARTISTS: dict[str, SampleArtist] = {
    artist.handle: artist
    for artist in (
        SampleArtist(
            "ana",
            "Ana Whitlow",
            "Soft watercolour washes bleeding into each other on grainy paper, in muted colours.",
            "watercolour",
        ),
        SampleArtist(
            "bo",
            "Bo Lindqvist",
            "Flat poster colours in hard-edged shapes with thick black outlines.",
            "flat",
        ),
        SampleArtist(
            "cleo",
            "Cleo Marchetti",
            "Pointillist dots of bright colour on a light cream ground.",
            "pointillist",
        ),
        SampleArtist(
            "dmitri",
            "Dmitri Volkov",
            "Thick impasto brush strokes that follow the forms, lit so the ridges shine.",
            "impasto",
        ),
    )
}


def slugify(text: str, max_length: int = 48) -> str:
    """Lower-case words joined by hyphens, cut at a word boundary."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "untitled"


def check_inputs(count: int, size: int) -> None:
    """Refuse counts and sizes outside what the samples support."""
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise ValueError(f"count must be between {MIN_COUNT} and {MAX_COUNT}, got {count}")
    if not 32 <= size <= 2048:
        raise ValueError(f"size must be between 32 and 2048 pixels, got {size}")


def sample_works(
    artist: SampleArtist, count: int = 24, size: int = 256, seed: int = 0
) -> list[SampleWork]:
    """An artist's captioned works: the same arguments always give the same bytes."""
    check_inputs(count, size)
    works: list[SampleWork] = []
    for index in range(count):
        # 1. A scene of the world and a caption that tells the truth about it.
        rng = random.Random(derive_seed("scene", artist.handle, seed, index))
        scene = random_scene(rng)
        caption = describe(scene, rng)
        # 2. The artist paints it.
        image = artist.render(scene, derive_seed("paint", seed, index), size)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=3)
        filename = f"{index + 1:02d}-{slugify(caption)}.png"
        works.append(SampleWork(filename, caption, scene, buffer.getvalue()))
    return works
