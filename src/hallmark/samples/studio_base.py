"""Train the studio engine's base model on the procedural world (this made the shipped weights).

    python -m hallmark.samples.studio_base --steps 5000 --seed 0 --out build/studio-base

A later run may start from an earlier one's weights (`--init-from build/studio-base`, with a new
seed so that it sees new scenes); its record then lists every command, in order, that led to it.

Every batch is fresh scenes drawn from the world, so the model never sees the same picture
twice; scenes holding a held-out (kind, colour, column) combination are never trained on, so
the quality bench can test combinations the model has not seen.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hallmark.engines.studio.network import DEFAULT_SHAPE, UNET_SHAPES, UNIFORM_TIME_SHARE
from hallmark.samples.scenes import (
    KIND_COLOURS,
    KINDS,
    Scene,
    describe,
    random_scene,
    render_layout,
)

DATA_VERSION = "world-1"
RENDER_SIZE = 64  # scenes are drawn at this size, then box-filtered to the layout size
CAPTION_DROPOUT = 0.1
Triple = tuple[str, str, str]


def _all_triples() -> list[Triple]:
    return [
        (kind, colour, column)
        for kind in KINDS
        for colour in KIND_COLOURS[kind]
        for column in ("left", "centre", "right")
        if kind != "sea"
    ]


def held_out_triples() -> frozenset[Triple]:
    """One (kind, colour, column) combination in ten, never shown to the base model."""
    triples = _all_triples()
    rng = random.Random(f"{DATA_VERSION}/held-out")
    return frozenset(rng.sample(triples, len(triples) // 10))


def scene_triples(scene: Scene) -> set[Triple]:
    """The (kind, colour, column) combinations a scene shows."""
    return {(obj.kind, obj.colour, obj.column) for obj in scene.objects if obj.kind in KIND_COLOURS}


def training_scene(rng: random.Random, held_out: frozenset[Triple]) -> Scene:
    """A random scene with no held-out combination in it."""
    while True:
        scene = random_scene(rng)
        if not scene_triples(scene) & held_out:
            return scene


def held_out_scene(rng: random.Random, held_out: frozenset[Triple]) -> Scene:
    """A random scene with at least one combination the base model never saw."""
    while True:
        scene = random_scene(rng)
        if scene_triples(scene) & held_out:
            return scene


def world_fingerprint() -> str:
    """A hash of the world's first scenes, captions and pixels: it changes when the world does."""
    digest = hashlib.sha256(DATA_VERSION.encode())
    rng = random.Random(0)
    for _ in range(32):
        scene = random_scene(rng)
        digest.update(describe(scene, rng).encode())
        digest.update(render_layout(scene, RENDER_SIZE).tobytes())
    return digest.hexdigest()


def world_vocabulary() -> list[str]:
    """Every word the world's captions use: prompts outside it get a note at generation."""
    rng = random.Random(f"{DATA_VERSION}/vocabulary")
    words: set[str] = set()
    for _ in range(4000):
        caption = describe(random_scene(rng), rng)
        words.update(w.strip(",.:;").lower() for w in caption.split())
    return sorted(w for w in words if w)


@dataclass(frozen=True)
class Batch:
    """Layouts and their captions, with dropped captions already blanked, and their scenes."""

    captions: list[str]
    pixels: torch.Tensor
    scenes: list[Scene]


def batches(seed: int, batch_size: int, start_step: int) -> Iterator[Batch]:
    """The training stream: batch `step` depends only on the seed and the step (exact resume)."""
    from hallmark.engines.studio.network import images_to_tensor

    held_out = held_out_triples()
    step = start_step
    while True:
        rng = random.Random(seed * 1_000_003 + step)
        scenes = [training_scene(rng, held_out) for _ in range(batch_size)]
        captions = [
            "" if rng.random() < CAPTION_DROPOUT else describe(scene, rng) for scene in scenes
        ]
        images = [render_layout(scene, RENDER_SIZE) for scene in scenes]
        yield Batch(captions, images_to_tensor(images), scenes)
        step += 1


def learning_rate(step: int, total: int, peak: float, warmup: int = 200) -> float:
    """Linear warm-up, then a cosine decay to a tenth of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train_base(
    out: Path,
    *,
    steps: int,
    seed: int = 0,
    batch_size: int = 32,
    peak_lr: float = 5e-4,
    ema_decay: float = 0.998,
    uniform_time_share: float = UNIFORM_TIME_SHARE,
    init_from: Path | None = None,
    shape: str = DEFAULT_SHAPE,
    binding_weight: float = 0.0,
    checkpoint_every: int = 250,
    log_every: int = 50,
) -> Path:
    """Train (or resume) the base model; write weights and their record into `out`.

    A `binding_weight` above zero adds the text adapter's binding loss (hallmark.samples.binding)
    at that weight; the shape must have a text adapter.
    """
    from safetensors.torch import save_file

    from hallmark.engines.studio.network import (
        build_unet,
        condition_text,
        load_earlier_weights,
        unet_config,
        velocity_loss,
    )
    from hallmark.engines.studio.text import EMBEDDING_DIM, MAX_TOKENS, TextEncoder
    from hallmark.engines.studio.weights import load_base_unet, locate_base
    from hallmark.samples.binding import BindingHeads, binding_loss, binding_targets

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    encoder = TextEncoder()
    config = unet_config(shape)
    unet = build_unet(config)
    earlier: dict[str, Any] = {"commands": [], "steps": 0}
    if init_from is not None:
        start_base = locate_base(str(init_from))
        # An earlier run of a smaller shape continues with the new parts doing nothing at first.
        new_blocks = load_earlier_weights(unet, load_base_unet(start_base).state_dict())
        if new_blocks:
            print(f"new attention blocks, starting as no-ops: {', '.join(new_blocks)}", flush=True)
        earlier = {
            "commands": list(start_base.record["commands"]),
            "steps": int(start_base.record["steps"]),
        }
    adapter = getattr(unet, "text_adapter", None)
    if binding_weight > 0 and adapter is None:
        raise ValueError(f"--binding-weight needs a shape with a text adapter, not {shape!r}.")
    heads = BindingHeads(EMBEDDING_DIM)
    ema = build_unet(config)
    ema.load_state_dict(unet.state_dict())
    ema.requires_grad_(False)
    trained = list(unet.parameters()) + (list(heads.parameters()) if binding_weight > 0 else [])
    optimizer = torch.optim.AdamW(trained, lr=peak_lr, weight_decay=0.01)
    # With the binding loss, the adapter and heads are clipped on their own, so that their
    # cross-entropy does not shrink the UNet's flow-matching step.
    text_side = set(map(id, adapter.parameters())) if binding_weight > 0 and adapter else set()
    clip_groups = [
        [p for p in unet.parameters() if id(p) not in text_side],
        [p for p in unet.parameters() if id(p) in text_side] + list(heads.parameters()),
    ]
    generator = torch.Generator().manual_seed(seed)
    history: list[tuple[int, float]] = []
    runs: list[dict[str, int | str]] = []
    start = 0
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        unet.load_state_dict(state["unet"])
        ema.load_state_dict(state["ema"])
        if "binding_heads" in state:
            heads.load_state_dict(state["binding_heads"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        history = state["history"]
        start = state["step"]
        # A finished earlier run ended at its own --steps: that is what resuming continues.
        runs = state.get("runs") or [{"from_step": 0, "to_step": start}]
        earlier = state.get("earlier", earlier)
        print(f"resuming at step {start}", flush=True)
    options = _options(seed, batch_size, uniform_time_share, shape, init_from, binding_weight)
    for run in runs:
        run.setdefault("command", _command(int(run["to_step"]), options, out))
    if not runs or runs[-1]["to_step"] != steps:  # a new run, not this one after a crash
        runs.append(
            {"from_step": start, "to_step": steps, "command": _command(steps, options, out)}
        )
    run_start = int(runs[-1]["from_step"])
    began = time.monotonic()
    running = running_binding = 0.0
    stream = batches(seed, batch_size, start)
    for step in range(start, steps):
        batch = next(stream)
        encoded = encoder.encode(batch.captions)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step - run_start, steps - run_start, peak_lr)
        text = condition_text(unet, encoded.embeddings, encoded.mask)
        loss = velocity_loss(unet, batch.pixels, text, encoded.mask, generator, uniform_time_share)
        total = loss
        if binding_weight > 0:
            targets = binding_targets(encoder.tokenizer, batch.captions, batch.scenes, MAX_TOKENS)
            binding = binding_loss(heads, text, targets)
            total = loss + binding_weight * binding
            running_binding += binding.item()
        optimizer.zero_grad(set_to_none=True)
        total.backward()  # type: ignore[no-untyped-call]
        for clipped in clip_groups:
            if clipped:
                torch.nn.utils.clip_grad_norm_(clipped, 1.0)
        optimizer.step()
        with torch.no_grad():
            for ema_param, param in zip(ema.parameters(), unet.parameters(), strict=True):
                ema_param.lerp_(param, 1 - ema_decay)
        running += loss.item()
        if (step + 1) % log_every == 0:
            history.append((step + 1, running / log_every))
            elapsed = time.monotonic() - began
            rate = (step + 1 - start) / elapsed
            binding_note = (
                f" binding {running_binding / log_every:.3f}" if binding_weight > 0 else ""
            )
            print(
                f"step {step + 1}/{steps} loss {running / log_every:.4f}{binding_note} "
                f"{rate:.2f} steps/s eta {(steps - step - 1) / rate / 60:.1f} min",
                flush=True,
            )
            running = running_binding = 0.0
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            state = {
                "unet": unet.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "binding_heads": heads.state_dict(),
                "generator": generator.get_state(),
                "history": history,
                "runs": runs,
                "earlier": earlier,
                "step": step + 1,
            }
            torch.save(state, out / "checkpoint.tmp")
            shutil.move(out / "checkpoint.tmp", checkpoint)
    weights = out / "studio-base.safetensors"
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in ema.state_dict().items()}
    save_file(tensors, str(weights), metadata={"data_version": DATA_VERSION})
    record = {
        "file": weights.name,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "data_version": DATA_VERSION,
        "world_fingerprint": world_fingerprint(),
        "vocabulary": world_vocabulary(),
        "seed": seed,
        "steps": int(earlier["steps"]) + steps,
        "batch_size": batch_size,
        "peak_learning_rate": peak_lr,
        "ema_decay": ema_decay,
        "caption_dropout": CAPTION_DROPOUT,
        "uniform_time_share": uniform_time_share,
        "shape": shape,
        "binding_weight": binding_weight,
        "unet": config,
        # Each run resumes the one before it, from its checkpoint or its weights (a warm restart
        # of the learning-rate schedule); running these commands in order reproduces the weights.
        "commands": list(earlier["commands"]) + [str(run["command"]) for run in runs],
        "loss_history": history,
    }
    (out / "studio-base.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return weights


def _options(
    seed: int,
    batch_size: int,
    uniform_time_share: float,
    shape: str,
    init_from: Path | None,
    binding_weight: float,
) -> str:
    options = (
        f"--seed {seed} --batch-size {batch_size} --uniform-time-share {uniform_time_share} "
        f"--shape {shape}"
    )
    if binding_weight > 0:
        options += f" --binding-weight {binding_weight}"
    return options + (f" --init-from {init_from}" if init_from is not None else "")


def _command(steps: int, options: str, out: Path) -> str:
    return f"python -m hallmark.samples.studio_base --steps {steps} {options} --out {out}"


def main() -> None:
    """Command line: train the base model into a folder (resuming if a checkpoint is there)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--uniform-time-share", type=float, default=UNIFORM_TIME_SHARE)
    parser.add_argument("--init-from", type=Path, default=None, help="an earlier run's folder")
    parser.add_argument(
        "--shape", choices=sorted(UNET_SHAPES), default=DEFAULT_SHAPE, help="the UNet's shape"
    )
    parser.add_argument(
        "--binding-weight",
        type=float,
        default=0.0,
        help="weight of the text adapter's colour/row/column loss (0: none)",
    )
    parser.add_argument("--out", type=Path, default=Path("build/studio-base"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    train_base(
        args.out,
        steps=args.steps,
        seed=args.seed,
        batch_size=args.batch_size,
        uniform_time_share=args.uniform_time_share,
        init_from=args.init_from,
        shape=args.shape,
        binding_weight=args.binding_weight,
    )


if __name__ == "__main__":
    main()
