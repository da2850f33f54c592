"""Procedural sample artists and the world they paint: captioned scenes, no downloaded images."""

from __future__ import annotations

from pathlib import Path

from hallmark.samples.artists import (
    SAMPLE_ARTISTS,
    SampleArtist,
    SampleWork,
    Technique,
    derive_seed,
    sample_works,
)
from hallmark.samples.scenes import (
    KIND_COLOURS,
    KIND_WORDS,
    KINDS,
    NUMBER_WORDS,
    PALETTE,
    Kind,
    Layers,
    Scene,
    SceneObject,
    TimeOfDay,
    Weather,
    describe,
    paint_layers,
    random_scene,
    render_layout,
)

__all__ = [
    "KINDS",
    "KIND_COLOURS",
    "KIND_WORDS",
    "NUMBER_WORDS",
    "PALETTE",
    "SAMPLE_ARTISTS",
    "Kind",
    "Layers",
    "SampleArtist",
    "SampleWork",
    "Scene",
    "SceneObject",
    "Technique",
    "TimeOfDay",
    "Weather",
    "derive_seed",
    "describe",
    "export_samples",
    "paint_layers",
    "random_scene",
    "render_layout",
    "sample_works",
]


def export_samples(directory: Path, count: int = 24, size: int = 256, seed: int = 0) -> list[Path]:
    """Write all works as directory/<handle>/<nn>-<slug>.png, each with a .txt caption."""
    paths: list[Path] = []
    for handle, artist in SAMPLE_ARTISTS.items():
        folder = Path(directory) / handle
        folder.mkdir(parents=True, exist_ok=True)
        for work in sample_works(artist, count=count, size=size, seed=seed):
            image_path = folder / work.filename
            image_path.write_bytes(work.png)
            image_path.with_suffix(".txt").write_text(work.caption + "\n", encoding="utf-8")
            paths.append(image_path)
    return paths
