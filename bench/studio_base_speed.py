"""The studio's layout sampling: a candidate base model against the shipped one.

Run: .venv/bin/python bench/studio_base_speed.py --base-model build/studio-base-9 [--layouts 8]

Samples the same prompts' 32 px layouts (the engine's default steps and guidance, one prompt at
a time as the product does) with the shipped base UNet and with the candidate, in alternating
rounds in one process so that both see the same machine. Prints the median seconds per layout
of each and their ratio: what a larger shape would cost every image before it is painted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

import torch

from hallmark.engines.studio.engine import GENERATION_DEFAULTS
from hallmark.engines.studio.weights import load_base_unet, locate_base
from hallmark.samples import describe, random_scene

sys.path.insert(0, str(Path(__file__).parent))
from studio_layout_speed import timed_layouts  # noqa: E402


def main() -> None:
    """Time the shipped base model's layouts and a candidate's on the same prompts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-model", required=True, help="the candidate's folder or record")
    parser.add_argument("--layouts", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rng = random.Random("bench/base-speed")
    prompts = [describe(random_scene(rng), rng) for _ in range(args.layouts)]
    candidate_base = locate_base(args.base_model)
    shipped = load_base_unet(locate_base(""))
    candidate = load_base_unet(candidate_base)
    timed_layouts(shipped, prompts[:1])  # warm up
    timed_layouts(candidate, prompts[:1])
    times: dict[str, list[float]] = {"shipped": [], "candidate": []}
    for _ in range(args.rounds):
        times["shipped"] += timed_layouts(shipped, prompts)[0]
        times["candidate"] += timed_layouts(candidate, prompts)[0]
    baseline = statistics.median(times["shipped"])
    measured = statistics.median(times["candidate"])
    shape = candidate_base.record.get("shape", "?")
    print(
        f"{args.layouts} layouts x {args.rounds} rounds, {GENERATION_DEFAULTS['steps']} steps: "
        f"shipped {baseline:.3f} s, {args.base_model} ({shape}) {measured:.3f} s per layout, "
        f"ratio {measured / baseline:.2f}"
    )


if __name__ == "__main__":
    main()
