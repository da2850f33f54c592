"""What the diffusers-lora engine costs over plain diffusers + peft, on the same tiny model.

Run: .venv/bin/python bench/lora_overhead.py [--steps 40] [--resolution 64]
Baselines, measured in the same run on the same tiny SD pipeline (built offline from configs):
- training: a plain LoRA loop as diffusers' text-to-image LoRA example teaches it (peft adapter
  on the UNet attention, VAE-encode the batch, add noise, MSE on the noise, AdamW), batch 1;
- generation: a bare `pipeline(...)` call with the same adapter loaded.
Prints the median milliseconds per training step and per image, and the engine/baseline ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DPMSolverMultistepScheduler
from peft import LoraConfig

from hallmark.engines import (
    GenerationRequest,
    ModelArtifact,
    Progress,
    TrainingConfig,
    TrainingImage,
)
from hallmark.engines.diffusers_lora import (
    LORA_TARGETS,
    DiffusersLoraEngine,
    _to_tensor,
    caption_for,
    fit_to_bucket,
    load_pipeline,
)
from hallmark.engines.tiny import build_tiny_sd
from hallmark.samples import SAMPLE_ARTISTS, sample_works


def plain_loop_step_ms(base: Path, works: list[TrainingImage], config: TrainingConfig) -> float:
    """Median step time of the loop diffusers' LoRA example teaches, on the same model."""
    pipeline = load_pipeline(str(base), "cpu", torch.float32)
    unet, vae = pipeline.unet, pipeline.vae
    for module in (unet, vae, pipeline.text_encoder):
        module.requires_grad_(False)
    unet.add_adapter(
        LoraConfig(r=config.rank, lora_alpha=config.alpha, target_modules=LORA_TARGETS)
    )
    optimizer = torch.optim.AdamW([p for p in unet.parameters() if p.requires_grad], lr=1e-4)
    scheduler = pipeline.scheduler
    times = []
    for step in range(config.steps):
        item = works[step % len(works)]
        start = time.perf_counter()
        pixels = _to_tensor(fit_to_bucket(item.image, config.resolution))
        with torch.no_grad():
            latents = vae.encode(pixels).latent_dist.sample() * vae.config.scaling_factor
            embeds, _ = pipeline.encode_prompt(caption_for(item, config), "cpu", 1, False)
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (1,))
        noisy = scheduler.add_noise(latents, noise, timesteps)
        loss = F.mse_loss(unet(noisy, timesteps, embeds).sample, noise)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[3:])


def engine_step_ms(works: list[TrainingImage], config: TrainingConfig) -> float:
    """Median step time of the engine, from the moments its progress reports arrive."""
    stamps: list[float] = []

    def note(progress: Progress) -> None:
        stamps.append(time.perf_counter())

    DiffusersLoraEngine().train(works, config, note, lambda: False)
    gaps = [(b - a) * 1000 for a, b in zip(stamps, stamps[1:], strict=False)]
    return statistics.median(gaps[3:])


def main() -> None:
    """Measure both comparisons and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--images", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp())
    base = build_tiny_sd(folder / "base")
    works = [
        TrainingImage(work.image(), work.caption)
        for work in sample_works(SAMPLE_ARTISTS["cleo"], count=4, size=args.resolution * 2)
    ]
    config = TrainingConfig(
        base_model=str(base),
        output_dir=folder / "style",
        steps=args.steps,
        resolution=args.resolution,
        rank=4,
        alpha=4,
        min_side=32,
        checkpoint_every=0,
        random_flip=False,
        min_snr_gamma=None,
    )

    plain = plain_loop_step_ms(base, works, config)
    engine = engine_step_ms(works, config)
    print(
        f"training step, batch 1, {args.resolution}px: plain loop {plain:.1f} ms, "
        f"engine {engine:.1f} ms, engine/plain {engine / plain:.2f}"
    )

    worker = DiffusersLoraEngine()
    trained = ModelArtifact.load(config.output_dir)
    request = GenerationRequest("a boat", steps=8, width=args.resolution, height=args.resolution)
    bare = load_pipeline(str(base), "cpu", torch.float32)
    bare.load_lora_weights(str(trained.directory))
    bare.scheduler = DPMSolverMultistepScheduler.from_config(bare.scheduler.config)
    worker.generate(trained, request)  # load once, as a worker does
    bare_times, engine_times = [], []
    for seed in range(args.images):
        start = time.perf_counter()
        bare(
            "hmstyle, a boat",
            num_inference_steps=8,
            height=args.resolution,
            width=args.resolution,
            generator=torch.Generator().manual_seed(seed),
        )
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        worker.generate(
            trained,
            GenerationRequest(
                "a boat", seed=seed, steps=8, width=args.resolution, height=args.resolution
            ),
        )
        engine_times.append(time.perf_counter() - start)
    bare_ms, engine_ms = (statistics.median(t) * 1000 for t in (bare_times, engine_times))
    print(
        f"generation, 8 steps, {args.resolution}px: bare pipeline {bare_ms:.1f} ms, "
        f"engine {engine_ms:.1f} ms, engine/bare {engine_ms / bare_ms:.2f}"
    )


if __name__ == "__main__":
    main()
