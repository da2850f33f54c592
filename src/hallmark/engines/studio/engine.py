"""The studio engine: a small base model fine-tuned on an artist's works, painted in their texture.

Three parts, each its own module: `network` (the text-to-layout UNet and its flow-matching
training), `text` (MiniLM prompts) and `renderer` (coarse-to-fine patch matching from the
artist's works). Training fits a LoRA on the base UNet and keeps the works for the renderer;
generation samples a 32 px layout with guidance and paints it up to 256 px. torch and the
network are imported by the methods that use them: the registry reads the class's settings alone.
"""

from __future__ import annotations

import functools
import random
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageOps

from hallmark.engines.base import (
    EngineError,
    GenerationRequest,
    ImageTooSmall,
    ModelArtifact,
    NotEnoughImages,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
)
from hallmark.engines.checkpoints import (
    RunState,
    is_checkpoint,
    load_checkpoint,
    load_lora_weights,
    lora_weights,
    save_checkpoint,
)
from hallmark.engines.studio.renderer import PatchRenderer
from hallmark.engines.studio.weights import BaseModel, load_base_unet, locate_base

ENGINE_NAME = "studio"
MIN_WORKS = 4
MIN_SIDE = 64
WORK_SIZE = 256  # works are kept square at this size for the renderer
BASE_MODEL = "studio-base"
LORA_FILE = "studio-lora.safetensors"
ADAPTER = "style"
WORKS_DIR = "works"
CHECKPOINT_DIR = "checkpoint"
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2", "proj_in", "proj_out"]
STUDIO_CAPTION_DROPOUT = 0.1
MAX_SHIFT = 0.06  # random translation, as a share of the side
SMALL_WORLD_NOTE = (
    "The studio engine's base model knows a small world (suns, moons, clouds, birds, mountains, "
    "hills, seas, roads, houses, trees, people, boats, flowers, in named colours and places); "
    "words outside it ({words}) were not understood. The diffusers-lora engine, pointed at a "
    "full base model, understands open prompts."
)
# What "train with default settings" means for this engine: ~20 works, a few minutes on 2 cores.
TRAINING_DEFAULTS: dict[str, Any] = {
    "steps": 300,
    "batch_size": 8,
    "learning_rate": 1e-3,
    "rank": 8,
    "alpha": 8,
    "resolution": WORK_SIZE,
    "min_side": MIN_SIDE,
    "checkpoint_every": 100,
    "validation_every": 100,
    "caption_dropout": STUDIO_CAPTION_DROPOUT,
}
GENERATION_DEFAULTS: dict[str, Any] = {"steps": 20, "guidance": 7.0, "width": 256, "height": 256}
_SWAP = {"left": "right", "right": "left"}


def mirror_caption(caption: str) -> str:
    """The caption of the mirrored picture: left and right trade places."""
    return re.sub(r"\b(left|right)\b", lambda m: _SWAP[m.group(1)], caption)


def square(image: Image.Image, size: int) -> Image.Image:
    """The image centre-cropped to a square and resized, in RGB."""
    return ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS)


def shifted(image: Image.Image, rng: random.Random) -> Image.Image:
    """The image moved by a few pixels, edges repeated: layouts need not sit exactly."""
    array = np.asarray(image)
    limit = max(1, int(MAX_SHIFT * array.shape[0]))
    dy, dx = rng.randint(-limit, limit), rng.randint(-limit, limit)
    padded = np.pad(array, ((limit, limit), (limit, limit), (0, 0)), mode="edge")
    y0, x0 = limit + dy, limit + dx
    return Image.fromarray(padded[y0 : y0 + array.shape[0], x0 : x0 + array.shape[1]])


def check_works(images: list[TrainingImage], config: TrainingConfig) -> None:
    """Refuse too few or too small works, naming the problem."""
    needed = max(MIN_WORKS, config.min_images)
    if len(images) < needed:
        raise NotEnoughImages(
            f"The studio engine needs at least {needed} works to learn a style; got "
            f"{len(images)}. Upload more of your works."
        )
    smallest = min(min(item.image.size) for item in images)
    if smallest < MIN_SIDE:
        raise ImageTooSmall(
            f"A work is {smallest} px on its short side; the studio engine needs at least "
            f"{MIN_SIDE} px."
        )


class StudioEngine:
    """Embedded CPU styles: minutes to train on ~20 works, seconds per 256 px image."""

    name: ClassVar[str] = ENGINE_NAME
    training_defaults: ClassVar[Mapping[str, Any]] = TRAINING_DEFAULTS
    generation_defaults: ClassVar[Mapping[str, Any]] = GENERATION_DEFAULTS
    default_base_model: ClassVar[str] = BASE_MODEL

    @staticmethod
    def prompt_notes(prompt: str, base_model: str) -> list[str]:
        """Notes for a prompt: words outside the base model's world, a prompt cut short."""
        return _notes(prompt, locate_base(base_model))

    def __init__(self) -> None:
        self._models: OrderedDict[Path, tuple[Any, PatchRenderer, BaseModel]] = OrderedDict()
        self._sampling = threading.Lock()  # a loaded UNet holds one style strength at a time

    # ---- training ---------------------------------------------------------------------------

    def train(
        self,
        images: list[TrainingImage],
        config: TrainingConfig,
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> ModelArtifact:
        """Fit a LoRA of the base model on the works; keep the works for the renderer."""
        import torch
        from safetensors.torch import save_file

        from hallmark.engines.studio.network import flow_matching_loss, images_to_tensor
        from hallmark.engines.studio.text import shared_text_encoder

        check_works(images, config)
        began = time.monotonic()
        torch.manual_seed(config.seed)
        base = locate_base(config.base_model)
        unet = self._unet_with_lora(base, config.rank, config.alpha)
        unet.train()
        encoder = shared_text_encoder()
        works = [square(item.image, WORK_SIZE) for item in images]
        captions = [item.caption or config.instance_prompt or "" for item in images]
        # 1. Every caption and its mirror, encoded once.
        texts = sorted({*captions, *(mirror_caption(c) for c in captions), ""})
        encoded = encoder.encode(texts)
        row = {text: i for i, text in enumerate(texts)}
        # 2. Optimiser over the LoRA weights only; resume from the last checkpoint if any.
        parameters = [p for p in unet.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=0.0)
        picker = random.Random(config.seed)
        run = RunState(optimizer, torch.Generator().manual_seed(config.seed), picker)
        config.output_dir.mkdir(parents=True, exist_ok=True)
        start = self._resume(config.output_dir, unet, run)
        if start:
            on_progress(Progress(start, config.steps, None, None, f"resumed from step {start}"))
        dropout = config.caption_dropout or STUDIO_CAPTION_DROPOUT
        batch_size = max(1, config.batch_size)
        losses: list[float] = []
        step_began = time.monotonic()
        for step in range(start, config.steps):
            if should_stop():
                self._save_checkpoint(config.output_dir, unet, run, step)
                raise TrainingStopped(f"Training stopped at step {step}; it resumes from there.")
            # 3. A batch: works picked at random, flipped (with their caption) and shifted.
            chosen, texts_now = [], []
            for _ in range(batch_size):
                k = picker.randrange(len(works))
                image, caption = works[k], captions[k]
                if config.random_flip and picker.random() < 0.5:
                    image, caption = ImageOps.mirror(image), mirror_caption(caption)
                chosen.append(shifted(image, picker))
                texts_now.append("" if picker.random() < dropout else caption)
            index = torch.tensor([row[t] for t in texts_now])
            loss = flow_matching_loss(
                unet,
                images_to_tensor(chosen),
                encoded.embeddings[index],
                encoded.mask[index],
                run.generator,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            losses.append(loss.item())
            done = step + 1
            rate = (done - start) / max(time.monotonic() - step_began, 1e-6)
            samples: tuple[Image.Image, ...] = ()
            if config.validation_every and done % config.validation_every == 0:
                samples = self._validation_layouts(unet, config, captions[0])
            on_progress(
                Progress(
                    step=done,
                    total=config.steps,
                    loss=float(np.mean(losses[-20:])),
                    eta_seconds=(config.steps - done) / rate,
                    message="learning the style",
                    images=samples,
                )
            )
            if config.checkpoint_every and done % config.checkpoint_every == 0:
                self._save_checkpoint(config.output_dir, unet, run, done)
        # 4. The adapter, the works the renderer paints from, and the manifest.
        save_file(lora_weights(unet, ADAPTER), str(config.output_dir / LORA_FILE))
        works_dir = config.output_dir / WORKS_DIR
        works_dir.mkdir(exist_ok=True)
        for number, work in enumerate(works):
            work.save(works_dir / f"{number:03d}.png")
        shutil.rmtree(config.output_dir / CHECKPOINT_DIR, ignore_errors=True)
        artifact = ModelArtifact(
            config.output_dir,
            {
                "engine": ENGINE_NAME,
                "base_model": config.base_model or BASE_MODEL,
                "base_sha256": base.sha256,
                "base_data_version": base.record.get("data_version"),
                "rank": config.rank,
                "alpha": config.alpha,
                "steps": config.steps,
                "learning_rate": config.learning_rate,
                "batch_size": batch_size,
                "caption_dropout": dropout,
                "seed": config.seed,
                "works": len(works),
                "final_loss": float(np.mean(losses[-20:])) if losses else None,
                "training_seconds": round(time.monotonic() - began, 1),
                "trigger": config.trigger,
            },
        )
        artifact.save_manifest()
        on_progress(
            Progress(config.steps, config.steps, artifact.manifest["final_loss"], 0.0, "done")
        )
        return artifact

    @staticmethod
    def _unet_with_lora(base: BaseModel, rank: int, alpha: int) -> Any:  # a peft-wrapped UNet
        from peft import LoraConfig

        unet: Any = load_base_unet(base)
        unet.requires_grad_(False)
        unet.add_adapter(
            LoraConfig(
                r=rank, lora_alpha=alpha, target_modules=LORA_TARGETS, init_lora_weights=True
            ),
            adapter_name=ADAPTER,
        )
        return unet

    def _validation_layouts(
        self, unet: Any, config: TrainingConfig, caption: str
    ) -> tuple[Image.Image, ...]:
        unet.eval()
        layouts = self._layouts(unet, config.validation_prompt or caption, 1, config.seed, 12, 3.0)
        unet.train()
        return tuple(image.resize((128, 128), Image.Resampling.NEAREST) for image in layouts)

    @staticmethod
    def _save_checkpoint(folder: Path, unet: Any, run: RunState, step: int) -> None:
        """The run's one checkpoint, in `checkpoint/`, replacing the one before."""
        save_checkpoint(
            folder / CHECKPOINT_DIR, unet, run, step, weights=LORA_FILE, adapter=ADAPTER
        )

    @staticmethod
    def _resume(folder: Path, unet: Any, run: RunState) -> int:
        """The step to start from: 0, or the last checkpoint's."""
        checkpoint = folder / CHECKPOINT_DIR
        if not is_checkpoint(checkpoint):
            return 0
        return load_checkpoint(checkpoint, unet, run, weights=LORA_FILE, adapter=ADAPTER)

    # ---- generation -------------------------------------------------------------------------

    def generate(self, artifact: ModelArtifact, request: GenerationRequest) -> list[Image.Image]:
        """Layouts from the fine-tuned model, painted from the artist's patches; seed-determined."""
        unet, renderer, base = self._load(artifact)
        layouts = self._styled_layouts(unet, request)
        notes = _notes(request.prompt, base)
        images = []
        for number, layout in enumerate(layouts):
            image = renderer.render(layout, seed=request.seed + number)
            if (request.width, request.height) != image.size:
                image = image.resize((request.width, request.height), Image.Resampling.LANCZOS)
            if notes:
                image.info["note"] = " ".join(notes)
            images.append(image)
        return images

    def generate_layouts(
        self, artifact: ModelArtifact, request: GenerationRequest
    ) -> list[Image.Image]:
        """The fine-tuned model's 32 px layouts for a request, before they are painted."""
        unet, _, _ = self._load(artifact)
        return self._styled_layouts(unet, request)

    def _styled_layouts(self, unet: Any, request: GenerationRequest) -> list[Image.Image]:
        """Layouts from a loaded UNet with the style folded in at the request's strength."""
        if request.count < 1:
            raise EngineError("count must be at least 1.")
        if request.steps < 1:
            raise EngineError("steps must be at least 1.")
        with self._sampling:
            merge_style(unet, float(request.strength))
            return self._layouts(
                unet, request.prompt, request.count, request.seed, request.steps, request.guidance
            )

    @staticmethod
    def _layouts(
        unet: Any, prompt: str, count: int, seed: int, steps: int, guidance: float
    ) -> list[Image.Image]:
        import torch

        from hallmark.engines.studio.network import sample_layouts, tensor_to_arrays
        from hallmark.engines.studio.text import shared_text_encoder

        encoder = shared_text_encoder()
        encoded = encoder.encode([prompt, ""])
        generators = [torch.Generator().manual_seed(seed + i) for i in range(count)]
        folded = sample_layouts(
            unet,
            encoded.embeddings[:1].expand(count, -1, -1),
            encoded.mask[:1].expand(count, -1),
            encoded.embeddings[1:],
            encoded.mask[1:],
            steps=steps,
            guidance=guidance,
            generators=generators,
        )
        return [Image.fromarray(pixels, "RGB") for pixels in tensor_to_arrays(folded)]

    def _load(self, artifact: ModelArtifact) -> tuple[Any, PatchRenderer, BaseModel]:
        """The style's UNet and renderer, kept for the last few styles used in this process."""
        key = artifact.directory.resolve()
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        manifest = artifact.manifest
        if manifest.get("engine") != ENGINE_NAME:
            raise EngineError(f"{artifact.directory} was not trained by the studio engine.")
        base = locate_base(str(manifest.get("base_model", "")))
        if base.sha256 != manifest.get("base_sha256"):
            raise EngineError(
                "This style was trained on a different base model than the one installed; "
                "train it again."
            )
        unet = self._unet_with_lora(base, int(manifest["rank"]), int(manifest["alpha"]))
        load_lora_weights(unet, artifact.directory / LORA_FILE, ADAPTER)
        unet.eval()
        works = sorted((artifact.directory / WORKS_DIR).glob("*.png"))
        renderer = _renderer_for(tuple(str(p) for p in works))
        self._models[key] = (unet, renderer, base)
        while len(self._models) > 4:
            self._models.popitem(last=False)
        return self._models[key]


def merge_style(unet: Any, strength: float) -> None:
    """Fold the style's LoRA, at `strength`, into the UNet's own weights for generation.

    The merged UNet computes the same layouts (to float rounding) without the LoRA's extra
    matrix products at every step: bench/studio_layout_speed.py measures the difference.
    """
    if getattr(unet, "merged_style_strength", None) == strength:
        return
    unmerge_style(unet)
    unet.set_adapters([ADAPTER], weights=[strength])
    for layer in _lora_layers(unet):
        layer.merge(adapter_names=[ADAPTER])
    unet.merged_style_strength = strength


def unmerge_style(unet: Any) -> None:
    """Take a folded style back out of the UNet's weights: the LoRA applies beside them again."""
    for layer in _lora_layers(unet):
        if layer.merged:
            layer.unmerge()
    unet.merged_style_strength = None


def _lora_layers(unet: Any) -> list[Any]:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return [module for module in unet.modules() if isinstance(module, BaseTunerLayer)]


def _notes(prompt: str, base: BaseModel) -> list[str]:
    from hallmark.engines.studio.text import MAX_TOKENS, shared_text_encoder

    notes = []
    words = [w.strip(",.:;!?\"'").lower() for w in prompt.split()]
    unknown = sorted({w for w in words if w and w not in base.vocabulary})
    if unknown and base.vocabulary:
        shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        notes.append(SMALL_WORLD_NOTE.format(words=shown))
    if len(shared_text_encoder().tokenizer(prompt)["input_ids"]) > MAX_TOKENS:
        notes.append(f"Only the first {MAX_TOKENS} tokens of the prompt were used.")
    return notes


@functools.lru_cache(maxsize=4)
def _renderer_for(paths: tuple[str, ...]) -> PatchRenderer:
    with_images = []
    for path in paths:
        with Image.open(path) as image:
            with_images.append(image.convert("RGB"))
    return PatchRenderer(with_images)
