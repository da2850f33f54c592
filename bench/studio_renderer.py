"""The studio renderer alone, on ideal layouts: the patch method against its plain baseline.

Run: .venv/bin/python bench/studio_renderer.py [--prompts 16] [--artists ana,bo]

Each sample artist's renderer (20 works at 256 px) paints the layouts a perfect layout model
would give: the artist's own painting of a held-out scene, shrunk to 32 px. Two settings run on
the same layouts in the same process: `RenderSettings.plain()` (nearest patches, a Gaussian blend
of overlaps, no colour correction) and the defaults (coherent patch runs, each pixel from the
centre of its patches, the layout's low frequencies kept between scales). Reported per artist:
- fine detail: the spread of each image minus its blur at 128 px, against the artist's own
  paintings of the same scenes (a blend of misaligned patches lowers it);
- attribution: the nearest-centroid style classifier of `bench/studio_quality.py`, fitted on
  all artists' works, on the rendered images, full and texture-only;
- prompt adherence of the rendered images (the layout itself and the painting for scale);
- novelty: the closest rendered image to a work over half the typical distance between works;
- seconds per image, and the defaults' time as a ratio of the baseline's.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

from hallmark.engines.studio.renderer import PatchRenderer, RenderSettings
from hallmark.samples import SAMPLE_ARTISTS, SampleArtist, Scene, random_scene, sample_works
from hallmark.samples.evaluation import (
    ColourMap,
    NearestCentroid,
    adherence_rate,
    novelty,
    style_feature_weights,
    style_features,
)

sys.path.insert(0, str(Path(__file__).parent))
from studio_quality import WORKS, attribution, held_out_prompts  # noqa: E402


def fine_detail(image: Image.Image) -> float:
    """The standard deviation of the grey image minus its Gaussian blur, at 128 px."""
    grey = image.convert("L").resize((128, 128), Image.Resampling.BICUBIC)
    blurred = grey.filter(ImageFilter.GaussianBlur(2))
    return float((np.asarray(grey, np.float64) - np.asarray(blurred, np.float64)).std())


def paint_small(artist: SampleArtist, scene: Scene, number: int) -> Image.Image:
    """The artist's painting of a scene at 96 px, as the colour map is fitted on."""
    return artist.render(scene, 5000 + number, 96)


def main() -> None:
    """Render every artist's ideal layouts with both settings and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--artists", default=",".join(SAMPLE_ARTISTS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    handles = [h.strip() for h in args.artists.split(",") if h.strip()]
    works = {
        handle: [w.image() for w in sample_works(SAMPLE_ARTISTS[handle], WORKS, 256, seed=0)]
        for handle in SAMPLE_ARTISTS
    }
    labels = [handle for handle in SAMPLE_ARTISTS for _ in works[handle]]
    all_works = [work for handle in SAMPLE_ARTISTS for work in works[handle]]
    full = NearestCentroid.fit(
        np.stack([style_features(w) for w in all_works]), labels, style_feature_weights()
    )
    texture = NearestCentroid.fit(
        np.stack([style_features(w, True) for w in all_works]), labels, style_feature_weights(True)
    )
    settings = {"plain": RenderSettings.plain(), "default": RenderSettings()}

    print(
        f"{'artist':8} {'settings':8} {'detail':>7} {'truth':>6} {'style':>6} {'texture':>8} "
        f"{'adhere':>7} {'layout':>7} {'truth':>6} {'novelty':>8} {'s/image':>8} {'ratio':>6}"
    )
    for handle in handles:
        artist = SAMPLE_ARTISTS[handle]
        prompts = held_out_prompts(args.prompts, f"bench/renderer/{handle}")
        scenes = [scene for scene, _ in prompts]
        truth = [artist.render(scene, 7000 + i) for i, scene in enumerate(scenes)]
        layouts = [image.resize((32, 32), Image.Resampling.BOX) for image in truth]
        fit_scenes = [random_scene(random.Random(f"bench/colours/{i}")) for i in range(16)]
        colours = ColourMap.fit(fit_scenes, functools.partial(paint_small, artist))
        baseline_seconds = 0.0
        for name, setting in settings.items():
            renderer = PatchRenderer(works[handle], settings=setting)
            made, seconds = [], []
            for number, layout in enumerate(layouts):
                start = time.perf_counter()
                made.append(renderer.render(layout, seed=number))
                seconds.append(time.perf_counter() - start)
            per_image = statistics.median(seconds)
            baseline_seconds = baseline_seconds or per_image
            closest, typical = novelty(made, works[handle])
            print(
                f"{handle:8} {name:8} {np.mean([fine_detail(m) for m in made]):7.1f} "
                f"{np.mean([fine_detail(t) for t in truth]):6.1f} "
                f"{attribution(full, made, handle):6.2f} "
                f"{attribution(texture, made, handle, texture_only=True):8.2f} "
                f"{adherence_rate(made, scenes, colours):7.3f} "
                f"{adherence_rate(layouts, scenes, colours):7.3f} "
                f"{adherence_rate(truth, scenes, colours):6.3f} "
                f"{closest / (typical / 2):8.2f} {per_image:8.2f} "
                f"{per_image / baseline_seconds:6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
