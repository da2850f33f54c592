"""A trained DiT LoRA in the key naming ComfyUI maps for its family, with kohya-style metadata.

ComfyUI (`comfy/lora.py`, `model_lora_keys_unet`) maps, for FLUX.1 and FLUX.2, SD3 and Z-Image
models, every diffusers module path prefixed with `transformer.` onto its own weights (a fused
`qkv` slice for FLUX's and Z-Image's `to_q`/`to_k`/`to_v`), reading `lora_A`/`lora_B` pairs and a
`<module>.alpha` scalar that sets the scale alpha/rank. diffusers' `load_lora_weights` reads the
same file back. The metadata follows kohya's `ss_*` fields and the modelspec architecture names.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

PREFIX = "transformer."
# ss_base_model_version and modelspec.architecture per family (the names kohya and ComfyUI use).
BASE_VERSIONS = {
    "flux": ("flux1", "flux-1-dev/lora"),
    "flux2-klein": ("flux2_klein", "flux-2-klein/lora"),
    "sd3": ("sd3", "stable-diffusion-v3-medium/lora"),
    "z-image": ("z_image", "z-image/lora"),
}
# A LoRA tensor's key ending, in peft's and in diffusers' older naming, and ComfyUI's reading.
LORA_SUFFIXES = {
    ".lora_A.weight": ".lora_A.weight",
    ".lora_B.weight": ".lora_B.weight",
    ".lora.down.weight": ".lora_A.weight",
    ".lora.up.weight": ".lora_B.weight",
}


def split_key(key: str) -> tuple[str, str]:
    """A LoRA tensor's key as its module path and peft's suffix (`...to_q`, `.lora_A.weight`)."""
    for suffix, peft_suffix in LORA_SUFFIXES.items():
        if key.endswith(suffix):
            return key[: -len(suffix)], peft_suffix
    raise ValueError(f"{key!r} is not a LoRA down or up weight.")


def to_comfyui(
    state_dict: dict[str, torch.Tensor],
    *,
    family: str,
    rank: int,
    alpha: float,
    base_model_sha256: str = "",
    trigger: str = "",
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A peft/diffusers transformer LoRA state dict as ComfyUI loads it, and its metadata."""
    import torch

    if family not in BASE_VERSIONS:
        known = ", ".join(sorted(BASE_VERSIONS))
        raise ValueError(f"No ComfyUI key naming for the family {family!r}; known: {known}.")
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        module, suffix = split_key(key[len(PREFIX) :] if key.startswith(PREFIX) else key)
        tensors[f"{PREFIX}{module}{suffix}"] = value.detach().contiguous()
        tensors[f"{PREFIX}{module}.alpha"] = torch.tensor(float(alpha))
    version, architecture = BASE_VERSIONS[family]
    metadata = {
        "format": "pt",
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(rank),
        "ss_network_alpha": str(alpha),
        "ss_base_model_version": version,
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": architecture,
        "modelspec.implementation": "https://github.com/huggingface/diffusers",
        "ss_tag_frequency": json.dumps({trigger: 1} if trigger else {}),
    }
    if base_model_sha256:
        metadata["ss_sd_model_hash"] = base_model_sha256
    return tensors, metadata


def scale_of(tensors: dict[str, Any], module: str) -> float:
    """The strength ComfyUI applies to a module's LoRA: its alpha over its rank."""
    down = tensors[f"{PREFIX}{module}.lora_A.weight"]
    return float(tensors[f"{PREFIX}{module}.alpha"]) / int(down.shape[0])
