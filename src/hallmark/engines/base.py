"""The one protocol every style engine speaks, its values and its errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from PIL import Image

MANIFEST = "manifest.json"


class EngineError(ValueError):
    """Training or generation cannot go on; the message says what to change."""


class UnknownEngine(EngineError):
    """No engine is registered under the name asked for."""


class NotEnoughImages(EngineError):
    """Too few works to learn a style from."""


class ImageTooSmall(EngineError):
    """A work is smaller than the engine can learn from."""


class MissingComponent(EngineError):
    """A base model folder lacks a part (a UNet, a VAE, a text encoder, a tokenizer...)."""


class TrainingStopped(EngineError):
    """Training was asked to stop; its last checkpoint is kept, and a new run resumes from it."""


class OutOfMemory(EngineError):
    """The device ran out of memory; the message names the setting to lower."""


@dataclass(frozen=True)
class TrainingImage:
    """One work to learn from, and what it shows (None: use the instance prompt)."""

    image: Image.Image
    caption: str | None = None


@dataclass(frozen=True)
class TrainingConfig:
    """How to fine-tune: the base model, LoRA shape, optimisation, and where to keep the work."""

    base_model: str  # a diffusers folder, a single .safetensors checkpoint, or a hub id
    output_dir: Path
    trigger: str = "hmstyle"  # the token that calls up the style in prompts
    instance_prompt: str | None = (
        None  # for works without captions: default "a work in <trigger> style"
    )
    resolution: int = 512
    rank: int = 8
    alpha: int = 8
    learning_rate: float = 1e-4
    steps: int = 500
    batch_size: int = 1
    gradient_accumulation: int = 1
    random_flip: bool = True
    caption_dropout: float = 0.0  # share of steps trained on an empty prompt (helps guidance)
    min_snr_gamma: float | None = 5.0
    gradient_checkpointing: bool = False
    use_8bit_adam: bool = True  # only where bitsandbytes is installed and the device is CUDA
    checkpoint_every: int = 100
    validation_every: int = 0  # 0: never
    validation_prompt: str | None = None
    seed: int = 0
    device: str = "cpu"  # "cuda", "cuda:1", "mps" or "cpu"
    mixed_precision: str = "no"  # "fp16" or "bf16" on CUDA
    min_images: int = 3
    min_side: int = 256
    lora_init: str | bool = True  # True: zero-effect start; "gaussian": random (round-trip tests)


@dataclass(frozen=True)
class Progress:
    """Where a training run is: for progress bars, ETAs and sample images."""

    step: int
    total: int
    loss: float | None
    eta_seconds: float | None
    message: str = ""
    images: tuple[Image.Image, ...] = ()


@dataclass(frozen=True)
class ModelArtifact:
    """A trained style: a folder with the weights and a manifest that says how they were made."""

    directory: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> ModelArtifact:
        """An artifact from its folder."""
        path = directory / MANIFEST
        if not path.is_file():
            raise EngineError(f"{directory} is not a trained style: {MANIFEST} is missing.")
        return cls(directory, json.loads(path.read_text(encoding="utf-8")))

    def save_manifest(self) -> None:
        """Write the manifest beside the weights."""
        (self.directory / MANIFEST).write_text(
            json.dumps(self.manifest, indent=2, sort_keys=True, default=str), encoding="utf-8"
        )


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: what to draw, how hard to apply the style, and the sampler's settings."""

    prompt: str
    negative_prompt: str | None = None
    count: int = 1
    seed: int = 0
    steps: int = 25
    guidance: float = 7.0
    width: int = 512
    height: int = 512
    strength: float = 1.0  # the style's weight (LoRA scale)

    def as_dict(self) -> dict[str, Any]:
        """The request as JSON-ready data."""
        return asdict(self)


ProgressCallback = Callable[[Progress], None]
StopCheck = Callable[[], bool]


class Engine(Protocol):
    """What the studio asks of an engine: its own settings, learn a style, make images with it.

    The settings are class attributes, read without building the engine: its module imports its
    heavy libraries (torch, diffusers) in the methods that need them, so asking for them is cheap.
    """

    name: ClassVar[str]
    # Settings where the engine differs from TrainingConfig's and GenerationRequest's defaults.
    training_defaults: ClassVar[Mapping[str, Any]]
    generation_defaults: ClassVar[Mapping[str, Any]]
    default_base_model: ClassVar[str]  # used when a style names none; "" if one must be given

    @classmethod
    def prompt_notes(cls, prompt: str, base_model: str) -> list[str]:
        """What the person should know about a prompt (words the engine cannot draw...)."""
        ...

    def train(
        self,
        images: list[TrainingImage],
        config: TrainingConfig,
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> ModelArtifact:
        """Learn a style from the works; resumable from the last checkpoint in output_dir."""
        ...

    def generate(self, artifact: ModelArtifact, request: GenerationRequest) -> list[Image.Image]:
        """Images in the learned style; the same request and seed give the same images."""
        ...
