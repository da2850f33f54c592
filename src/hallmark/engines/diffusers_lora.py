"""The production engine: DreamBooth-style LoRA fine-tuning of Stable Diffusion (1.x, 2.x, SDXL).

One readable training loop in numbered steps, after diffusers' `train_dreambooth_lora.py` and
`train_dreambooth_lora_sdxl.py`: peft LoRA on the UNet's attention projections, captions with a
trigger token, aspect-ratio buckets, latents and prompt embeddings cached once, min-SNR weighting,
seeded and deterministic on CPU, checkpoints that a crashed run resumes from. torch is imported
by the functions that use it: the registry reads the class's settings alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PIL import Image, ImageOps

from hallmark.engines.base import (
    EngineError,
    GenerationRequest,
    ImageTooSmall,
    ModelArtifact,
    NotEnoughImages,
    OutOfMemory,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
)
from hallmark.engines.checkpoints import (
    RunState,
    resume_run,
    save_checkpoint,
    step_folder,
)
from hallmark.engines.lora_formats import adapter_metadata

if TYPE_CHECKING:
    import torch

ENGINE_NAME = "diffusers-lora"
ENGINE_VERSION = "1"
WEIGHTS = "pytorch_lora_weights.safetensors"
LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]
SD_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
SDXL_PARTS = (*SD_PARTS, "text_encoder_2", "tokenizer_2")
CHECKPOINTS = "checkpoints"
CHECKPOINT_WEIGHTS = "lora.safetensors"
ADAPTER = "default"  # peft's name for an adapter added without one


# ------------------------------------------------------------------------------ base models


def check_base_model(base_model: str) -> bool:
    """Refuse a diffusers folder missing a component; returns whether it is an SDXL pipeline."""
    from hallmark.engines.flow_matching import check_components, detect_family

    family = detect_family(base_model)
    check_components(base_model, family)
    return family.name == "sdxl"


def quiet_libraries() -> None:
    """Keep diffusers' and transformers' loading bars and notices out of our users' terminals."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="diffusers")


def load_pipeline(base_model: str, device: str, dtype: torch.dtype) -> Any:
    """A base pipeline from a diffusers folder or a hub id (or a single SD/SDXL checkpoint)."""
    from diffusers import DiffusionPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline

    quiet_libraries()
    from hallmark.engines.flow_matching import DIT_FAMILIES, detect_family

    path = Path(base_model)
    sdxl = check_base_model(base_model)
    if path.is_file() and path.suffix in {".safetensors", ".ckpt"}:
        if detect_family(base_model).name in DIT_FAMILIES:
            raise EngineError(
                f"{path.name}: a FLUX, SD3 or Z-Image base must be a diffusers folder or a hub "
                "id; single-file checkpoints load only for Stable Diffusion 1.x, 2.x and SDXL."
            )
        single = StableDiffusionXLPipeline if sdxl else StableDiffusionPipeline
        pipeline = single.from_single_file(str(path), torch_dtype=dtype)
    else:
        pipeline = DiffusionPipeline.from_pretrained(base_model, torch_dtype=dtype)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(device)


def base_model_hash(base_model: str) -> str:
    """A short SHA-256 of the base model's weight files (or of its id when it is not local)."""
    path = Path(base_model)
    digest = hashlib.sha256()
    files: list[Path] = [path] if path.is_file() else []
    if path.is_dir():
        files = sorted(path.rglob("*.safetensors")) + sorted(path.rglob("*.bin"))
    if not files:
        digest.update(base_model.encode())
    for file in files:
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------------- inputs


def check_inputs(images: list[TrainingImage], config: TrainingConfig) -> None:
    """Refuse what cannot train a style, with the reason."""
    if len(images) < config.min_images:
        raise NotEnoughImages(
            f"A style needs at least {config.min_images} works; {len(images)} given."
        )
    for number, item in enumerate(images, start=1):
        if min(item.image.size) < config.min_side:
            width, height = item.image.size
            raise ImageTooSmall(
                f"Work {number} is {width}x{height}; each side needs at least {config.min_side} px."
            )
    if config.steps < 1 or config.batch_size < 1 or config.gradient_accumulation < 1:
        raise EngineError("steps, batch_size and gradient_accumulation must be at least 1.")
    if config.resolution % 64:
        raise EngineError("resolution must be a multiple of 64.")


def buckets_for(resolution: int) -> list[tuple[int, int]]:
    """Width x height pairs of about resolution² pixels, multiples of 64, from 1:2 to 2:1."""
    found = {(resolution, resolution)}
    for ratio in (4 / 3, 3 / 2, 16 / 9, 2.0):
        width = int(round(resolution * math.sqrt(ratio) / 64)) * 64
        height = int(round(resolution / math.sqrt(ratio) / 64)) * 64
        found |= {(width, height), (height, width)}
    return sorted(found)


def fit_to_bucket(image: Image.Image, resolution: int) -> Image.Image:
    """The image scaled and centre-cropped to the bucket nearest its aspect ratio."""
    ratio = image.width / image.height
    width, height = min(
        buckets_for(resolution), key=lambda bucket: abs(math.log(bucket[0] / bucket[1] / ratio))
    )
    return ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)


def caption_for(item: TrainingImage, config: TrainingConfig) -> str:
    """The training prompt: the trigger token with the work's caption, or the instance prompt."""
    if item.caption:
        return f"{config.trigger}, {item.caption}"
    return config.instance_prompt or f"a work in {config.trigger} style"


def _to_tensor(image: Image.Image) -> torch.Tensor:
    """An image as a 1x3xHxW tensor in [-1, 1]."""
    import torch

    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    pixels = data.reshape(image.height, image.width, 3).permute(2, 0, 1).float() / 127.5 - 1
    return pixels.unsqueeze(0)


# ---------------------------------------------------------------------------------- training


@dataclass
class _Example:
    """One cached training example: latents of a (possibly mirrored) work and its prompt."""

    latents: torch.Tensor
    prompt_embeds: torch.Tensor
    pooled_embeds: torch.Tensor | None
    time_ids: torch.Tensor | None


def _encode_prompt(pipeline: Any, prompt: str, sdxl: bool) -> tuple[torch.Tensor, Any]:
    """Prompt embeddings (and SDXL's pooled embedding) from the pipeline's own encoder."""
    device = pipeline.device
    if sdxl:
        embeds, _, pooled, _ = pipeline.encode_prompt(
            prompt, device=device, num_images_per_prompt=1, do_classifier_free_guidance=False
        )
        return embeds, pooled
    embeds, _ = pipeline.encode_prompt(prompt, device, 1, False)
    return embeds, None


class DiffusersLoraEngine:
    """LoRA styles on Stable Diffusion; one base pipeline per process, adapters swapped by name."""

    name: ClassVar[str] = ENGINE_NAME
    # TrainingConfig's and GenerationRequest's defaults are this engine's; the base model is
    # always the style's own.
    training_defaults: ClassVar[Mapping[str, Any]] = {}
    generation_defaults: ClassVar[Mapping[str, Any]] = {}
    default_base_model: ClassVar[str] = ""

    @staticmethod
    def prompt_notes(prompt: str, base_model: str) -> list[str]:
        """Nothing to say: a full base model understands open prompts."""
        return []

    @staticmethod
    def generation_defaults_for(base_model: str) -> dict[str, Any]:
        """Steps and guidance the base samples best with (few steps for distilled bases)."""
        from hallmark.engines.flow_matching import sampler_defaults

        return sampler_defaults(base_model).as_request_settings()

    def __init__(self) -> None:
        self._pipelines: dict[tuple[str, str], Any] = {}
        self._loaded_adapters: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._lock = threading.Lock()  # a pipeline is never called from two threads at once

    # ------------------------------------------------------------------------------ training

    def train(
        self,
        images: list[TrainingImage],
        config: TrainingConfig,
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> ModelArtifact:
        """Fine-tune a LoRA on the works; resumes from the newest checkpoint in output_dir."""
        try:
            return self._train(images, config, on_progress, should_stop)
        except RuntimeError as error:
            if "out of memory" in str(error).lower():
                raise OutOfMemory(
                    "The device ran out of memory: lower batch_size or resolution, or turn on "
                    "gradient_checkpointing."
                ) from error
            raise

    def _train(
        self,
        images: list[TrainingImage],
        config: TrainingConfig,
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> ModelArtifact:
        import torch
        from peft import LoraConfig
        from peft.utils import get_peft_model_state_dict

        from hallmark.engines.flow_matching import DIT_FAMILIES, detect_family, train_flow_matching

        if detect_family(config.base_model).name in DIT_FAMILIES:
            return train_flow_matching(self, images, config, on_progress, should_stop)
        # 1. Check the inputs and load the frozen base model.
        check_inputs(images, config)
        sdxl = check_base_model(config.base_model)
        dtype = torch.float32  # weights stay float32; CUDA runs can autocast below
        pipeline = load_pipeline(config.base_model, config.device, dtype)
        unet = pipeline.unet
        for module in (unet, pipeline.vae, pipeline.text_encoder):
            module.requires_grad_(False)
        if sdxl:
            pipeline.text_encoder_2.requires_grad_(False)
        torch.manual_seed(config.seed)

        # 2. LoRA on the UNet's attention projections.
        unet.add_adapter(
            LoraConfig(
                r=config.rank,
                lora_alpha=config.alpha,
                init_lora_weights=config.lora_init,
                target_modules=LORA_TARGETS,
            )
        )
        if config.gradient_checkpointing:
            unet.enable_gradient_checkpointing()
        parameters = [p for p in unet.parameters() if p.requires_grad]
        optimizer = self.make_optimizer(parameters, config)

        # 3. Cache latents and prompt embeddings once per work (and per mirror image).
        examples = self._cache_examples(pipeline, images, config, sdxl)
        with torch.no_grad():
            empty = _encode_prompt(pipeline, "", sdxl)
        by_bucket: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for number, example in enumerate(examples):
            by_bucket[tuple(example.latents.shape)].append(number)

        # 4. Resume from the newest checkpoint, if a run was interrupted.
        start, run = resume_run(
            config.output_dir / CHECKPOINTS,
            unet,
            optimizer,
            config.seed,
            weights=CHECKPOINT_WEIGHTS,
            adapter=ADAPTER,
        )
        if start:
            on_progress(Progress(start, config.steps, None, None, f"resumed from step {start}"))
        generator, picker = run.generator, run.picker

        # 5. The loop: noise a cached latent, predict the noise, weight by min-SNR, step.
        scheduler = pipeline.scheduler
        from diffusers import DDPMScheduler

        noise_scheduler = DDPMScheduler.from_config(scheduler.config)
        started, loss_value = time.monotonic(), None
        unet.train()
        for step in range(start, config.steps):
            if should_stop():
                self.save_step_checkpoint(config, unet, run, step)
                on_progress(Progress(step, config.steps, loss_value, None, "stopped"))
                raise TrainingStopped(
                    f"Training stopped after {step} of {config.steps} steps; the checkpoint is "
                    "kept and the next run resumes from it."
                )
            optimizer.zero_grad()
            for _ in range(config.gradient_accumulation):
                batch = self._batch(examples, by_bucket, config, picker)
                batch = [
                    replace(example, prompt_embeds=empty[0], pooled_embeds=empty[1])
                    if picker.random() < config.caption_dropout
                    else example
                    for example in batch
                ]
                with self._autocast(config):
                    loss = self._loss(unet, noise_scheduler, batch, config, generator, sdxl)
                (loss / config.gradient_accumulation).backward()  # type: ignore[no-untyped-call]
                loss_value = float(loss.detach())
            optimizer.step()
            done = step + 1 - start
            eta = (time.monotonic() - started) / done * (config.steps - step - 1)
            samples: tuple[Image.Image, ...] = ()
            if config.validation_every and (step + 1) % config.validation_every == 0:
                samples = self._validation_images(pipeline, config, unet)
            on_progress(Progress(step + 1, config.steps, loss_value, eta, "training", samples))
            if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0:
                self.save_step_checkpoint(config, unet, run, step + 1)

        # 6. Save the adapter in the diffusers format, with its manifest.
        unet.eval()
        return self._save_artifact(pipeline, unet, images, config, sdxl, get_peft_model_state_dict)

    @staticmethod
    def _autocast(config: TrainingConfig) -> Any:
        """fp16/bf16 autocast on CUDA when asked; float32 everywhere else."""
        import torch

        if config.device.startswith("cuda") and config.mixed_precision in {"fp16", "bf16"}:
            dtype = torch.float16 if config.mixed_precision == "fp16" else torch.bfloat16
            return torch.autocast(device_type="cuda", dtype=dtype)
        return contextlib.nullcontext()

    def make_optimizer(self, parameters: list[torch.nn.Parameter], config: TrainingConfig) -> Any:
        import torch

        if config.use_8bit_adam and config.device.startswith("cuda"):
            try:
                import bitsandbytes as bnb

                return bnb.optim.AdamW8bit(parameters, lr=config.learning_rate)
            except ImportError:
                pass
        return torch.optim.AdamW(parameters, lr=config.learning_rate)

    def _cache_examples(
        self, pipeline: Any, images: list[TrainingImage], config: TrainingConfig, sdxl: bool
    ) -> list[_Example]:
        import torch

        vae = pipeline.vae
        generator = torch.Generator().manual_seed(config.seed)
        examples = []
        with torch.no_grad():
            for item in images:
                fitted = fit_to_bucket(item.image, config.resolution)
                embeds, pooled = _encode_prompt(pipeline, caption_for(item, config), sdxl)
                variants = [fitted]
                if config.random_flip:
                    variants.append(ImageOps.mirror(fitted))
                for variant in variants:
                    pixels = _to_tensor(variant).to(pipeline.device, vae.dtype)
                    latents = vae.encode(pixels).latent_dist.sample(generator=generator)
                    latents = latents * vae.config.scaling_factor
                    time_ids = None
                    if sdxl:
                        size = (variant.height, variant.width)
                        time_ids = torch.tensor([[*size, 0, 0, *size]], dtype=embeds.dtype)
                    examples.append(_Example(latents, embeds, pooled, time_ids))
        return examples

    @staticmethod
    def _batch(
        examples: list[_Example],
        by_bucket: dict[tuple[int, ...], list[int]],
        config: TrainingConfig,
        picker: random.Random,
    ) -> list[_Example]:
        """Examples from one bucket, so their latents stack."""
        bucket = picker.choice(sorted(by_bucket))
        return [examples[picker.choice(by_bucket[bucket])] for _ in range(config.batch_size)]

    @staticmethod
    def _loss(
        unet: Any,
        noise_scheduler: Any,
        batch: list[_Example],
        config: TrainingConfig,
        generator: torch.Generator,
        sdxl: bool,
    ) -> torch.Tensor:
        import torch
        import torch.nn.functional as F
        from diffusers.training_utils import compute_snr

        device = unet.device
        latents = torch.cat([e.latents for e in batch]).to(device)
        embeds = torch.cat([e.prompt_embeds for e in batch]).to(device)
        noise = torch.randn(latents.shape, generator=generator).to(device)
        steps = noise_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (len(batch),), generator=generator).to(device)
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        extra = {}
        if sdxl:
            extra["added_cond_kwargs"] = {
                "text_embeds": torch.cat(
                    [e.pooled_embeds for e in batch if e.pooled_embeds is not None]
                ).to(device),
                "time_ids": torch.cat([e.time_ids for e in batch if e.time_ids is not None]).to(
                    device
                ),
            }
        prediction = unet(noisy, timesteps, embeds, **extra).sample
        if noise_scheduler.config.prediction_type == "v_prediction":
            target = noise_scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        if config.min_snr_gamma is None:
            return F.mse_loss(prediction.float(), target.float())
        # Min-SNR weighting (Hang et al., 2023): easy, low-noise steps count less.
        snr = compute_snr(noise_scheduler, timesteps)
        clipped = torch.minimum(snr, torch.full_like(snr, config.min_snr_gamma))
        v_prediction = noise_scheduler.config.prediction_type == "v_prediction"
        weights = clipped / (snr + 1) if v_prediction else clipped / snr
        per_example = F.mse_loss(prediction.float(), target.float(), reduction="none")
        per_example = per_example.mean(dim=list(range(1, per_example.ndim)))
        weighted: torch.Tensor = (per_example * weights).mean()
        return weighted

    @staticmethod
    def _validation_images(
        pipeline: Any, config: TrainingConfig, unet: Any
    ) -> tuple[Image.Image, ...]:
        import torch

        unet.eval()
        prompt = config.validation_prompt or f"a work in {config.trigger} style"
        with torch.no_grad():
            result = pipeline(
                prompt,
                num_inference_steps=4,
                height=config.resolution,
                width=config.resolution,
                generator=torch.Generator().manual_seed(config.seed),
            )
        unet.train()
        return tuple(result.images)

    @staticmethod
    def save_step_checkpoint(config: TrainingConfig, unet: Any, run: RunState, step: int) -> None:
        """Everything a resumed run needs, in `checkpoints/step-N`, one folder per step."""
        save_checkpoint(
            step_folder(config.output_dir / CHECKPOINTS, step),
            unet,
            run,
            step,
            weights=CHECKPOINT_WEIGHTS,
            adapter=ADAPTER,
        )

    def _save_artifact(
        self,
        pipeline: Any,
        unet: Any,
        images: list[TrainingImage],
        config: TrainingConfig,
        sdxl: bool,
        peft_state: Any,
    ) -> ModelArtifact:
        from diffusers.utils import convert_state_dict_to_diffusers

        config.output_dir.mkdir(parents=True, exist_ok=True)
        layers = convert_state_dict_to_diffusers(peft_state(unet))
        # The adapter's rank and alpha go with the weights, so a reload scales by alpha / rank.
        type(pipeline).save_lora_weights(
            save_directory=str(config.output_dir),
            unet_lora_layers=layers,
            unet_lora_adapter_metadata=adapter_metadata(config.rank, config.alpha, LORA_TARGETS),
            safe_serialization=True,
        )
        settings = {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(config).items()
            if k not in {"output_dir"}
        }
        manifest = {
            "engine": ENGINE_NAME,
            "engine_version": ENGINE_VERSION,
            "base_model": config.base_model,
            "base_model_sha256": base_model_hash(config.base_model),
            "architecture": "sdxl" if sdxl else "sd",
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

    # ---------------------------------------------------------------------------- generation

    def generate(self, artifact: ModelArtifact, request: GenerationRequest) -> list[Image.Image]:
        """Images from the base model with the style's adapter at the requested strength."""
        import torch
        from diffusers import DPMSolverMultistepScheduler

        if not request.prompt.strip():
            raise EngineError("Describe what to draw: the prompt is empty.")
        if not 1 <= request.count <= 16:
            raise EngineError("count must be between 1 and 16.")
        if request.width % 8 or request.height % 8:
            raise EngineError("width and height must be multiples of 8.")
        from hallmark.engines.flow_matching import BY_NAME, generation_call, sampler_defaults

        manifest = artifact.manifest
        family = BY_NAME[manifest.get("architecture", "sd")]
        device = manifest.get("hyperparameters", {}).get("device", "cpu")
        key = (manifest["base_model"], device)
        adapter = hashlib.sha256(str(artifact.directory.resolve()).encode()).hexdigest()[:12]
        with self._lock:
            pipeline = self._pipelines.get(key)
            if pipeline is None:
                pipeline = load_pipeline(manifest["base_model"], device, torch.float32)
                if not sampler_defaults(manifest["base_model"]).keep_scheduler:
                    pipeline.scheduler = DPMSolverMultistepScheduler.from_config(
                        pipeline.scheduler.config
                    )
                self._pipelines[key] = pipeline
            if adapter not in self._loaded_adapters[key]:
                pipeline.load_lora_weights(str(artifact.directory), adapter_name=adapter)
                self._loaded_adapters[key].add(adapter)
            pipeline.set_adapters([adapter], adapter_weights=[request.strength])
            prompt = f"{manifest.get('trigger', '')}, {request.prompt}".strip(", ")
            images = []
            for number in range(request.count):
                generator = torch.Generator().manual_seed(request.seed + number)
                result = pipeline(**generation_call(family, prompt, request, generator))
                images.extend(result.images)
        return images
