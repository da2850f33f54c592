"""LoRA files for other tools: alpha survives a reload, kohya names and metadata, exact reloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from hallmark.engines import ModelArtifact, Progress, TrainingConfig, TrainingImage
from hallmark.engines.diffusers_lora import WEIGHTS, DiffusersLoraEngine, load_pipeline
from hallmark.engines.lora_formats import (
    FAMILIES,
    AdapterShape,
    KohyaDescription,
    NotALora,
    adapter_shapes,
    family_of,
    lora_format,
    read_safetensors,
    to_kohya_file,
)
from hallmark.samples import SAMPLE_ARTISTS, sample_works

RANK, ALPHA = 4, 8  # alpha = 2 x rank: the weights count twice what a scale of 1.0 gives
DESCRIPTION = KohyaDescription("Posters", "bo", "2025-06-01", trigger_words=("hmstyle",))


class Trained:
    """A style trained on the tiny SD pipeline, and the image the model made as training ended."""

    def __init__(self, artifact: ModelArtifact, config: TrainingConfig, last: Image.Image) -> None:
        self.artifact, self.config, self.last_sample = artifact, config, last


@pytest.fixture(scope="module")
def trained(tiny_sd: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Three steps at rank 4, alpha 8, with a sample image from the in-training model at the end."""
    works = [
        TrainingImage(work.image(), work.caption)
        for work in sample_works(SAMPLE_ARTISTS["bo"], count=3, size=64)
    ]
    config = TrainingConfig(
        base_model=str(tiny_sd),
        output_dir=tmp_path_factory.mktemp("style"),
        resolution=64,
        rank=RANK,
        alpha=ALPHA,
        learning_rate=5e-2,
        steps=3,
        checkpoint_every=0,
        validation_every=3,
        validation_prompt="hmstyle, a red boat",
        min_side=32,
        seed=7,
        lora_init="gaussian",
    )
    seen: list[Progress] = []
    artifact = DiffusersLoraEngine().train(works, config, seen.append, lambda: False)
    [sample] = seen[-1].images
    return Trained(artifact, config, sample)


def render_like_training(base: Path, lora: Path | None, config: TrainingConfig) -> np.ndarray:
    """What the engine's sample step draws, from a fresh pipeline with `lora` loaded."""
    pipeline = load_pipeline(str(base), "cpu", torch.float32)
    if lora is not None:
        pipeline.load_lora_weights(str(lora))
    result = pipeline(
        config.validation_prompt,
        num_inference_steps=4,
        height=config.resolution,
        width=config.resolution,
        generator=torch.Generator().manual_seed(config.seed),
    )
    return np.asarray(result.images[0])


def test_a_style_trained_with_alpha_twice_its_rank_reloads_as_it_was_trained(
    tiny_sd: Path, trained: Trained, tmp_path: Path
) -> None:
    weights = trained.artifact.directory / WEIGHTS
    in_training = np.asarray(trained.last_sample)

    reloaded = render_like_training(tiny_sd, weights, trained.config)

    assert np.array_equal(reloaded, in_training)
    # The same weights without their adapter metadata reload at scale 1.0: another picture.
    tensors, _ = read_safetensors(weights)
    save_file(tensors, str(tmp_path / "bare.safetensors"))
    bare = render_like_training(tiny_sd, tmp_path / "bare.safetensors", trained.config)
    assert not np.array_equal(bare, in_training)


def test_the_kohya_file_reloads_through_diffusers_non_diffusers_loader_to_the_same_image(
    tiny_sd: Path, trained: Trained, tmp_path: Path
) -> None:
    kohya = tmp_path / "posters.safetensors"
    to_kohya_file(trained.artifact.directory / WEIGHTS, FAMILIES["sd1"], DESCRIPTION, kohya)

    tensors, metadata = read_safetensors(kohya)
    assert lora_format(list(tensors)) == "kohya"
    assert np.array_equal(
        render_like_training(tiny_sd, kohya, trained.config), np.asarray(trained.last_sample)
    )
    assert metadata["ss_network_dim"] == "4" and metadata["ss_network_alpha"] == "8.0"
    assert metadata["ss_base_model_version"] == "sd_v1" and metadata["ss_v2"] == "False"
    assert metadata["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert metadata["modelspec.trigger_phrase"] == "hmstyle"
    assert all(float(tensors[k]) == ALPHA for k in tensors if k.endswith(".alpha"))


def test_every_kohya_module_is_one_comfyui_maps_onto_the_unet(
    tiny_sd: Path, trained: Trained, tmp_path: Path
) -> None:
    """ComfyUI's `model_lora_keys_unet` names a UNet layer `lora_unet_` + its diffusers key with
    dots as underscores; a module outside those names is "lora key not loaded"."""
    kohya = tmp_path / "posters.safetensors"
    to_kohya_file(trained.artifact.directory / WEIGHTS, FAMILIES["sd1"], DESCRIPTION, kohya)
    unet_keys = load_pipeline(str(tiny_sd), "cpu", torch.float32).unet.state_dict()
    comfy_names = {
        "lora_unet_" + key.removesuffix(".weight").replace(".", "_")
        for key in unet_keys
        if key.endswith(".weight")
    }

    modules = {key.split(".", 1)[0] for key in load_file(str(kohya))}

    assert modules and modules <= comfy_names
    trained_layers = load_file(str(trained.artifact.directory / WEIGHTS))
    assert len(modules) == len([key for key in trained_layers if ".lora.down." in key])
    for module in modules:
        parts = {f"{module}.lora_down.weight", f"{module}.lora_up.weight", f"{module}.alpha"}
        assert parts <= set(load_file(str(kohya)))


# Diffusers' key -> kohya's module, as kohya sd-scripts, AUTOMATIC1111 and ComfyUI name them.
SD1_NAMES = {
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q": (
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
    ),
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0": (
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_out_0"
    ),
    "unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_k": (
        "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_k"
    ),
    "unet.up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_v": (
        "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_v"
    ),
    "text_encoder.text_model.encoder.layers.0.self_attn.q_proj": (
        "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    ),
    "text_encoder.text_model.encoder.layers.11.mlp.fc1": (
        "lora_te_text_model_encoder_layers_11_mlp_fc1"
    ),
}
SDXL_NAMES = {
    "unet.down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_q": (
        "lora_unet_down_blocks_1_attentions_0_transformer_blocks_1_attn1_to_q"
    ),
    "unet.mid_block.attentions.0.transformer_blocks.9.attn2.to_out.0": (
        "lora_unet_mid_block_attentions_0_transformer_blocks_9_attn2_to_out_0"
    ),
    "text_encoder.text_model.encoder.layers.0.self_attn.out_proj": (
        "lora_te1_text_model_encoder_layers_0_self_attn_out_proj"
    ),
    "text_encoder_2.text_model.encoder.layers.31.self_attn.v_proj": (
        "lora_te2_text_model_encoder_layers_31_self_attn_v_proj"
    ),
}


def diffusers_weights(modules: list[str], rank: int = 2) -> dict[str, torch.Tensor]:
    """A LoRA in diffusers' saved naming (`.lora.down`/`.lora_A` as diffusers writes each part)."""
    weights = {}
    for module in modules:
        unet = module.startswith("unet.")
        down, up = ("lora.down", "lora.up") if unet else ("lora_A", "lora_B")
        weights[f"{module}.{down}.weight"] = torch.randn(rank, 8)
        weights[f"{module}.{up}.weight"] = torch.randn(8, rank)
    return weights


@pytest.mark.parametrize(("family", "names"), [("sd1", SD1_NAMES), ("sdxl", SDXL_NAMES)])
def test_kohya_module_names_follow_the_public_format(
    family: str, names: dict[str, str], tmp_path: Path
) -> None:
    shapes = {"unet": AdapterShape(2, 4.0), "text_encoder": AdapterShape(2, 1.0)}
    shapes["text_encoder_2"] = AdapterShape(2, 1.0)
    weights = diffusers_weights(list(names))

    kohya = FAMILIES[family].to_kohya(weights, FAMILIES[family], shapes)

    expected = set()
    for module in names.values():
        expected |= {f"{module}.lora_down.weight", f"{module}.lora_up.weight", f"{module}.alpha"}
    assert set(kohya) == expected
    for source, module in names.items():
        down = "lora.down" if source.startswith("unet.") else "lora_A"
        assert torch.equal(kohya[f"{module}.lora_down.weight"], weights[f"{source}.{down}.weight"])
        alpha = 4.0 if source.startswith("unet.") else 1.0
        assert float(kohya[f"{module}.alpha"]) == alpha


def test_the_family_decides_the_version_other_tools_read() -> None:
    sd2 = family_of(False, {"cross_attention_dim": 1024}, {"prediction_type": "epsilon"})
    sd2_v = family_of(False, {"cross_attention_dim": 1024}, {"prediction_type": "v_prediction"})

    assert family_of(False, {"cross_attention_dim": 768}, None).base_model_version == "sd_v1"
    assert (sd2.base_model_version, sd2.v2) == ("sd_v2", True)
    assert (sd2_v.base_model_version, sd2_v.resolution) == ("sd_v2_v", "768x768")
    xl = family_of(True, None, None)
    assert xl.base_model_version.startswith("sdxl_")  # what AUTOMATIC1111 tests for SDXL
    assert xl.architecture == "stable-diffusion-xl-v1-base/lora"


def test_adapter_shapes_come_from_the_metadata_or_default_to_alpha_equal_rank() -> None:
    weights = diffusers_weights(["unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q"])
    saved = {"lora_adapter_metadata": json.dumps({"unet.r": 2, "unet.lora_alpha": 16})}

    assert adapter_shapes(saved, weights) == {"unet": AdapterShape(2, 16.0)}
    assert adapter_shapes({}, weights) == {"unet": AdapterShape(2, 2.0)}


def test_files_that_are_not_loras_are_named_as_such(tmp_path: Path) -> None:
    picture = tmp_path / "picture.safetensors"
    Image.new("RGB", (8, 8)).save(picture, format="PNG")
    checkpoint = tmp_path / "checkpoint.safetensors"
    save_file({"model.diffusion_model.out.0.weight": torch.zeros(2)}, str(checkpoint))

    with pytest.raises(NotALora, match="not a safetensors file"):
        read_safetensors(picture)
    tensors, _ = read_safetensors(checkpoint)
    with pytest.raises(NotALora, match="no LoRA weights"):
        lora_format(list(tensors))
    with pytest.raises(NotALora, match="no LoRA weights"):
        to_kohya_file(checkpoint, FAMILIES["sd1"], DESCRIPTION, tmp_path / "out.safetensors")
