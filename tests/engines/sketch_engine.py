"""A tiny plugin engine, installed by the registry tests into a temporary site as its own package.

It learns one thing, the works' mean colour, and paints it under a seeded grid of lighter cells:
deterministic and quick, and enough to take a style through the studio as any plugin would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any, ClassVar

from PIL import Image

from hallmark.engines import (
    GenerationRequest,
    ModelArtifact,
    NotEnoughImages,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
)

WEIGHTS = "sketch-weights.json"
CELL = 8


class SketchEngine:
    """Learns the works' mean colour; paints it with a seeded pattern of lighter cells."""

    name: ClassVar[str] = "sketch"
    training_defaults: ClassVar[Mapping[str, Any]] = {"steps": 3, "min_images": 2}
    generation_defaults: ClassVar[Mapping[str, Any]] = {"width": 64, "height": 48, "steps": 1}
    default_base_model: ClassVar[str] = "sketch-base"

    @staticmethod
    def prompt_notes(prompt: str, base_model: str) -> list[str]:
        """Every prompt gets the same note: this engine paints colour, never objects."""
        return [f"{base_model} paints the style's colour only; '{prompt}' is not drawn."]

    def train(
        self,
        images: list[TrainingImage],
        config: TrainingConfig,
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> ModelArtifact:
        """The mean colour of the works, one progress report per step, and a manifest."""
        if len(images) < config.min_images:
            raise NotEnoughImages(f"The sketch engine needs {config.min_images} works.")
        colours = [
            tuple(item.image.convert("RGB").resize((1, 1), Image.Resampling.BOX).tobytes())
            for item in images
        ]
        mean = [round(sum(colour[i] for colour in colours) / len(colours)) for i in range(3)]
        for step in range(config.steps):
            if should_stop():
                raise TrainingStopped(f"Stopped at step {step}.")
            on_progress(Progress(step + 1, config.steps, 0.0, 0.0, "learning the colour"))
        config.output_dir.mkdir(parents=True, exist_ok=True)
        (config.output_dir / WEIGHTS).write_text(json.dumps({"colour": mean}), encoding="utf-8")
        artifact = ModelArtifact(
            config.output_dir,
            {"engine": self.name, "base_model": config.base_model, "weights": WEIGHTS},
        )
        artifact.save_manifest()
        return artifact

    def generate(self, artifact: ModelArtifact, request: GenerationRequest) -> list[Image.Image]:
        """One image per count, its pattern decided by the seed."""
        saved = json.loads((artifact.directory / WEIGHTS).read_text(encoding="utf-8"))
        red, green, blue = saved["colour"]
        lighter = (min(red + 60, 255), min(green + 60, 255), min(blue + 60, 255))
        images = []
        for number in range(request.count):
            picker = random.Random(request.seed + number)
            image = Image.new("RGB", (request.width, request.height), (red, green, blue))
            for top in range(0, request.height, CELL):
                for left in range(0, request.width, CELL):
                    if picker.random() < 0.5:
                        image.paste(lighter, (left, top, left + CELL, top + CELL))
            images.append(image)
        return images
