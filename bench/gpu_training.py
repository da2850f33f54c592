"""LoRA training steps and sampling on SD1.5, SDXL and FLUX.2-Klein-4B shapes, with no downloads.

Run on a CUDA host:  .venv/bin/python bench/gpu_training.py --device cuda
Run here (CPU):      .venv/bin/python bench/gpu_training.py            (--tiny is the default)

Each denoiser is built from its real configuration with random weights (SD1.5's and SDXL's UNet,
FLUX.2-Klein-4B's transformer: 5 double and 20 single blocks, 24 heads of 128, 7680-wide text
features), or from the tiny test configurations with `--tiny`. Latents and prompt embeddings are
random tensors of the native shapes (512, 1024 and 1024 px; 77, 77 and 512 text tokens), since
the engine caches both before its loop. For each model, in the same run and on the same batch:
- the engine's training step (its own loss: `DiffusersLoraEngine._loss` with min-SNR weighting
  for UNets, `flow_matching.predict_velocity` with the family's weighting for FLUX.2), and
- a plain diffusers + peft loop (the same LoRA, noise, one denoiser call, MSE, AdamW),
with the median milliseconds per step and the peak CUDA memory of each, and the ratio; then the
denoiser's time for one image at 20 sampling steps (4 for the step-distilled Klein; twice the
batch under classifier-free guidance for the UNets), without text encoding or VAE decoding.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import (
    DDPMScheduler,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Transformer2DModel,
    UNet2DConditionModel,
)
from peft import LoraConfig

from hallmark.engines import TrainingConfig
from hallmark.engines.diffusers_lora import LORA_TARGETS, DiffusersLoraEngine, _Example
from hallmark.engines.flow_matching import BY_NAME, predict_velocity
from hallmark.engines.flow_matching import _Example as DitExample

SDXL_UNET = {
    "block_out_channels": (320, 640, 1280),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "transformer_layers_per_block": (1, 2, 10),
    "attention_head_dim": (5, 10, 20),
    "cross_attention_dim": 2048,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
    "use_linear_projection": True,
    "sample_size": 128,
}
KLEIN_4B = {
    "num_layers": 5,
    "num_single_layers": 20,
    "num_attention_heads": 24,
    "joint_attention_dim": 7680,
    "guidance_embeds": False,
}
TINY_UNET = {
    "block_out_channels": (16, 32),
    "layers_per_block": 1,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "norm_num_groups": 8,
    "attention_head_dim": 4,
}
TINY_KLEIN = {
    "in_channels": 4,
    "num_layers": 1,
    "num_single_layers": 1,
    "attention_head_dim": 16,
    "num_attention_heads": 2,
    "joint_attention_dim": 48,
    "axes_dims_rope": (4, 4, 4, 4),
    "guidance_embeds": False,
}


@dataclass
class Case:
    """One model: its denoiser, a batch at its native shapes, and how each loop calls it."""

    name: str
    denoiser: torch.nn.Module
    engine_loss: Callable[[], torch.Tensor]
    plain_loss: Callable[[], torch.Tensor]
    sample_step: Callable[[], Any]
    sampling_steps: int


def unet_case(name: str, tiny: bool, device: str, dtype: torch.dtype) -> Case:
    """SD1.5 or SDXL: the engine's min-SNR loss against plain noise MSE on the same UNet."""
    sdxl = name == "sdxl"
    if tiny:
        settings = {**TINY_UNET, "cross_attention_dim": 32, "sample_size": 8}
        if sdxl:
            settings |= {
                "addition_embed_type": "text_time",
                "addition_time_embed_dim": 8,
                "projection_class_embeddings_input_dim": 80,
            }
    else:
        settings = SDXL_UNET if sdxl else {"cross_attention_dim": 768, "sample_size": 64}
    unet = UNet2DConditionModel(**settings).to(device, dtype)
    side, width = unet.config.sample_size, unet.config.cross_attention_dim
    latents = torch.randn(1, 4, side, side, device=device, dtype=dtype)
    embeds = torch.randn(1, 77, width, device=device, dtype=dtype)
    pooled = time_ids = None
    extra: dict[str, Any] = {}
    if sdxl:
        pooled_width = unet.config.projection_class_embeddings_input_dim - 6 * (
            unet.config.addition_time_embed_dim
        )
        pooled = torch.randn(1, pooled_width, device=device, dtype=dtype)
        time_ids = torch.tensor([[side * 8, side * 8, 0, 0, side * 8, side * 8]], device=device)
        extra = {"added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids.to(dtype)}}
    scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    config = TrainingConfig(base_model="", output_dir=None, device=device)  # type: ignore[arg-type]
    batch = [_Example(latents, embeds, pooled, time_ids.to(dtype) if sdxl else None)]  # type: ignore[union-attr]
    generator = torch.Generator().manual_seed(0)

    def engine_loss() -> torch.Tensor:
        return DiffusersLoraEngine._loss(unet, scheduler, batch, config, generator, sdxl)

    def plain_loss() -> torch.Tensor:
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, 1000, (1,), device=device)
        noisy = scheduler.add_noise(latents, noise, timesteps)
        return F.mse_loss(unet(noisy, timesteps, embeds, **extra).sample.float(), noise.float())

    def sample_step() -> Any:  # classifier-free guidance: conditional and unconditional at once
        doubled = {k: {n: torch.cat([t, t]) for n, t in v.items()} for k, v in extra.items()}
        step = torch.tensor([500], device=device)
        return unet(torch.cat([latents, latents]), step, torch.cat([embeds, embeds]), **doubled)

    unet.add_adapter(LoraConfig(r=16, lora_alpha=16, target_modules=LORA_TARGETS))
    return Case(name, unet, engine_loss, plain_loss, sample_step, 20)


def klein_case(tiny: bool, device: str, dtype: torch.dtype) -> Case:
    """FLUX.2-Klein-4B: the engine's flow-matching loss against a plain velocity MSE."""
    transformer = Flux2Transformer2DModel(**(TINY_KLEIN if tiny else KLEIN_4B)).to(device, dtype)
    channels = transformer.config.in_channels
    side, tokens = (16, 32) if tiny else (64, 512)  # 1024 px: 128x128 latents, 2x2 patches
    latents = torch.randn(1, channels, side, side, device=device, dtype=dtype)
    embeds = torch.randn(1, tokens, transformer.config.joint_attention_dim, device=device)
    embeds = embeds.to(dtype)
    text_ids = Flux2KleinPipeline._prepare_text_ids(embeds).to(device)
    family = BY_NAME["flux2-klein"]
    batch = [DitExample(latents, embeds, None, text_ids)]
    schedule = FlowMatchEulerDiscreteScheduler()

    def noised() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index = torch.randint(0, 1000, (1,))
        sigma = schedule.sigmas[index].to(device, dtype).view(-1, 1, 1, 1)
        noise = torch.randn_like(latents)
        return (1 - sigma) * latents + sigma * noise, schedule.timesteps[index].to(device), noise

    def engine_loss() -> torch.Tensor:
        noisy, timesteps, noise = noised()
        predicted = predict_velocity(
            transformer, Flux2KleinPipeline, family, noisy, timesteps, batch, 1
        )
        return F.mse_loss(predicted.float(), (noise - latents).float())

    def plain_loss() -> torch.Tensor:
        noisy, timesteps, noise = noised()
        packed = Flux2KleinPipeline._pack_latents(noisy)
        ids = Flux2KleinPipeline._prepare_latent_ids(noisy).to(device)
        predicted = transformer(
            hidden_states=packed,
            timestep=timesteps / 1000,
            guidance=None,
            encoder_hidden_states=embeds,
            txt_ids=text_ids,
            img_ids=ids,
            return_dict=False,
        )[0]
        target = Flux2KleinPipeline._pack_latents(noise - latents)
        return F.mse_loss(predicted.float(), target.float())

    def sample_step() -> Any:
        noisy, timesteps, _ = noised()
        return transformer(
            hidden_states=Flux2KleinPipeline._pack_latents(noisy),
            timestep=timesteps / 1000,
            guidance=None,
            encoder_hidden_states=embeds,
            txt_ids=text_ids,
            img_ids=Flux2KleinPipeline._prepare_latent_ids(noisy).to(device),
            return_dict=False,
        )

    transformer.add_adapter(
        LoraConfig(r=16, lora_alpha=16, target_modules=family.targets_in(transformer))
    )
    return Case("flux2-klein-4b", transformer, engine_loss, plain_loss, sample_step, 4)


def synchronise(device: str) -> None:
    """Wait for the device, so that a timing covers the work and not only its launch."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step_ms(case: Case, loss_of: Callable[[], torch.Tensor], steps: int, device: str) -> tuple:
    """Median milliseconds of an AdamW LoRA step, and the peak device memory in GiB."""
    parameters = [p for p in case.denoiser.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-4)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        synchronise(device)
        start = time.perf_counter()
        optimizer.zero_grad()
        loss_of().backward()
        optimizer.step()
        synchronise(device)
        times.append((time.perf_counter() - start) * 1000)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else float("nan")
    return statistics.median(times[2:]), peak


def sampling_ms(case: Case, device: str) -> float:
    """Milliseconds for one image's denoiser calls at the case's sampling steps."""
    with torch.no_grad():
        case.sample_step()  # warm-up
        synchronise(device)
        start = time.perf_counter()
        for _ in range(case.sampling_steps):
            case.sample_step()
        synchronise(device)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    """Build each case, time both loops alternately, and print absolute times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--models", default="sd15,sdxl,flux2-klein-4b")
    args = parser.parse_args()
    tiny = (not args.device.startswith("cuda")) if args.tiny is None else args.tiny
    dtype = torch.bfloat16 if args.device.startswith("cuda") and not tiny else torch.float32
    torch.manual_seed(0)
    random.seed(0)
    print(f"device {args.device}, {'tiny shapes' if tiny else 'real configs'}, {dtype}")
    print(
        f"{'model':16} {'engine ms':>10} {'plain ms':>10} {'ratio':>6} "
        f"{'engine GiB':>10} {'plain GiB':>9} {'sampling ms/image':>18}"
    )
    builders = {
        "sd15": lambda: unet_case("sd15", tiny, args.device, dtype),
        "sdxl": lambda: unet_case("sdxl", tiny, args.device, dtype),
        "flux2-klein-4b": lambda: klein_case(tiny, args.device, dtype),
    }
    for name in args.models.split(","):
        case = builders[name]()
        case.denoiser.train()
        plain, plain_peak = step_ms(case, case.plain_loss, args.steps, args.device)
        engine, engine_peak = step_ms(case, case.engine_loss, args.steps, args.device)
        case.denoiser.eval()
        sampled = sampling_ms(case, args.device)
        print(
            f"{name:16} {engine:10.1f} {plain:10.1f} {engine / plain:6.3f} "
            f"{engine_peak:10.2f} {plain_peak:9.2f} {sampled:12.1f} ({case.sampling_steps} steps)"
        )
        del case
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
