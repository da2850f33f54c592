"""A FLUX style's export holds the ComfyUI-named file beside the diffusers one; both reload, and
the ComfyUI file imports back as a style drawing the same image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.engines import GenerationRequest, ModelArtifact, TrainingConfig, TrainingImage
from hallmark.engines.diffusers_lora import DiffusersLoraEngine, load_pipeline
from hallmark.engines.lora_import import import_lora
from hallmark.engines.tiny_dit import build_tiny
from hallmark.instance import Instance
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.styles.export import export_style
from tests.styles.test_export import read_zip, trained_style


@pytest.fixture(scope="module")
def flux_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny FLUX.1 diffusers folder, built offline."""
    return build_tiny("flux", tmp_path_factory.mktemp("tiny-flux") / "flux")


@pytest.fixture(scope="module")
def flux_style(flux_base: Path, tmp_path_factory: pytest.TempPathFactory) -> ModelArtifact:
    """A LoRA trained two steps on the tiny FLUX.1 base (rank 4, alpha 8)."""
    works = [
        TrainingImage(work.image(), work.caption)
        for work in sample_works(SAMPLE_ARTISTS["bo"], count=3, size=64)
    ]
    config = TrainingConfig(
        base_model=str(flux_base),
        output_dir=tmp_path_factory.mktemp("flux-style"),
        resolution=64,
        rank=4,
        alpha=8,
        learning_rate=1e-3,
        steps=2,
        checkpoint_every=0,
        min_side=32,
        seed=3,
        random_flip=False,
        lora_init="gaussian",
    )
    return DiffusersLoraEngine().train(works, config, lambda _: None, lambda: False)


def render(base: Path, folder: Path, weight_name: str) -> np.ndarray:
    """What a fresh FLUX pipeline draws with one LoRA file loaded."""
    pipeline = load_pipeline(str(base), "cpu", torch.float32)
    pipeline.load_lora_weights(str(folder), weight_name=weight_name)
    result = pipeline(
        prompt="hmstyle, a boat",
        num_inference_steps=2,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(1),
        output_type="np",
    )
    return np.asarray(result.images[0])


def test_a_flux_style_exports_a_comfyui_file_that_reloads_and_imports_back(
    session: Session,
    instance: Instance,
    owner: User,
    flux_base: Path,
    flux_style: ModelArtifact,
    tmp_path: Path,
) -> None:
    style = trained_style(
        session, instance, owner, flux_style.directory, "diffusers-lora", str(flux_base)
    )

    export_style(session, instance, owner, style.id, tmp_path / "export.zip")

    files = read_zip(tmp_path / "export.zip")
    comfyui = "comfyui/night-posters.safetensors"
    assert {comfyui, "diffusers/pytorch_lora_weights.safetensors"} <= set(files)
    assert not [name for name in files if name.startswith("kohya/")]
    tools = json.loads(files["manifest.json"])["tools"]
    assert tools[comfyui].startswith("ComfyUI") and tools[
        "diffusers/pytorch_lora_weights.safetensors"
    ].startswith("diffusers")
    assert f"{comfyui}: ComfyUI" in files["README.txt"].decode()
    (tmp_path / "comfyui.safetensors").write_bytes(files[comfyui])
    trained = render(flux_base, flux_style.directory, "pytorch_lora_weights.safetensors")
    assert np.allclose(render(flux_base, tmp_path, "comfyui.safetensors"), trained, atol=1e-5)

    # The ComfyUI file, imported for the same base, generates what the trained style does.
    imported = import_lora(tmp_path / "comfyui.safetensors", str(flux_base), tmp_path / "back")
    assert imported.manifest["architecture"] == "flux"
    assert imported.manifest["trigger"] == ""  # ComfyUI files carry no trigger phrase
    engine = DiffusersLoraEngine()
    request = GenerationRequest("hmstyle, a boat", steps=2, guidance=2.0, width=64, height=64)
    untriggered = ModelArtifact(flux_style.directory, {**flux_style.manifest, "trigger": ""})
    assert np.array_equal(
        np.asarray(engine.generate(imported, request)[0]),
        np.asarray(engine.generate(untriggered, request)[0]),
    )
