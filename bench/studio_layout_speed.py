"""The studio's layout sampling: the style's LoRA applied at every step against folded in.

Run: .venv/bin/python bench/studio_layout_speed.py [--layouts 8]

Trains a short style on one sample artist (the LoRA's cost does not depend on how long it
trained), then samples the same layouts (the engine's default steps and guidance) both ways in
one process: the baseline applies the LoRA's low-rank matrices beside every targeted layer at
every step, as peft does for an unmerged adapter; the engine's way (`merge_style`) adds them
into the layers' weights once. Prints the median seconds per layout of each, their ratio, and
the largest pixel difference between the two ways' layouts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from hallmark.engines import TrainingConfig, TrainingImage, training_defaults
from hallmark.engines.studio import StudioEngine
from hallmark.engines.studio.engine import GENERATION_DEFAULTS, merge_style, unmerge_style
from hallmark.samples import SAMPLE_ARTISTS, describe, random_scene, sample_works


def timed_layouts(unet: Any, prompts: list[str]) -> tuple[list[float], list[Image.Image]]:
    """Seconds per layout and the layouts, one prompt at a time as the product samples them."""
    seconds, layouts = [], []
    for number, prompt in enumerate(prompts):
        start = time.perf_counter()
        layouts += StudioEngine._layouts(
            unet, prompt, 1, number, GENERATION_DEFAULTS["steps"], GENERATION_DEFAULTS["guidance"]
        )
        seconds.append(time.perf_counter() - start)
    return seconds, layouts


def main() -> None:
    """Time layouts with the LoRA applied on the fly and folded in, on the same prompts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layouts", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    works = sample_works(SAMPLE_ARTISTS["bo"], count=8, size=128, seed=0)
    rng = random.Random("bench/layout-speed")
    prompts = [describe(random_scene(rng), rng) for _ in range(args.layouts)]
    engine = StudioEngine()
    with tempfile.TemporaryDirectory() as folder:
        defaults = {**training_defaults("studio"), "steps": 20, "checkpoint_every": 0}
        config = TrainingConfig(base_model="", output_dir=Path(folder), **defaults)
        images = [TrainingImage(work.image(), work.caption) for work in works]
        artifact = engine.train(images, config, lambda progress: None, lambda: False)
        unet, _, _ = engine._load(artifact)
        unmerge_style(unet)
        unet.set_adapters(["style"], weights=[1.0])
        timed_layouts(unet, prompts[:1])  # warm up
        baseline, unmerged = timed_layouts(unet, prompts)
        merge_style(unet, 1.0)
        folded, merged = timed_layouts(unet, prompts)
    difference = max(
        int(np.abs(np.asarray(a, np.int64) - np.asarray(b, np.int64)).max())
        for a, b in zip(unmerged, merged, strict=True)
    )
    on_the_fly, once = statistics.median(baseline), statistics.median(folded)
    print(
        f"{args.layouts} layouts, {GENERATION_DEFAULTS['steps']} steps: LoRA at every step "
        f"{on_the_fly:.3f} s, folded into the weights {once:.3f} s per layout, ratio "
        f"{once / on_the_fly:.2f}; largest pixel difference {difference}"
    )


if __name__ == "__main__":
    main()
