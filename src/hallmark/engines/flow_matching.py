"""LoRA styles on flow-matching DiT bases: FLUX.1, FLUX.2 Klein, Stable Diffusion 3.5, Z-Image.

The diffusers-lora engine's second training path, in numbered steps after diffusers'
`train_dreambooth_lora_flux.py`, `_flux2_klein.py`, `_sd3.py` and `_z_image.py`: peft LoRA on the
transformer's attention projections, the works' latents and prompt embeddings cached once (per
aspect bucket and mirror), timesteps drawn with `compute_density_for_timestep_sampling` and the
velocity error weighted by `compute_loss_weighting_for_sd3`, the same checkpoints, exact resume,
progress and stop contract as the UNet path. The family comes from the base's
`model_index.json`; the table below holds what differs between families, and the per-base
defaults say how many steps and how much guidance each base samples with.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageOps

from hallmark.engines.base import (
    EngineError,
    GenerationRequest,
    MissingComponent,
    ModelArtifact,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
)
from hallmark.engines.checkpoints import resume_run

if TYPE_CHECKING:
    import torch

ATTENTION = ("to_k", "to_q", "to_v", "to_out.0")
JOINT_ATTENTION = (*ATTENTION, "add_k_proj", "add_q_proj", "add_v_proj", "to_add_out")


@dataclass(frozen=True)
class Family:
    """What one family of base models needs: its parts, its LoRA targets and its loss."""

    name: str  # the manifest's "architecture"
    pipeline_class: str  # model_index.json's _class_name
    parts: tuple[str, ...]  # components a diffusers folder must hold
    lora_targets: tuple[str, ...] = ()  # peft target_modules on the transformer
    weighting_scheme: str = "none"  # the training script's default for the family
    flow_matching: bool = True
    single_block_outputs: bool = False  # also each single block's `attn.to_out` (FLUX.2)

    def targets_in(self, transformer: Any) -> list[str]:
        """The peft target_modules for this family's transformer, as its training script lists."""
        targets = list(self.lora_targets)
        if self.single_block_outputs:
            blocks = transformer.config.num_single_layers
            targets += [f"single_transformer_blocks.{i}.attn.to_out" for i in range(blocks)]
        return targets


COMMON = ("vae", "scheduler")
FAMILIES: dict[str, Family] = {
    family.pipeline_class: family
    for family in (
        Family(
            "sd",
            "StableDiffusionPipeline",
            ("unet", *COMMON, "text_encoder", "tokenizer"),
            flow_matching=False,
        ),
        Family(
            "sdxl",
            "StableDiffusionXLPipeline",
            ("unet", *COMMON, "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2"),
            flow_matching=False,
        ),
        Family(
            "flux",
            "FluxPipeline",
            ("transformer", *COMMON, "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2"),
            JOINT_ATTENTION,
        ),
        Family(
            "flux2-klein",
            "Flux2KleinPipeline",
            ("transformer", *COMMON, "text_encoder", "tokenizer"),
            # The double blocks' attention, and the single blocks' fused projections in and out.
            (*ATTENTION, "to_qkv_mlp_proj"),
            single_block_outputs=True,
        ),
        Family(
            "sd3",
            "StableDiffusion3Pipeline",
            (
                "transformer",
                *COMMON,
                "text_encoder",
                "tokenizer",
                "text_encoder_2",
                "tokenizer_2",
                "text_encoder_3",
                "tokenizer_3",
            ),
            JOINT_ATTENTION,
            weighting_scheme="logit_normal",
        ),
        Family(
            "z-image",
            "ZImagePipeline",
            ("transformer", *COMMON, "text_encoder", "tokenizer"),
            ATTENTION,
        ),
    )
}
BY_NAME = {family.name: family for family in FAMILIES.values()}
DIT_FAMILIES = frozenset(name for name, family in BY_NAME.items() if family.flow_matching)


# ---------------------------------------------------------------------------- base models


def model_index(base_model: str) -> dict[str, Any] | None:
    """A local diffusers folder's model_index.json (None for a single file or a hub id)."""
    folder = Path(base_model)
    if not folder.is_dir():
        return None
    path = folder / "model_index.json"
    if not path.is_file():
        raise MissingComponent(f"{folder} is not a diffusers folder: no model_index.json.")
    index: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return index


def _family_from_name(base_model: str) -> Family:
    """The family a hub id or file name says it is, for bases without a local model_index."""
    name = base_model.lower().replace("_", "-")
    for marker, family in (
        ("klein", "flux2-klein"),
        ("flux", "flux"),
        ("stable-diffusion-3", "sd3"),
        ("sd3", "sd3"),
        ("z-image", "z-image"),
        ("xl", "sdxl"),
    ):
        if marker in name:
            return BY_NAME[family]
    return BY_NAME["sd"]


def detect_family(base_model: str) -> Family:
    """The base's family from its model_index.json `_class_name` (from its name if not local)."""
    index = model_index(base_model)
    if index is None:
        return _family_from_name(base_model)
    class_name = str(index.get("_class_name", ""))
    if class_name not in FAMILIES:
        known = ", ".join(sorted(FAMILIES))
        raise EngineError(f"The base model's pipeline {class_name!r} is not one of: {known}.")
    return FAMILIES[class_name]


def check_components(base_model: str, family: Family) -> None:
    """Refuse a diffusers folder that lacks one of its family's components, naming it."""
    index = model_index(base_model)
    if index is None:
        return
    for part in family.parts:
        if index.get(part) in (None, [None, None]) or not (Path(base_model) / part).is_dir():
            raise MissingComponent(f"The base model at {base_model} has no '{part}' component.")


@dataclass(frozen=True)
class SamplerDefaults:
    """How a base samples best: steps, guidance, and whether its own scheduler must be kept."""

    steps: int
    guidance: float
    keep_scheduler: bool = True
    note: str = ""

    def as_request_settings(self) -> dict[str, Any]:
        """The GenerationRequest fields these defaults set."""
        return {"steps": self.steps, "guidance": self.guidance}


def sampler_defaults(base_model: str) -> SamplerDefaults:
    """The per-family, per-base sampler defaults: few steps for distilled bases."""
    family = detect_family(base_model)
    index = model_index(base_model) or {}
    name = base_model.lower()
    scheduler = str((index.get("scheduler") or [None, ""])[1])
    if family.name in {"sd", "sdxl"}:
        if scheduler == "LCMScheduler" or "lcm" in name:
            return SamplerDefaults(4, 1.0, note="LCM-distilled: 4 steps")
        if "turbo" in name:
            return SamplerDefaults(1, 0.0, note="adversarially distilled (Turbo): 1 step")
        return SamplerDefaults(25, 7.0, keep_scheduler=False)
    if family.name == "flux":
        if "schnell" in name:
            return SamplerDefaults(4, 0.0, note="timestep-distilled (schnell): 4 steps")
        return SamplerDefaults(28, 3.5, note="guidance-distilled (dev)")
    if family.name == "flux2-klein":
        if index.get("is_distilled", "base" not in name):
            return SamplerDefaults(4, 1.0, note="step-distilled: 4 steps, no guidance")
        return SamplerDefaults(50, 4.0)
    if family.name == "sd3":
        if "turbo" in name:
            return SamplerDefaults(4, 0.0, note="adversarially distilled (Turbo): 4 steps")
        return SamplerDefaults(28, 3.5)
    if "turbo" in name:  # Z-Image Turbo: 8 function evaluations
        return SamplerDefaults(9, 0.0, note="distilled (Turbo): 9 steps, no guidance")
    return SamplerDefaults(50, 4.0)


def generation_call(
    family: Family, prompt: str, request: GenerationRequest, generator: torch.Generator
) -> dict[str, Any]:
    """The keyword arguments of one call of the family's pipeline for a request."""
    call: dict[str, Any] = {
        "prompt": prompt,
        "num_inference_steps": request.steps,
        "guidance_scale": request.guidance,
        "width": request.width,
        "height": request.height,
        "generator": generator,
    }
    if family.name in {"sd", "sdxl", "sd3", "z-image"}:  # FLUX bases take no negative prompt
        call["negative_prompt"] = request.negative_prompt
    return call


# ---------------------------------------------------------------------------------- training


@dataclass
class _Example:
    """One cached example: the latents of a (possibly mirrored) work and its prompt's encoding."""

    latents: torch.Tensor
    embeds: torch.Tensor
    pooled: torch.Tensor | None = None  # FLUX.1 and SD3: the pooled text embedding
    text_ids: torch.Tensor | None = None  # FLUX: the text tokens' position ids


@dataclass
class _Encoding:
    """A prompt's encoding, as the family's transformer reads it."""

    embeds: torch.Tensor
    pooled: torch.Tensor | None = None
    text_ids: torch.Tensor | None = None


def encode_prompt(pipeline: Any, family: Family, prompt: str) -> _Encoding:
    """A prompt through the pipeline's own text encoders, with the batch dimension kept."""
    device = pipeline.device
    if family.name == "flux":
        embeds, pooled, text_ids = pipeline.encode_prompt(
            prompt=prompt, prompt_2=None, device=device, num_images_per_prompt=1
        )
        return _Encoding(embeds, pooled, text_ids)
    if family.name == "flux2-klein":
        embeds, text_ids = pipeline.encode_prompt(prompt=prompt, device=device)
        return _Encoding(embeds, None, text_ids)
    if family.name == "sd3":
        embeds, _, pooled, _ = pipeline.encode_prompt(
            prompt=prompt,
            prompt_2=None,
            prompt_3=None,
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=False,
        )
        return _Encoding(embeds, pooled)
    embeds_list, _ = pipeline.encode_prompt(
        prompt=prompt, device=device, do_classifier_free_guidance=False
    )
    return _Encoding(embeds_list[0].unsqueeze(0))  # Z-Image: one unpadded sequence per prompt


def encode_latents(pipeline: Any, family: Family, pixels: torch.Tensor, generator: Any) -> Any:
    """Pixels in [-1, 1] to the normalised latents the family's transformer is trained on."""
    import torch

    vae = pipeline.vae
    distribution = vae.encode(pixels.to(pipeline.device, vae.dtype)).latent_dist
    if family.name == "flux2-klein":
        latents = pipeline._patchify_latents(distribution.mode())
        mean = vae.bn.running_mean.view(1, -1, 1, 1).to(latents)
        std = torch.sqrt(vae.bn.running_var.view(1, -1, 1, 1) + vae.config.batch_norm_eps)
        return (latents - mean) / std.to(latents)
    sampled = distribution.mode() if family.name == "z-image" else distribution.sample(generator)
    shift = vae.config.shift_factor or 0.0
    return (sampled - shift) * vae.config.scaling_factor


def predict_velocity(
    transformer: Any,
    pipeline_class: Any,
    family: Family,
    noisy: torch.Tensor,
    timesteps: torch.Tensor,
    batch: list[_Example],
    vae_scale_factor: int,
) -> torch.Tensor:
    """The transformer's velocity (noise minus image) for a noised batch, shaped like `noisy`."""
    import torch

    device = noisy.device
    embeds = torch.cat([e.embeds for e in batch]).to(device)
    size, channels, height, width = noisy.shape
    if family.name == "flux":
        packed = pipeline_class._pack_latents(noisy, size, channels, height, width)
        image_ids = pipeline_class._prepare_latent_image_ids(
            size, height // 2, width // 2, device, noisy.dtype
        )
        guidance = None
        if transformer.config.guidance_embeds:  # FLUX.1 dev is trained at its sampling guidance
            guidance = torch.full((size,), 3.5, device=device)
        predicted = transformer(
            hidden_states=packed,
            timestep=timesteps / 1000,
            guidance=guidance,
            pooled_projections=torch.cat([e.pooled for e in batch if e.pooled is not None]),
            encoder_hidden_states=embeds,
            txt_ids=batch[0].text_ids,
            img_ids=image_ids,
            return_dict=False,
        )[0]
        unpacked: torch.Tensor = pipeline_class._unpack_latents(
            predicted, height * vae_scale_factor, width * vae_scale_factor, vae_scale_factor
        )
        return unpacked
    if family.name == "flux2-klein":
        packed = pipeline_class._pack_latents(noisy)
        image_ids = pipeline_class._prepare_latent_ids(noisy).to(device)
        predicted = transformer(
            hidden_states=packed,
            timestep=timesteps / 1000,
            guidance=None,
            encoder_hidden_states=embeds,
            txt_ids=torch.cat([e.text_ids for e in batch if e.text_ids is not None]).to(device),
            img_ids=image_ids,
            return_dict=False,
        )[0]
        unpacked = pipeline_class._unpack_latents_with_ids(
            predicted[:, : packed.size(1)], image_ids
        )
        return unpacked
    if family.name == "sd3":
        predicted = transformer(
            hidden_states=noisy,
            timestep=timesteps,
            encoder_hidden_states=embeds,
            pooled_projections=torch.cat([e.pooled for e in batch if e.pooled is not None]),
            return_dict=False,
        )[0]
        return predicted  # type: ignore[no-any-return]
    # Z-Image: a list of (C, 1, H, W) frames, time running from 1 (noise) to 0, and the
    # prediction's sign flipped, as its training script does.
    frames = list(noisy.unsqueeze(2).unbind(dim=0))
    texts = [e.embeds[0].to(device) for e in batch]
    predicted_frames = transformer(frames, (1000 - timesteps) / 1000, texts, return_dict=False)[0]
    return -torch.stack(predicted_frames, dim=0).squeeze(2)


@dataclass
class FlowMatchingRun:
    """One DiT training run: the loaded pipeline, its family, and the cached examples."""

    pipeline: Any
    family: Family
    config: TrainingConfig
    examples: list[_Example] = field(default_factory=list)
    empty: _Encoding | None = None


def train_flow_matching(
    engine: Any,
    images: list[TrainingImage],
    config: TrainingConfig,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> ModelArtifact:
    """Fine-tune a LoRA on a DiT base's transformer; resumes from output_dir's newest checkpoint."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.training_utils import (
        compute_density_for_timestep_sampling,
        compute_loss_weighting_for_sd3,
    )
    from peft import LoraConfig

    from hallmark.engines.diffusers_lora import (
        ADAPTER,
        CHECKPOINT_WEIGHTS,
        CHECKPOINTS,
        check_inputs,
        load_pipeline,
    )

    # 1. Check the inputs and load the frozen base model.
    check_inputs(images, config)
    family = detect_family(config.base_model)
    check_components(config.base_model, family)
    pipeline = load_pipeline(config.base_model, config.device, torch.float32)
    transformer = pipeline.transformer
    for part in family.parts:
        module = getattr(pipeline, part)
        if isinstance(module, torch.nn.Module):
            module.requires_grad_(False)
    torch.manual_seed(config.seed)

    # 2. LoRA on the transformer's attention projections.
    transformer.add_adapter(
        LoraConfig(
            r=config.rank,
            lora_alpha=config.alpha,
            init_lora_weights=config.lora_init,
            target_modules=family.targets_in(transformer),
        )
    )
    if config.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    parameters = [p for p in transformer.parameters() if p.requires_grad]
    optimizer = engine.make_optimizer(parameters, config)

    # 3. Cache latents and prompt encodings once per work (and per mirror image).
    run = FlowMatchingRun(pipeline, family, config)
    _cache_examples(run, images)
    with torch.no_grad():
        empty = encode_prompt(pipeline, family, "")
    by_bucket: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for number, example in enumerate(run.examples):
        by_bucket[tuple(example.latents.shape)].append(number)

    # 4. Resume from the newest checkpoint, if a run was interrupted.
    start, state = resume_run(
        config.output_dir / CHECKPOINTS,
        transformer,
        optimizer,
        config.seed,
        weights=CHECKPOINT_WEIGHTS,
        adapter=ADAPTER,
    )
    if start:
        on_progress(Progress(start, config.steps, None, None, f"resumed from step {start}"))
    generator, picker = state.generator, state.picker

    # 5. The loop: draw a time, move a cached latent towards noise, predict the velocity.
    schedule = FlowMatchEulerDiscreteScheduler.from_config(pipeline.scheduler.config)
    train_steps = schedule.config.num_train_timesteps
    vae_scale_factor = 2 ** (len(pipeline.vae.config.block_out_channels) - 1)
    started, loss_value = time.monotonic(), None
    transformer.train()
    for step in range(start, config.steps):
        if should_stop():
            engine.save_step_checkpoint(config, transformer, state, step)
            on_progress(Progress(step, config.steps, loss_value, None, "stopped"))
            raise TrainingStopped(
                f"Training stopped after {step} of {config.steps} steps; the checkpoint is "
                "kept and the next run resumes from it."
            )
        optimizer.zero_grad()
        for _ in range(config.gradient_accumulation):
            batch = engine._batch(run.examples, by_bucket, config, picker)
            batch = [
                replace(example, embeds=empty.embeds, pooled=empty.pooled, text_ids=empty.text_ids)
                if picker.random() < config.caption_dropout
                else example
                for example in batch
            ]
            latents = torch.cat([e.latents for e in batch]).to(pipeline.device)
            noise = torch.randn(latents.shape, generator=generator).to(latents)
            # The density draws from torch's global generator, which checkpoints keep.
            u = compute_density_for_timestep_sampling(
                weighting_scheme=family.weighting_scheme,
                batch_size=len(batch),
                logit_mean=0.0,
                logit_std=1.0,
                mode_scale=1.29,
            )
            indices = (u * train_steps).long().clamp(max=train_steps - 1)
            timesteps = schedule.timesteps[indices].to(latents.device)
            sigmas = schedule.sigmas[indices].to(latents).view(-1, 1, 1, 1)
            noisy = (1.0 - sigmas) * latents + sigmas * noise
            with engine._autocast(config):
                predicted = predict_velocity(
                    transformer,
                    type(pipeline),
                    family,
                    noisy,
                    timesteps,
                    batch,
                    vae_scale_factor,
                )
            weighting = compute_loss_weighting_for_sd3(family.weighting_scheme, sigmas)
            error = weighting.float() * (predicted.float() - (noise - latents).float()) ** 2
            loss = error.reshape(len(batch), -1).mean(dim=1).mean()
            (loss / config.gradient_accumulation).backward()
            loss_value = float(loss.detach())
        optimizer.step()
        done = step + 1 - start
        eta = (time.monotonic() - started) / done * (config.steps - step - 1)
        samples: tuple[Image.Image, ...] = ()
        if config.validation_every and (step + 1) % config.validation_every == 0:
            samples = _validation_images(run, transformer)
        on_progress(Progress(step + 1, config.steps, loss_value, eta, "training", samples))
        if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0:
            engine.save_step_checkpoint(config, transformer, state, step + 1)

    # 6. Save the adapter in the diffusers format, with its peft metadata and the manifest.
    transformer.eval()
    return _save_artifact(run, transformer, images)


def _cache_examples(run: FlowMatchingRun, images: list[TrainingImage]) -> None:
    """Each work fitted to its bucket, mirrored if asked, VAE-encoded and captioned once."""
    import torch

    from hallmark.engines.diffusers_lora import _to_tensor, caption_for, fit_to_bucket

    generator = torch.Generator().manual_seed(run.config.seed)
    with torch.no_grad():
        for item in images:
            fitted = fit_to_bucket(item.image, run.config.resolution)
            encoding = encode_prompt(run.pipeline, run.family, caption_for(item, run.config))
            variants = [fitted, ImageOps.mirror(fitted)] if run.config.random_flip else [fitted]
            for variant in variants:
                latents = encode_latents(run.pipeline, run.family, _to_tensor(variant), generator)
                run.examples.append(
                    _Example(latents, encoding.embeds, encoding.pooled, encoding.text_ids)
                )


def _validation_images(run: FlowMatchingRun, transformer: Any) -> tuple[Image.Image, ...]:
    """A sample image at the base's own few-step-or-not settings, during training."""
    import torch

    transformer.eval()
    config = run.config
    request = GenerationRequest(
        config.validation_prompt or f"a work in {config.trigger} style",
        width=config.resolution,
        height=config.resolution,
        seed=config.seed,
        **sampler_defaults(config.base_model).as_request_settings(),
    )
    generator = torch.Generator().manual_seed(config.seed)
    with torch.no_grad():
        result = run.pipeline(**generation_call(run.family, request.prompt, request, generator))
    transformer.train()
    return tuple(result.images)


def _save_artifact(
    run: FlowMatchingRun, transformer: Any, images: list[TrainingImage]
) -> ModelArtifact:
    """The LoRA as diffusers' loader reads it (alpha kept in its metadata) and the manifest."""
    from peft.utils import get_peft_model_state_dict

    from hallmark.engines.diffusers_lora import (
        ADAPTER,
        ENGINE_NAME,
        ENGINE_VERSION,
        WEIGHTS,
        base_model_hash,
    )

    config = run.config
    config.output_dir.mkdir(parents=True, exist_ok=True)
    # peft's own key names, as diffusers' DiT training scripts save them (the UNet-era
    # conversion to `lora.down`/`lora.up` names is for attention processors, not transformers).
    layers = get_peft_model_state_dict(transformer, adapter_name=ADAPTER)
    type(run.pipeline).save_lora_weights(
        save_directory=str(config.output_dir),
        transformer_lora_layers=layers,
        transformer_lora_adapter_metadata=transformer.peft_config[ADAPTER].to_dict(),
        safe_serialization=True,
    )
    settings = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in asdict(config).items()
        if k != "output_dir"
    }
    manifest = {
        "engine": ENGINE_NAME,
        "engine_version": ENGINE_VERSION,
        "base_model": config.base_model,
        "base_model_sha256": base_model_hash(config.base_model),
        "architecture": run.family.name,
        "pipeline": run.family.pipeline_class,
        "lora_targets": run.family.targets_in(transformer),
        "trigger": config.trigger,
        "steps": config.steps,
        "training_set_sha256": [
            hashlib.sha256(item.image.convert("RGB").tobytes()).hexdigest() for item in images
        ],
        "hyperparameters": settings,
        "weights": WEIGHTS,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    artifact = ModelArtifact(config.output_dir, manifest)
    artifact.save_manifest()
    return artifact
