"""Fixtures of the style tests: a small diffusers-lora model trained once for the whole run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from hallmark.engines import TrainingConfig, TrainingImage
from hallmark.engines.diffusers_lora import DiffusersLoraEngine
from tests.helpers import png_bytes


@pytest.fixture(scope="session")
def lora_folder(tiny_sd: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A diffusers-lora model trained two steps on the tiny SD pipeline (rank 4, alpha 8); the
    tests read it, none writes to it."""
    works = [
        TrainingImage(Image.open(io.BytesIO(png_bytes(seed))).convert("RGB"), f"work {seed}")
        for seed in range(3)
    ]
    config = TrainingConfig(
        base_model=str(tiny_sd),
        output_dir=tmp_path_factory.mktemp("trained"),
        resolution=64,
        rank=4,
        alpha=8,
        steps=2,
        checkpoint_every=0,
        min_side=32,
        lora_init="gaussian",
    )
    return DiffusersLoraEngine().train(works, config, lambda _: None, lambda: False).directory
