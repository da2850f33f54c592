"""Tiny, untrained Stable Diffusion pipelines built from configs, offline, as diffusers folders.

They exercise the real loading, training and generation code where no weights can be downloaded
(tests, benchmarks, the demo tour); their images are noise-like until trained. The components
follow diffusers' own tests: a few channels, two blocks, a 32-wide CLIP text encoder and a
tokenizer whose vocabulary is written here (byte-level tokens, no merges).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    DDPMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)

from hallmark.engines.diffusers_lora import quiet_libraries


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters, which CLIP's BPE uses."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in characters), strict=True))


def write_tiny_tokenizer(directory: Path) -> CLIPTokenizer:
    """A CLIP tokenizer over single characters: every text tokenises, nothing is downloaded."""
    directory.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols:
        vocab.setdefault(symbol, len(vocab))
        vocab.setdefault(symbol + "</w>", len(vocab))
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(
        str(directory / "vocab.json"),
        str(directory / "merges.txt"),
        model_max_length=32,
        pad_token="<|endoftext|>",
    )


def _text_config(projection: int | None = None) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=520,
        max_position_embeddings=32,
        projection_dim=projection or 32,
        hidden_act="gelu",
    )


def _vae() -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )


def _scheduler() -> DDPMScheduler:
    return DDPMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
        clip_sample=False,
    )


def _unet(**architecture: Any) -> UNet2DConditionModel:
    """Two 16- and 32-channel blocks, one with cross-attention; the rest is per architecture."""
    return UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        **architecture,
    )


def build_tiny_sd(directory: Path) -> Path:
    """A tiny SD 1.x pipeline saved as a diffusers folder; returns the folder."""
    quiet_libraries()
    torch.manual_seed(0)
    unet = _unet(cross_attention_dim=32, attention_head_dim=4)
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=_vae(),
        text_encoder=CLIPTextModel(_text_config()),
        tokenizer=write_tiny_tokenizer(directory / "_tokenizer"),
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(directory)
    return directory


def build_tiny_sdxl(directory: Path) -> Path:
    """A tiny SDXL pipeline (two text encoders, pooled embeddings, time ids) saved as a folder."""
    quiet_libraries()
    torch.manual_seed(0)
    unet = _unet(
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=80,  # 6 time ids x 8 + the 32-wide pooled text
        cross_attention_dim=64,
    )
    tokenizer = write_tiny_tokenizer(directory / "_tokenizer")
    pipeline = StableDiffusionXLPipeline(
        unet=unet,
        vae=_vae(),
        text_encoder=CLIPTextModel(_text_config()),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(projection=32)),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        scheduler=_scheduler(),
    )
    pipeline.save_pretrained(directory)
    return directory
