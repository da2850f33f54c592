"""The diffusers-lora engine on tiny FLUX.1, FLUX.2 Klein, SD3 and Z-Image pipelines, offline."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from hallmark.engines import (
    EngineError,
    GenerationRequest,
    MissingComponent,
    ModelArtifact,
    Progress,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
)
from hallmark.engines.diffusers_lora import WEIGHTS, DiffusersLoraEngine, load_pipeline
from hallmark.engines.dit_formats import scale_of, to_comfyui
from hallmark.engines.flow_matching import detect_family, sampler_defaults
from hallmark.engines.tiny_dit import build_tiny
from hallmark.samples import SAMPLE_ARTISTS, sample_works

FAMILIES = ("flux", "flux2-klein", "sd3", "z-image")
PIPELINES = {
    "flux": "FluxPipeline",
    "flux2-klein": "Flux2KleinPipeline",
    "sd3": "StableDiffusion3Pipeline",
    "z-image": "ZImagePipeline",
}
# The module paths ComfyUI's model_lora_keys_unet maps for each family when prefixed with
# `transformer.` (FLUX: flux_to_diffusers, SD3: mmdit_to_diffusers, Z-Image:
# z_image_to_diffusers), and the native weight each lands on there.
COMFYUI_KEYS = {
    "flux": {
        r"transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v)": "double_blocks.N.img_attn.qkv",
        r"transformer_blocks\.\d+\.attn\.(add_q_proj|add_k_proj|add_v_proj)": (
            "double_blocks.N.txt_attn.qkv"
        ),
        r"transformer_blocks\.\d+\.attn\.to_out\.0": "double_blocks.N.img_attn.proj",
        r"transformer_blocks\.\d+\.attn\.to_add_out": "double_blocks.N.txt_attn.proj",
        r"single_transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v)": "single_blocks.N.linear1",
    },
    "flux2-klein": {
        r"transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v)": "double_blocks.N.img_attn.qkv",
        r"transformer_blocks\.\d+\.attn\.to_out\.0": "double_blocks.N.img_attn.proj",
        r"single_transformer_blocks\.\d+\.attn\.to_qkv_mlp_proj": "single_blocks.N.linear1",
        r"single_transformer_blocks\.\d+\.attn\.to_out": "single_blocks.N.linear2",
    },
    "sd3": {
        r"transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v|to_out\.0)": "joint_blocks.N.x_block",
        r"transformer_blocks\.\d+\.attn\.(add_q_proj|add_k_proj|add_v_proj|to_add_out)": (
            "joint_blocks.N.context_block"
        ),
    },
    "z-image": {
        r"(layers|noise_refiner|context_refiner)\.\d+\.attention\.(to_q|to_k|to_v)": (
            "layers.N.attention.qkv"
        ),
        r"(layers|noise_refiner|context_refiner)\.\d+\.attention\.to_out\.0": (
            "layers.N.attention.out"
        ),
    },
}


@pytest.fixture(scope="module")
def works() -> list[TrainingImage]:
    """Three of Bo's poster works with their captions."""
    return [
        TrainingImage(work.image(), work.caption)
        for work in sample_works(SAMPLE_ARTISTS["bo"], count=3, size=64)
    ]


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny diffusers folder per family."""
    root = tmp_path_factory.mktemp("tiny-dit")
    return {family: build_tiny(family, root / family) for family in FAMILIES}


def config_for(base: Path, output: Path, **changes: Any) -> TrainingConfig:
    """Settings for the tiny models: 64 px, two steps, rank 4 at alpha 8, random LoRA init."""
    settings: dict[str, Any] = {
        "base_model": str(base),
        "output_dir": output,
        "resolution": 64,
        "rank": 4,
        "alpha": 8,
        "learning_rate": 1e-3,
        "steps": 2,
        "checkpoint_every": 0,
        "min_side": 32,
        "seed": 3,
        "random_flip": False,
        "lora_init": "gaussian",
    }
    settings.update(changes)
    return TrainingConfig(**settings)


def train(
    config: TrainingConfig, works: list[TrainingImage], stop_after: int | None = None
) -> tuple[ModelArtifact | None, list[Progress]]:
    """Run the engine, recording progress; stop after `stop_after` reports if given."""
    seen: list[Progress] = []
    try:
        artifact = DiffusersLoraEngine().train(
            works, config, seen.append, lambda: stop_after is not None and len(seen) >= stop_after
        )
    except TrainingStopped:
        return None, seen
    return artifact, seen


@pytest.fixture(scope="module")
def trained(
    bases: dict[str, Path], works: list[TrainingImage], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[ModelArtifact, list[Progress]]]:
    """Each family trained two steps once, shared by the tests that read the result."""
    root = tmp_path_factory.mktemp("styles")
    found = {}
    for family in FAMILIES:
        artifact, progress = train(config_for(bases[family], root / family), works)
        assert artifact is not None
        found[family] = (artifact, progress)
    return found


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_trains_and_generates_with_its_lora(
    family: str, trained: dict[str, tuple[ModelArtifact, list[Progress]]]
) -> None:
    artifact, progress = trained[family]
    assert [p.step for p in progress] == [1, 2]
    assert all(p.loss is not None and np.isfinite(p.loss) for p in progress)
    manifest = ModelArtifact.load(artifact.directory).manifest
    assert manifest["architecture"] == family and manifest["pipeline"] == PIPELINES[family]
    engine = DiffusersLoraEngine()
    request = GenerationRequest("a boat", steps=2, guidance=2.0, width=64, height=64, seed=1)

    styled = np.asarray(engine.generate(artifact, request)[0])
    again = np.asarray(engine.generate(artifact, request)[0])
    plain = np.asarray(engine.generate(artifact, replace(request, strength=0.0))[0])

    assert styled.shape == (64, 64, 3)
    assert np.array_equal(styled, again)
    assert not np.array_equal(styled, plain)  # the LoRA changes the picture


def test_flux_resumes_from_a_checkpoint_to_the_uninterrupted_result(
    bases: dict[str, Path], works: list[TrainingImage], tmp_path: Path
) -> None:
    settings = {"steps": 4, "checkpoint_every": 2}
    straight, _ = train(config_for(bases["flux"], tmp_path / "straight", **settings), works)
    interrupted = config_for(bases["flux"], tmp_path / "interrupted", **settings)
    stopped, progress = train(interrupted, works, stop_after=2)
    assert stopped is None and [p.message for p in progress][-1] == "stopped"
    assert (tmp_path / "interrupted" / "checkpoints" / "step-2" / "lora.safetensors").is_file()

    resumed, rest = train(interrupted, works)

    assert resumed is not None and straight is not None
    assert [p.step for p in rest] == [2, 3, 4] and rest[0].message == "resumed from step 2"
    first = load_file(str(straight.directory / WEIGHTS))
    second = load_file(str(resumed.directory / WEIGHTS))
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_the_family_is_read_from_model_index_json(bases: dict[str, Path], tmp_path: Path) -> None:
    for family, folder in bases.items():
        assert detect_family(str(folder)).name == family
        index = json.loads((folder / "model_index.json").read_text())
        assert index["_class_name"] == PIPELINES[family]
    assert detect_family("black-forest-labs/FLUX.2-klein-4B").name == "flux2-klein"
    assert detect_family("stabilityai/stable-diffusion-3.5-medium").name == "sd3"
    assert detect_family("Tongyi-MAI/Z-Image-Turbo").name == "z-image"

    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    with pytest.raises(EngineError, match="'WanPipeline' is not one of"):
        detect_family(str(odd))
    broken = tmp_path / "broken"
    shutil.copytree(bases["z-image"], broken)
    shutil.rmtree(broken / "transformer")
    with pytest.raises(MissingComponent, match="no 'transformer' component"):
        load_pipeline(str(broken), "cpu", torch.float32)


def test_distilled_bases_sample_in_few_steps(bases: dict[str, Path], tmp_path: Path) -> None:
    base_klein = build_tiny("flux2-klein", tmp_path / "klein-base", distilled=False)

    assert sampler_defaults(str(bases["flux2-klein"])).as_request_settings() == {
        "steps": 4,
        "guidance": 1.0,
    }
    assert sampler_defaults(str(base_klein)).steps == 50
    assert sampler_defaults("Tongyi-MAI/Z-Image-Turbo").as_request_settings() == {
        "steps": 9,
        "guidance": 0.0,
    }
    assert sampler_defaults("black-forest-labs/FLUX.1-schnell").steps == 4
    assert sampler_defaults("black-forest-labs/FLUX.1-dev").guidance == 3.5
    assert sampler_defaults("stabilityai/sd-turbo").as_request_settings() == {
        "steps": 1,
        "guidance": 0.0,
    }
    assert sampler_defaults("stabilityai/sdxl-turbo").keep_scheduler
    assert not sampler_defaults("runwayml/stable-diffusion-v1-5").keep_scheduler
    assert DiffusersLoraEngine.generation_defaults_for(str(bases["flux2-klein"]))["steps"] == 4


@pytest.mark.parametrize("family", FAMILIES)
def test_the_comfyui_export_names_every_lora_module_as_comfyui_maps_it(
    family: str, trained: dict[str, tuple[ModelArtifact, list[Progress]]]
) -> None:
    artifact, _ = trained[family]
    weights = load_file(str(artifact.directory / WEIGHTS))

    tensors, metadata = to_comfyui(
        weights, family=family, rank=4, alpha=8, base_model_sha256="ab12", trigger="hmstyle"
    )

    modules = {key.rsplit(".lora_", 1)[0] for key in tensors if ".lora_" in key}
    assert modules and all(module.startswith("transformer.") for module in modules)
    patterns = [re.compile(rf"transformer\.{pattern}") for pattern in COMFYUI_KEYS[family]]
    unmapped = [m for m in modules if not any(p.fullmatch(m) for p in patterns)]
    assert unmapped == []
    for pattern in patterns:  # every kind of module the family trains is there
        assert any(pattern.fullmatch(module) for module in modules), pattern.pattern
    for module in modules:
        assert scale_of(tensors, module[len("transformer.") :]) == 2.0  # alpha 8 over rank 4
    assert metadata["ss_network_dim"] == "4" and metadata["ss_network_alpha"] == "8"
    assert metadata["ss_sd_model_hash"] == "ab12"


def test_the_comfyui_file_loads_back_into_diffusers_at_the_trained_scale(
    bases: dict[str, Path], trained: dict[str, tuple[ModelArtifact, list[Progress]]], tmp_path: Path
) -> None:
    from safetensors.torch import save_file

    artifact, _ = trained["flux"]
    tensors, metadata = to_comfyui(
        load_file(str(artifact.directory / WEIGHTS)), family="flux", rank=4, alpha=8
    )
    save_file(tensors, str(tmp_path / "comfyui.safetensors"), metadata=metadata)
    unscaled = {key: value for key, value in tensors.items() if not key.endswith(".alpha")}
    save_file(unscaled, str(tmp_path / "unscaled.safetensors"))

    def render(source: Path, weight_name: str) -> np.ndarray:
        pipeline = load_pipeline(str(bases["flux"]), "cpu", torch.float32)
        pipeline.load_lora_weights(str(source), weight_name=weight_name)
        result = pipeline(
            prompt="hmstyle, a boat",
            num_inference_steps=2,
            height=64,
            width=64,
            generator=torch.Generator().manual_seed(1),
            output_type="np",
        )
        return np.asarray(result.images[0])

    exported = render(tmp_path, "comfyui.safetensors")
    assert np.allclose(exported, render(artifact.directory, WEIGHTS), atol=1e-5)
    assert not np.allclose(exported, render(tmp_path, "unscaled.safetensors"), atol=1e-5)
