"""LoRA files in the formats artists' tools load: diffusers/peft and kohya, with their metadata.

Pure functions on state dicts and safetensors metadata. A trained style is saved in diffusers'
format with its adapter metadata (rank and alpha, so it reloads at alpha/rank); an export adds
the same weights in kohya's format (`lora_unet_*`, `lora_te_*`/`lora_te1_*`/`lora_te2_*`, one
`.alpha` per module, `ss_*` and `modelspec.*` metadata), which ComfyUI, AUTOMATIC1111, kohya
sd-scripts and diffusers' own non-diffusers loader read. The conversions are diffusers' own
(`convert_unet_state_dict_to_peft`, `convert_state_dict_to_peft`, `convert_state_dict_to_kohya`);
this module chooses names per family and writes the alphas and metadata. A family is one entry
of `FAMILIES`: a new base (a DiT) adds its entry with its own converter.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.engines.base import EngineError

if TYPE_CHECKING:
    import torch

StateDict = dict[str, "torch.Tensor"]
ADAPTER_METADATA_KEY = "lora_adapter_metadata"  # where diffusers keeps peft's LoraConfig
SAFETENSORS_HEADER_LIMIT = 100 * 1024 * 1024  # the safetensors format's own limit


class NotALora(EngineError):
    """A file is not a LoRA this studio can read: not safetensors, or without LoRA weights."""


@dataclass(frozen=True)
class AdapterShape:
    """One component's LoRA shape: rank and alpha (the weights are scaled by alpha / rank)."""

    rank: int
    alpha: float


Converter = Callable[[StateDict, "LoraFamily", Mapping[str, AdapterShape]], StateDict]


@dataclass(frozen=True)
class LoraFamily:
    """How one family of base models names its LoRA modules and describes them to other tools."""

    name: str
    base_model_version: str  # kohya's `ss_base_model_version`; A1111 reads it to tell SDXL apart
    v2: bool  # kohya's `ss_v2`, which A1111 reads to tell SD 2.x apart
    architecture: str  # Stability's ModelSpec `modelspec.architecture`
    implementation: str  # `modelspec.implementation`
    resolution: str
    prediction_type: str
    text_encoder_prefixes: Mapping[str, str]  # diffusers component -> kohya module prefix
    to_kohya: Converter


def _split_components(state_dict: StateDict) -> dict[str, StateDict]:
    """The weights by diffusers component (`unet`, `text_encoder`, ...), prefixes kept."""
    parts: dict[str, StateDict] = {}
    for key, tensor in state_dict.items():
        component = key.split(".", 1)[0]
        if component not in {"unet", "text_encoder", "text_encoder_2"}:
            raise NotALora(f"'{key}' belongs to no component a UNet-family LoRA has.")
        parts.setdefault(component, {})[key] = tensor
    return parts


def _to_peft(component: str, weights: StateDict) -> StateDict:
    """One component's weights in peft naming (`lora_A`/`lora_B`), by diffusers' converters."""
    from diffusers.utils import convert_state_dict_to_peft, convert_unet_state_dict_to_peft

    if any(".lora_A." in key for key in weights):
        return weights
    if component == "unet":
        converted: StateDict = convert_unet_state_dict_to_peft(weights)
        return converted
    peft_weights: StateDict = convert_state_dict_to_peft(weights)
    return peft_weights


def unet_family_to_kohya(
    state_dict: StateDict, family: LoraFamily, shapes: Mapping[str, AdapterShape]
) -> StateDict:
    """Diffusers/peft LoRA weights of a UNet model in kohya naming, each module with its alpha."""
    import torch
    from diffusers.utils import convert_state_dict_to_kohya

    kohya: StateDict = {}
    for component, weights in _split_components(state_dict).items():
        converted: StateDict = convert_state_dict_to_kohya(_to_peft(component, weights))
        prefix = family.text_encoder_prefixes.get(component)
        shape = shapes.get(component)
        for key, tensor in converted.items():
            if key.endswith(".alpha"):
                # diffusers writes alpha = rank here; the trained alpha is the adapter's.
                rank = int(converted[key.replace(".alpha", ".lora_down.weight")].shape[0])
                tensor = torch.tensor(float(shape.alpha if shape else rank))
            if prefix is not None:  # diffusers names every first text encoder `lora_te1`
                key = key.replace("lora_te1_", f"{prefix}_", 1)
            kohya[key] = tensor.contiguous()
    return kohya


_UNET_FAMILY: dict[str, Any] = {
    "implementation": "diffusers",
    "prediction_type": "epsilon",
    "to_kohya": unet_family_to_kohya,
}
FAMILIES: dict[str, LoraFamily] = {
    "sd1": LoraFamily(
        name="sd1",
        base_model_version="sd_v1",
        v2=False,
        architecture="stable-diffusion-v1/lora",
        resolution="512x512",
        text_encoder_prefixes={"text_encoder": "lora_te"},
        **_UNET_FAMILY,
    ),
    "sd2": LoraFamily(
        name="sd2",
        base_model_version="sd_v2",
        v2=True,
        architecture="stable-diffusion-v2-512/lora",
        resolution="512x512",
        text_encoder_prefixes={"text_encoder": "lora_te"},
        **_UNET_FAMILY,
    ),
    "sd2-v": LoraFamily(
        name="sd2-v",
        base_model_version="sd_v2_v",
        v2=True,
        architecture="stable-diffusion-v2-768-v/lora",
        resolution="768x768",
        text_encoder_prefixes={"text_encoder": "lora_te"},
        **{**_UNET_FAMILY, "prediction_type": "v"},
    ),
    "sdxl": LoraFamily(
        name="sdxl",
        base_model_version="sdxl_base_v1-0",
        v2=False,
        architecture="stable-diffusion-xl-v1-base/lora",
        resolution="1024x1024",
        text_encoder_prefixes={"text_encoder": "lora_te1", "text_encoder_2": "lora_te2"},
        **{**_UNET_FAMILY, "implementation": "https://github.com/Stability-AI/generative-models"},
    ),
}


def family_of(
    sdxl: bool, unet_config: Mapping[str, Any] | None, scheduler_config: Mapping[str, Any] | None
) -> LoraFamily:
    """The family of a UNet base model, from its pipeline class and its components' configs.

    SD 2.x is told from SD 1.x by its 1024-wide cross-attention (OpenCLIP), and SD 2.x-v by its
    scheduler's v-prediction; anything else that is not SDXL is taken as SD 1.x.
    """
    if sdxl:
        return FAMILIES["sdxl"]
    if (unet_config or {}).get("cross_attention_dim") == 1024:
        v_prediction = (scheduler_config or {}).get("prediction_type") == "v_prediction"
        return FAMILIES["sd2-v" if v_prediction else "sd2"]
    return FAMILIES["sd1"]


def family_of_folder(base_model: str, sdxl: bool) -> LoraFamily:
    """The family of a base model given as a diffusers folder (or, failing that, by its kind)."""
    folder = Path(base_model)

    def config(part: str, name: str) -> dict[str, Any] | None:
        path = folder / part / name
        if not path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    return family_of(
        sdxl, config("unet", "config.json"), config("scheduler", "scheduler_config.json")
    )


# ------------------------------------------------------------------------- adapter metadata


def adapter_metadata(rank: int, alpha: float, target_modules: Sequence[str]) -> dict[str, Any]:
    """peft's LoraConfig fields diffusers saves beside the weights, so a reload scales by
    alpha / rank as training did (without them diffusers assumes alpha = rank)."""
    return {
        "r": rank,
        "lora_alpha": alpha,
        "target_modules": list(target_modules),
        "use_dora": False,
        "use_rslora": False,
    }


def adapter_shapes(metadata: Mapping[str, str], state_dict: StateDict) -> dict[str, AdapterShape]:
    """Each component's rank and alpha, from diffusers' adapter metadata where the file has it,
    else alpha = rank (how diffusers loads a file without it)."""
    saved: dict[str, Any] = {}
    if ADAPTER_METADATA_KEY in metadata:
        saved = json.loads(metadata[ADAPTER_METADATA_KEY])
    down_markers = (".lora_A.", ".lora.down.", ".lora_linear_layer.down.")
    shapes: dict[str, AdapterShape] = {}
    for key, tensor in state_dict.items():
        component = key.split(".", 1)[0]
        if component not in shapes and any(marker in key for marker in down_markers):
            rank = int(saved.get(f"{component}.r", tensor.shape[0]))
            alpha = float(saved.get(f"{component}.lora_alpha", rank))
            shapes[component] = AdapterShape(rank, alpha)
    return shapes


# ------------------------------------------------------------------------------ kohya files


@dataclass(frozen=True)
class KohyaDescription:
    """What the `ss_*` and `modelspec.*` metadata say about a LoRA besides its family."""

    title: str
    author: str
    date: str  # ISO 8601
    trigger_words: Sequence[str] = ()
    description: str = ""
    license: str = ""
    training_comment: str = ""


def kohya_metadata(
    family: LoraFamily, shape: AdapterShape, description: KohyaDescription
) -> dict[str, str]:
    """The metadata kohya sd-scripts writes and AUTOMATIC1111/ComfyUI/Civitai read, as strings."""
    metadata = {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(shape.rank),
        "ss_network_alpha": _number(shape.alpha),
        "ss_base_model_version": family.base_model_version,
        "ss_v2": str(family.v2),
        "ss_output_name": description.title,
        "ss_training_comment": description.training_comment,
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": family.architecture,
        "modelspec.implementation": family.implementation,
        "modelspec.title": description.title,
        "modelspec.author": description.author,
        "modelspec.date": description.date,
        "modelspec.resolution": family.resolution,
        "modelspec.prediction_type": family.prediction_type,
    }
    if description.trigger_words:
        metadata["modelspec.trigger_phrase"] = ", ".join(description.trigger_words)
        metadata["ss_tag_frequency"] = json.dumps(
            {"hallmark": {word: 1 for word in description.trigger_words}}
        )
    if description.description:
        metadata["modelspec.description"] = description.description
    if description.license:
        metadata["modelspec.license"] = description.license
    return {key: value for key, value in metadata.items() if value != ""}


def _number(value: float) -> str:
    """An alpha as kohya writes it: `8.0`."""
    return str(float(value))


def to_kohya_file(
    diffusers_file: Path, family: LoraFamily, description: KohyaDescription, output: Path
) -> dict[str, str]:
    """Write a diffusers-format LoRA file in kohya's format with its metadata; the metadata."""
    from safetensors.torch import save_file

    state_dict, metadata = read_safetensors(diffusers_file)
    shapes = adapter_shapes(metadata, state_dict)
    if not shapes:
        raise NotALora(f"{diffusers_file.name} holds no LoRA weights in diffusers' format.")
    kohya = family.to_kohya(state_dict, family, shapes)
    main = shapes.get("unet") or next(iter(shapes.values()))
    written = kohya_metadata(family, main, description)
    save_file(kohya, str(output), metadata=written)
    return written


# -------------------------------------------------------------------------- reading a file


def read_safetensors_metadata(path: Path) -> dict[str, str]:
    """A safetensors file's metadata, read from its header alone; NotALora if it is not one."""
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise NotALora(f"{path.name} is not a safetensors file: it is too short.")
        (length,) = struct.unpack("<Q", prefix)
        if not 2 <= length <= SAFETENSORS_HEADER_LIMIT:
            raise NotALora(f"{path.name} is not a safetensors file: its header is malformed.")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotALora(f"{path.name} is not a safetensors file: its header is not JSON.") from None
    if not isinstance(header, dict):
        raise NotALora(f"{path.name} is not a safetensors file: its header is not an object.")
    found = header.get("__metadata__") or {}
    return {str(key): str(value) for key, value in found.items()}


def read_safetensors(path: Path) -> tuple[StateDict, dict[str, str]]:
    """A safetensors file's tensors and metadata; NotALora if it is not a safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    metadata = read_safetensors_metadata(path)
    try:
        return load_file(str(path)), metadata
    except (SafetensorError, OSError) as error:
        raise NotALora(f"{path.name} is not a readable safetensors file: {error}") from None


def lora_format(keys: Sequence[str]) -> str:
    """`kohya` or `diffusers` by the key names; NotALora when there are no LoRA weights."""
    if not keys:
        raise NotALora("The file holds no tensors.")
    kohya_prefixes = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
    if all(key.startswith(kohya_prefixes) for key in keys):
        return "kohya"
    markers = (".lora_A.", ".lora_B.", ".lora.down.", ".lora.up.", ".lora_linear_layer.")
    if any(marker in key for key in keys for marker in markers):
        return "diffusers"
    raise NotALora(
        "The file holds no LoRA weights (no lora_down/lora_up or lora_A/lora_B tensors)."
    )
