"""Tiny, untrained flow-matching DiT pipelines built from configs, offline, as diffusers folders.

One builder per family the diffusers-lora engine trains (FLUX.1, FLUX.2 Klein, SD3.5, Z-Image),
with the component shapes diffusers' own pipeline tests use: a one- or two-block transformer, a
one- or two-block VAE and text encoders a few dozen wide. The tokenizers' vocabularies are
written here (single characters, no merges), so nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLFlux2,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Transformer2DModel,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    ZImagePipeline,
    ZImageTransformer2DModel,
)
from transformers import (
    CLIPTextModel,
    CLIPTextModelWithProjection,
    Qwen2Tokenizer,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3Model,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

from hallmark.engines.diffusers_lora import quiet_libraries
from hallmark.engines.tiny import _bytes_to_unicode, _text_config, write_tiny_tokenizer

# Qwen3's chat markup, reduced to what the FLUX.2 Klein and Z-Image prompt encoders ask of it.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN_LAYERS = 28  # FLUX.2 Klein reads hidden states 9, 18 and 27 of its text encoder


def tiny_t5_tokenizer() -> T5Tokenizer:
    """A T5 (unigram) tokenizer over single characters."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(chr(code), -2.0) for code in range(ord("!"), ord("~") + 1)]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def tiny_qwen_tokenizer() -> Qwen2Tokenizer:
    """A Qwen2 (byte-level BPE) tokenizer over single bytes, with Qwen3's chat markup."""
    vocab = {symbol: number for number, symbol in enumerate(_bytes_to_unicode().values())}
    for token in QWEN_SPECIAL:
        vocab[token] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], additional_special_tokens=list(QWEN_SPECIAL))
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def _t5_encoder(width: int) -> T5EncoderModel:
    return T5EncoderModel(
        T5Config(
            vocab_size=100,
            d_model=width,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )


def _qwen3_config(layers: int) -> Qwen3Config:
    return Qwen3Config(
        hidden_size=16,
        intermediate_size=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=8,
        vocab_size=264,
        max_position_embeddings=512,
        pad_token_id=256,
    )


def _small_vae(latent_channels: int) -> AutoencoderKL:
    """A two-block VAE (latents at half the image's side), with FLUX's and SD3's latent scaling."""
    return AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(4, 8),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )


def build_tiny_flux(directory: Path) -> Path:
    """A tiny FLUX.1 pipeline (CLIP + T5, double and single blocks, guidance embedding)."""
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        guidance_embeds=True,
        axes_dims_rope=[4, 4, 8],
    )
    pipeline = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_small_vae(1),
        text_encoder=CLIPTextModel(_text_config()),
        tokenizer=write_tiny_tokenizer(directory / "_tokenizer"),
        text_encoder_2=_t5_encoder(32),
        tokenizer_2=tiny_t5_tokenizer(),
        transformer=transformer,
    )
    pipeline.save_pretrained(directory)
    return directory


def build_tiny_flux2_klein(directory: Path, *, distilled: bool = True) -> Path:
    """A tiny FLUX.2 Klein pipeline (Qwen3 text encoder, BatchNorm-normalised latents)."""
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=3 * 16,  # three hidden layers of the 16-wide text encoder
        timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4],
        guidance_embeds=False,
    )
    vae = AutoencoderKLFlux2(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(4, 8),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    pipeline = Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=Qwen3ForCausalLM(_qwen3_config(QWEN_LAYERS)),
        tokenizer=tiny_qwen_tokenizer(),
        transformer=transformer,
        is_distilled=distilled,
    )
    pipeline.save_pretrained(directory)
    return directory


def build_tiny_sd3(directory: Path) -> Path:
    """A tiny Stable Diffusion 3(.5) pipeline (two CLIP encoders with projections, and T5)."""
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=32,
        patch_size=2,
        in_channels=4,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=32,
        pooled_projection_dim=64,
        out_channels=4,
    )
    tokenizer = write_tiny_tokenizer(directory / "_tokenizer")
    pipeline = StableDiffusion3Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=_small_vae(4),
        text_encoder=CLIPTextModelWithProjection(_text_config(projection=32)),
        tokenizer=tokenizer,
        text_encoder_2=CLIPTextModelWithProjection(_text_config(projection=32)),
        tokenizer_2=tokenizer,
        text_encoder_3=_t5_encoder(32),
        tokenizer_3=tiny_t5_tokenizer(),
        transformer=transformer,
    )
    pipeline.save_pretrained(directory)
    return directory


def build_tiny_z_image(directory: Path) -> Path:
    """A tiny Z-Image pipeline (single-stream transformer over a Qwen3 text encoder)."""
    torch.manual_seed(0)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=4,
        dim=32,
        n_layers=1,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        norm_eps=1e-5,
        qk_norm=True,
        cap_feat_dim=16,
        rope_theta=256.0,
        t_scale=1000.0,
        axes_dims=[8, 4, 4],
        axes_lens=[1024, 32, 32],
    )
    with torch.no_grad():  # created with torch.empty; fixed so that runs are reproducible
        transformer.x_pad_token.copy_(torch.ones_like(transformer.x_pad_token))
        transformer.cap_pad_token.copy_(torch.ones_like(transformer.cap_pad_token))
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        block_out_channels=[8, 16],
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=32,
        scaling_factor=0.3611,
        shift_factor=0.1159,
    )
    pipeline = ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=Qwen3Model(_qwen3_config(2)),
        tokenizer=tiny_qwen_tokenizer(),
        transformer=transformer,
    )
    pipeline.save_pretrained(directory)
    return directory


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "flux": build_tiny_flux,
    "flux2-klein": build_tiny_flux2_klein,
    "sd3": build_tiny_sd3,
    "z-image": build_tiny_z_image,
}


def build_tiny(family: str, directory: Path, **options: Any) -> Path:
    """A tiny pipeline of the named family saved as a diffusers folder; returns the folder."""
    quiet_libraries()
    return BUILDERS[family](directory, **options)
