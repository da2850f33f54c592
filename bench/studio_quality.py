"""How well the studio engine does its job, per sample artist, with default settings, in one run.

Run: .venv/bin/python bench/studio_quality.py [--prompts 24] [--artists ana,bo]
     [--sheets docs/studio] [--json FILE] [--base-steps 20] [--base-guidance 7]

For each sample artist (20 captioned works at 256 px):
- training seconds on this machine, and seconds per 256 px image;
- style fidelity: each generated image attributed to an artist by a nearest-centroid classifier on
  style features (colour, gradients, Gram matrices of a fixed random conv net; each family
  weighted equally) fitted on all artists' training works; and a texture-only variant (no
  colour features); and, as the classifier's own ceiling, the same for the artist's procedural
  paintings of the same scenes;
- prompt adherence on held-out prompts (scenes with a kind/colour/column combination the base
  model never saw), checked procedurally from each scene, of the painted images and of the
  32 px layouts they were painted from (what the renderer keeps of them), against two baselines
  measured here:
  the same style given an empty prompt (a model that ignores the prompt) and the artist's own
  painting of the true scene (the ceiling of the check);
- novelty: the closest any output comes to a training work, against half the median distance
  between two training works (and, for scale, the distance between the two most alike works),
  by 32 px thumbnails and by the PDQ hashes of the product's near-copy guard; and how many
  outputs the guard's own check calls a copy of a work (the artist's new paintings for scale).
And the base model alone (32 px layouts, no artist): adherence on held-out scenes, with the
empty-prompt baseline, per object kind and for held-out against seen combinations
(`--artists ""` measures only this; `--base-steps` and `--base-guidance` vary its sampler).
Targets: training <= 300 s, <= 3 s per image, attribution >= 0.9, adherence >= 0.7 (base model
>= 0.8), novelty ratio > 0.5.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from hallmark.engines import GenerationRequest, TrainingConfig, TrainingImage, training_defaults
from hallmark.engines.studio import StudioEngine
from hallmark.engines.studio.engine import GENERATION_DEFAULTS
from hallmark.engines.studio.weights import load_base_unet, locate_base
from hallmark.samples import SAMPLE_ARTISTS, describe, random_scene, render_layout, sample_works
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
from hallmark.samples.studio_base import held_out_scene, held_out_triples

WORKS = 20


def held_out_prompts(count: int, seed: str) -> list[tuple[Any, str]]:
    """Scenes the base model never saw a combination of, each with a fresh caption."""
    rng = random.Random(seed)
    held_out = held_out_triples()
    scenes = [held_out_scene(rng, held_out) for _ in range(count)]
    return [(scene, describe(scene, rng)) for scene in scenes]


def base_model_adherence(
    count: int, steps: int, guidance: float, base_model: str = ""
) -> dict[str, Any]:
    """The base model alone: layouts for held-out prompts, and for an empty prompt."""
    unet = load_base_unet(locate_base(base_model))
    prompts = held_out_prompts(count, "bench/base")
    made, blind = [], []
    for number, (_, caption) in enumerate(prompts):
        made += StudioEngine._layouts(unet, caption, 1, number, steps, guidance)
        blind += StudioEngine._layouts(unet, "", 1, number, steps, guidance)
    scenes = [scene for scene, _ in prompts]
    return {
        "adherence": adherence_rate(made, scenes),
        "empty_prompt_baseline": adherence_rate(blind, scenes),
        "true_layout_ceiling": adherence_rate([render_layout(s, 64) for s in scenes], scenes),
        **adherence_breakdown(made, scenes),
    }


def adherence_breakdown(layouts: list[Image.Image], scenes: list[Any]) -> dict[str, Any]:
    """Where adherence is lost: per object kind, and unseen against seen combinations."""
    held_out = held_out_triples()
    by_kind: dict[str, list[bool]] = {}
    by_combination: dict[str, list[bool]] = {"held_out": [], "seen": []}
    for layout, scene in zip(layouts, scenes, strict=True):
        for obj, found in zip(scene.objects, adherence(layout, scene), strict=True):
            by_kind.setdefault(obj.kind, []).append(found)
            unseen = (obj.kind, obj.colour, obj.column) in held_out
            by_combination["held_out" if unseen else "seen"].append(found)
    return {
        "by_kind": {kind: round(float(np.mean(v)), 3) for kind, v in sorted(by_kind.items())},
        "by_combination": {k: round(float(np.mean(v)), 3) for k, v in by_combination.items() if v},
    }


def contact_sheet(
    handle: str, works: list[Image.Image], made: list[tuple[Image.Image, str]], path: Path
) -> None:
    """Four training works above four generated images with their prompts."""
    cell, text_height, columns = 200, 64, 4
    sheet = Image.new("RGB", (cell * columns, cell * 2 + text_height + 24), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 4), f"@{handle}: training works (top), generated from held-out prompts", "black")
    for column, work in enumerate(works[:columns]):
        sheet.paste(work.resize((cell, cell)), (column * cell, 20))
    for column, (image, prompt) in enumerate(made[:columns]):
        sheet.paste(image.resize((cell, cell)), (column * cell, 20 + cell))
        words, lines, line = prompt.split(), [], ""
        for word in words:
            if len(line) + len(word) > 32:
                lines.append(line)
                line = ""
            line += word + " "
        lines.append(line)
        for number, text in enumerate(lines[:5]):
            draw.text((column * cell + 4, 22 + 2 * cell + 12 * number), text, "black")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)


def evaluate_artist(
    handle: str, prompts_count: int, folder: Path, sheets: Path | None, base_model: str = ""
) -> tuple[dict[str, Any], list[Image.Image], list[Image.Image], list[Image.Image]]:
    """Train one artist's style with default settings, then generate and measure."""
    artist = SAMPLE_ARTISTS[handle]
    works = sample_works(artist, count=WORKS, size=256, seed=0)
    images = [TrainingImage(w.image(), w.caption) for w in works]
    engine = StudioEngine()
    config = TrainingConfig(
        base_model=base_model, output_dir=folder / handle, **training_defaults("studio")
    )
    began = time.perf_counter()
    artifact = engine.train(images, config, lambda progress: None, lambda: False)
    engine.generate(artifact, GenerationRequest("a sun", steps=1))  # builds the patch index
    training_seconds = time.perf_counter() - began

    prompts = held_out_prompts(prompts_count, f"bench/{handle}")
    made, blind, layouts, seconds = [], [], [], []
    for number, (_, caption) in enumerate(prompts):
        request = GenerationRequest(caption, seed=number, **GENERATION_DEFAULTS)
        start = time.perf_counter()
        made += engine.generate(artifact, request)
        seconds.append(time.perf_counter() - start)
        layouts += engine.generate_layouts(artifact, request)
        blind += engine.generate(
            artifact, GenerationRequest("", seed=number, **GENERATION_DEFAULTS)
        )
    scenes = [scene for scene, _ in prompts]
    fit_scenes = [random_scene(random.Random(f"bench/colours/{i}")) for i in range(16)]
    colours = ColourMap.fit(fit_scenes, lambda scene, n: artist.render(scene, 5000 + n, 96))
    painted_truth = [artist.render(scene, 7000 + i) for i, scene in enumerate(scenes)]
    work_images = [w.image() for w in works]
    closest, typical = novelty(made, work_images)
    # For scale: how close the two most alike training works are to each other.
    closest_works = min(
        novelty([image], work_images[:i] + work_images[i + 1 :])[0]
        for i, image in enumerate(work_images)
    )
    # The product's own near-copy fingerprints; the artist's new paintings of the prompts for scale.
    copies, own_copies = copy_check(made, work_images), copy_check(painted_truth, work_images)
    if sheets is not None:
        contact_sheet(
            handle,
            [w.image() for w in works],
            [(image, caption) for image, (_, caption) in zip(made, prompts, strict=True)],
            sheets / f"{handle}.png",
        )
    result = {
        "training_seconds": round(training_seconds, 1),
        "seconds_per_image": round(statistics.median(seconds), 2),
        "adherence": adherence_rate(made, scenes, colours),
        "layout_adherence": adherence_rate(layouts, scenes, colours),
        "empty_prompt_baseline": adherence_rate(blind, scenes, colours),
        "painted_truth_ceiling": adherence_rate(painted_truth, scenes, colours),
        "novelty_closest": round(closest, 2),
        "novelty_half_typical": round(typical / 2, 2),
        "closest_two_works": round(closest_works, 2),
        "pdq_closest": copies.closest_pdq,
        "pdq_half_typical": copies.typical_pdq / 2,
        "near_copies": copies.near_copies,
        "painted_truth_pdq_closest": own_copies.closest_pdq,
        "painted_truth_near_copies": own_copies.near_copies,
    }
    return result, work_images, made, painted_truth


def attributed_artists(
    classifier: NearestCentroid, images: list[Image.Image], texture_only: bool = False
) -> list[str]:
    """The artist the classifier gives each image to."""
    features = np.stack([style_features(image, texture_only) for image in images])
    return classifier.predict(features)


def attribution(
    classifier: NearestCentroid, images: list[Image.Image], handle: str, texture_only: bool = False
) -> float:
    """The share of images the classifier gives to the artist `handle`."""
    labels = attributed_artists(classifier, images, texture_only)
    return float(np.mean([label == handle for label in labels]))


def main() -> None:
    """Run every measurement and print one table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=24)
    parser.add_argument("--base-prompts", type=int, default=100)
    parser.add_argument("--artists", default=",".join(SAMPLE_ARTISTS))
    parser.add_argument("--sheets", type=Path, default=None, help="write contact sheets here")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--base-steps",
        type=int,
        default=GENERATION_DEFAULTS["steps"],
        help="sampler steps for the base model's layouts (the engine's default unless given)",
    )
    parser.add_argument(
        "--base-guidance",
        type=float,
        default=GENERATION_DEFAULTS["guidance"],
        help="guidance for the base model's layouts (the engine's default unless given)",
    )
    parser.add_argument(
        "--base-model",
        default="",
        help="a base model's folder from studio_base (the shipped one unless given)",
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    handles = [h.strip() for h in args.artists.split(",") if h.strip()]

    base = base_model_adherence(
        args.base_prompts, args.base_steps, args.base_guidance, args.base_model
    )
    print(
        f"base model, {args.base_prompts} held-out prompts, {args.base_steps} steps, "
        f"guidance {args.base_guidance:g}: adherence {base['adherence']:.3f} "
        f"(empty prompt {base['empty_prompt_baseline']:.3f}, "
        f"true layout {base['true_layout_ceiling']:.3f})",
        flush=True,
    )
    print(f"  by kind: {base['by_kind']}; by combination: {base['by_combination']}", flush=True)
    results: dict[str, Any] = {"base_model": base, "artists": {}}
    works_of: dict[str, list[Image.Image]] = {}
    generated: dict[str, list[Image.Image]] = {}
    painted: dict[str, list[Image.Image]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for handle in handles:
            result, works_of[handle], made, truth = evaluate_artist(
                handle, args.prompts, Path(folder), args.sheets, args.base_model
            )
            painted[handle] = truth
            results["artists"][handle] = result
            generated[handle] = made
            print(handle, json.dumps(result), flush=True)
    # The classifier knows every sample artist, also when only some of them are evaluated.
    training_features, training_labels = [], []
    for handle in SAMPLE_ARTISTS:
        works = works_of.get(handle) or [
            w.image() for w in sample_works(SAMPLE_ARTISTS[handle], WORKS, 256, seed=0)
        ]
        training_features += [(style_features(w), style_features(w, True)) for w in works]
        training_labels += [handle] * len(works)
    if handles:
        attribute_and_print(
            handles, results, training_features, training_labels, generated, painted
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def attribute_and_print(
    handles: list[str],
    results: dict[str, Any],
    training_features: list[tuple[Any, Any]],
    training_labels: list[str],
    generated: dict[str, list[Image.Image]],
    painted: dict[str, list[Image.Image]],
) -> None:
    """Fit the style classifiers on every artist's works, attribute the outputs, print the table."""
    full = NearestCentroid.fit(
        np.stack([f for f, _ in training_features]), training_labels, style_feature_weights()
    )
    texture = NearestCentroid.fit(
        np.stack([t for _, t in training_features]), training_labels, style_feature_weights(True)
    )
    print()
    header = (
        f"{'artist':8} {'train s':>8} {'s/image':>8} {'style':>6} {'truth':>6} {'texture':>8} "
        f"{'adhere':>7} {'layout':>7} {'empty':>6} {'ceiling':>8} {'closest':>8} {'half typ':>8} "
        f"{'work-work':>9} {'novel':>5} {'pdq':>4} {'half':>5} {'own':>4} {'copies':>6}"
    )
    print(header)
    for handle in handles:
        made = generated[handle]
        result = results["artists"][handle]
        labels = attributed_artists(full, made)
        result["attribution"] = float(np.mean([label == handle for label in labels]))
        # Who the classifier takes the misattributed outputs for.
        result["attributed_to"] = dict(Counter(labels).most_common())
        # The classifier's own ceiling: the artist's procedural paintings of the same scenes.
        result["attribution_painted_truth"] = attribution(full, painted[handle], handle)
        result["attribution_texture_only"] = attribution(texture, made, handle, texture_only=True)
        print(
            f"{handle:8} {result['training_seconds']:8.1f} {result['seconds_per_image']:8.2f} "
            f"{result['attribution']:6.2f} {result['attribution_painted_truth']:6.2f} "
            f"{result['attribution_texture_only']:8.2f} "
            f"{result['adherence']:7.3f} {result['layout_adherence']:7.3f} "
            f"{result['empty_prompt_baseline']:6.3f} "
            f"{result['painted_truth_ceiling']:8.3f} "
            f"{result['novelty_closest']:8.2f} {result['novelty_half_typical']:8.2f} "
            f"{result['closest_two_works']:9.2f} "
            f"{'yes' if result['novelty_closest'] > result['novelty_half_typical'] else 'no':>5} "
            f"{result['pdq_closest']:4d} {result['pdq_half_typical']:5.1f} "
            f"{result['painted_truth_pdq_closest']:4d} "
            f"{result['near_copies']:3d}/{result['painted_truth_near_copies']:<2d}"
        )


if __name__ == "__main__":
    main()
