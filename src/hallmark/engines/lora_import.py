"""A LoRA trained elsewhere, made a diffusers-lora model folder for a base this studio has.

Steps: read the file's header (a safetensors file, with LoRA tensors), convert it to diffusers'
naming with the base family's own loader (`<Pipeline>.lora_state_dict`, which reads kohya,
ComfyUI and diffusers/peft files), check every module against the base's modules (built from
their configs on the meta device, so no weights are read), then write
`pytorch_lora_weights.safetensors` with the pipeline's `save_lora_weights` and a manifest, so the
engine's `generate` loads it like a style trained here. Each module keeps its scale alpha/rank:
when every module shares one rank and one alpha, as kohya and diffusers train them, both go in
the adapter metadata; otherwise each module's alpha/rank is folded into its up weights and
diffusers reads the ranks from the shapes.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.engines.base import EngineError, ModelArtifact
from hallmark.engines.lora_formats import (
    adapter_metadata,
    lora_format,
    read_safetensors_metadata,
)

if TYPE_CHECKING:
    import torch

StateDict = dict[str, "torch.Tensor"]
IMPORTED = "imported"
# Components a LoRA may adapt, and how diffusers' loaders prefix their keys.
COMPONENTS = ("unet", "transformer", "text_encoder", "text_encoder_2", "text_encoder_3")
EXAMPLES = 3  # mismatches named in a refusal


class LoraDoesNotFitBase(EngineError):
    """A LoRA's modules or shapes are not those of the base model it was imported for."""


@dataclass(frozen=True)
class ModuleLora:
    """One adapted module: its down and up weights (peft naming), rank and alpha."""

    down: torch.Tensor
    up: torch.Tensor
    alpha: float

    @property
    def rank(self) -> int:
        """The LoRA's inner dimension."""
        return int(self.down.shape[0])


@dataclass(frozen=True)
class ImportedLora:
    """A LoRA read from a file: its source format and its modules by component and path."""

    source_format: str  # "kohya" or "diffusers"
    modules: dict[str, dict[str, ModuleLora]]  # component -> module path -> weights

    def shape(self) -> tuple[int, float] | None:
        """The one rank and alpha every module shares, or None when they differ."""
        found = {(m.rank, m.alpha) for parts in self.modules.values() for m in parts.values()}
        return found.pop() if len(found) == 1 else None


# ---------------------------------------------------------------------------------- reading


def _loader_outputs(pipeline_class: Any, path: Path, unet_config: Any) -> tuple[StateDict, Any]:
    """The family loader's state dict and network alphas (None where it folds them in)."""
    parameters = inspect.signature(pipeline_class.lora_state_dict).parameters
    options: dict[str, Any] = {}
    if "return_alphas" in parameters:
        options["return_alphas"] = True
    if unet_config is not None:
        options["unet_config"] = unet_config  # maps kohya's SGM block names onto diffusers'
    loaded = pipeline_class.lora_state_dict(str(path), **options)
    if isinstance(loaded, tuple):
        return loaded[0], (loaded[1] if len(loaded) > 1 else None)
    return loaded, None


def _peft_named(component: str, weights: StateDict) -> StateDict:
    """One component's weights (prefix removed) in peft naming, by diffusers' converters."""
    from diffusers.utils import convert_state_dict_to_peft, convert_unet_state_dict_to_peft

    if not weights or any(".lora_A." in key for key in weights):
        return weights
    if component in {"unet", "transformer"}:
        converted: StateDict = convert_unet_state_dict_to_peft(weights)
        return converted
    peft_weights: StateDict = convert_state_dict_to_peft(weights)
    return peft_weights


def _saved_alphas(
    metadata: Mapping[str, str], component: str
) -> tuple[float | None, dict[str, Any]]:
    """A component's alpha and per-module alphas from diffusers' adapter metadata, if saved."""
    import json

    from hallmark.engines.lora_formats import ADAPTER_METADATA_KEY

    if ADAPTER_METADATA_KEY not in metadata:
        return None, {}
    saved = json.loads(metadata[ADAPTER_METADATA_KEY])
    alpha = saved.get(f"{component}.lora_alpha")
    pattern = saved.get(f"{component}.alpha_pattern") or {}
    return (float(alpha) if alpha is not None else None), dict(pattern)


def read_lora(path: Path, pipeline_class: Any, unet_config: Any = None) -> ImportedLora:
    """A LoRA file's modules, converted by the family's own diffusers loader."""
    import torch

    header = read_safetensors_metadata(path)  # NotALora unless it is a safetensors file
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        source_format = lora_format(list(handle.keys()))  # NotALora without LoRA tensors
    try:
        state_dict, network_alphas = _loader_outputs(pipeline_class, path, unet_config)
    except (ValueError, KeyError, RuntimeError, IndexError) as error:
        raise LoraDoesNotFitBase(
            f"{path.name} is a LoRA, but not one for this base's family: {error}"
        ) from None
    by_component: dict[str, StateDict] = {}
    alphas: dict[str, StateDict] = {}
    for key, tensor in state_dict.items():
        component, _, rest = key.partition(".")
        if component not in COMPONENTS:
            raise LoraDoesNotFitBase(f"'{key}' names no part of a diffusion pipeline.")
        if rest.endswith(".alpha"):  # ComfyUI's and kohya's per-module alpha
            alphas.setdefault(component, {})[rest.removesuffix(".alpha")] = tensor
        else:
            by_component.setdefault(component, {})[rest] = tensor
    for key, value in (network_alphas or {}).items():
        component, _, rest = key.partition(".")
        alphas.setdefault(component, {})[rest.removesuffix(".alpha")] = torch.tensor(float(value))
    modules: dict[str, dict[str, ModuleLora]] = {}
    for component, weights in by_component.items():
        peft = _peft_named(component, weights)
        # Alphas are keyed like their down weights (or their module): renamed the same way.
        named_alphas = _peft_named(component, alphas.get(component, {}))
        default_alpha, pattern = _saved_alphas(header, component)
        found: dict[str, ModuleLora] = {}
        for key, down in peft.items():
            if ".lora_A." not in key:
                continue
            module = key.split(".lora_A.")[0]
            up = peft.get(f"{module}.lora_B.weight")
            if up is None:
                raise LoraDoesNotFitBase(f"{component}.{module} has a down weight, no up weight.")
            alpha = named_alphas.get(key, named_alphas.get(module))
            if alpha is not None:
                value = float(alpha)
            else:
                value = float(
                    next((v for k, v in pattern.items() if module.endswith(k)), None)
                    or default_alpha
                    or down.shape[0]
                )
            found[module] = ModuleLora(down, up, value)
        if found:
            modules[component] = found
    if not modules:
        raise LoraDoesNotFitBase(f"{path.name} holds no LoRA module this base's loader can read.")
    return ImportedLora(source_format, modules)


# --------------------------------------------------------------------------- the base's parts


def base_parts(base_model: str, components: list[str]) -> dict[str, Any]:
    """The base's modules a LoRA adapts, built from their configs on the meta device (no
    weights read); for a single-file checkpoint, its pipeline loaded as generation loads it."""
    import diffusers
    import transformers
    from accelerate import init_empty_weights  # type: ignore[import-untyped]
    from diffusers import DiffusionPipeline

    from hallmark.engines.diffusers_lora import load_pipeline, quiet_libraries

    quiet_libraries()
    if Path(base_model).is_file():
        import torch

        pipeline = load_pipeline(base_model, "cpu", torch.float32)
        return {part: getattr(pipeline, part, None) for part in components}
    try:
        index = DiffusionPipeline.load_config(base_model)
    except (OSError, ValueError) as error:
        raise EngineError(f"The base model {base_model} cannot be read: {error}") from None
    parts: dict[str, Any] = {}
    for part in components:
        entry = index.get(part)
        if not isinstance(entry, list) or entry[0] is None:
            parts[part] = None
            continue
        library, class_name = entry
        with init_empty_weights():
            if library == "diffusers":
                model_class = getattr(diffusers, class_name)
                parts[part] = model_class.from_config(
                    model_class.load_config(base_model, subfolder=part)
                )
            else:
                config = transformers.AutoConfig.from_pretrained(base_model, subfolder=part)
                parts[part] = getattr(transformers, class_name)._from_config(config)
    return parts


def _misfit(model: Any, module: str, lora: ModuleLora) -> str | None:
    """Why one LoRA module does not fit the base's module of that path (None: it fits)."""
    import torch

    try:
        layer = model.get_submodule(module)
    except AttributeError:
        return f"{module}: the base has no such layer"
    if isinstance(layer, torch.nn.Linear):
        wanted_in, wanted_out = layer.in_features, layer.out_features
    elif isinstance(layer, torch.nn.Conv2d):
        wanted_in, wanted_out = layer.in_channels, layer.out_channels
    else:
        return f"{module}: a {type(layer).__name__}, which a LoRA does not adapt"
    got_in, got_out = int(lora.down.shape[1]), int(lora.up.shape[0])
    if (got_in, got_out) != (wanted_in, wanted_out) or lora.up.shape[1] != lora.rank:
        return f"{module}: LoRA {got_in}->{got_out}, base {wanted_in}->{wanted_out}"
    return None


def check_fits_base(lora: ImportedLora, parts: Mapping[str, Any], base_name: str) -> None:
    """Refuse a LoRA with a module the base lacks or of another shape, naming a few."""
    problems: list[str] = []
    total = 0
    for component, modules in lora.modules.items():
        model = parts.get(component)
        total += len(modules)
        if model is None:
            problems += [f"{component}: {base_name} has no {component}"] * len(modules)
            continue
        problems += [
            f"{component}.{problem}"
            for module, weights in modules.items()
            if (problem := _misfit(model, module, weights)) is not None
        ]
    if problems:
        examples = "; ".join(dict.fromkeys(problems[:EXAMPLES]))
        raise LoraDoesNotFitBase(
            f"This LoRA does not fit the base model {base_name}: {len(problems)} of its {total} "
            f"modules do not match ({examples}). Choose the base it was trained on."
        )


# ---------------------------------------------------------------------------------- writing


def _layers(lora: ImportedLora, *, fold_scale: bool) -> dict[str, StateDict]:
    """Each component's weights in peft naming; with `fold_scale`, up weights times alpha/rank."""
    layers: dict[str, StateDict] = {}
    for component, modules in lora.modules.items():
        weights: StateDict = {}
        for module, found in modules.items():
            up = found.up * (found.alpha / found.rank) if fold_scale else found.up
            weights[f"{module}.lora_A.weight"] = found.down.contiguous()
            weights[f"{module}.lora_B.weight"] = up.contiguous()
        layers[component] = weights
    return layers


def import_lora(
    source: Path,
    base_model: str,
    output_dir: Path,
    *,
    trigger: str | None = None,
    device: str = "cpu",
) -> ModelArtifact:
    """Check a LoRA file against a base and write it as a diffusers-lora model folder; the
    trigger defaults to the file's own (`modelspec.trigger_phrase`, its first phrase)."""
    import diffusers

    from hallmark.engines.diffusers_lora import ENGINE_NAME, ENGINE_VERSION, WEIGHTS
    from hallmark.engines.flow_matching import check_components, detect_family

    # 1. The base's family, and its pipeline's own LoRA loader and saver.
    family = detect_family(base_model)
    check_components(base_model, family)
    pipeline_class = getattr(diffusers, family.pipeline_class)
    unet_config = None
    if family.name in {"sd", "sdxl"} and not Path(base_model).is_file():
        try:
            unet_config = diffusers.UNet2DConditionModel.load_config(base_model, subfolder="unet")
        except (OSError, ValueError) as error:
            raise EngineError(f"The base model {base_model} cannot be read: {error}") from None

    # 2. The file's LoRA modules in diffusers' naming, each against the base's module.
    lora = read_lora(source, pipeline_class, unet_config)
    if trigger is None:
        phrase = read_safetensors_metadata(source).get("modelspec.trigger_phrase", "")
        trigger = phrase.split(",")[0].strip()
    saveable = {
        name.removesuffix("_lora_layers")
        for name in inspect.signature(pipeline_class.save_lora_weights).parameters
        if name.endswith("_lora_layers")
    }
    parts = base_parts(base_model, sorted(lora.modules))
    check_fits_base(lora, parts, f"{base_model} ({family.name})")
    if not set(lora.modules) <= saveable:
        extra = ", ".join(sorted(set(lora.modules) - saveable))
        raise LoraDoesNotFitBase(f"A {family.name} LoRA has no weights for {extra}.")

    # 3. The weights as diffusers saves them, with one rank and alpha when all modules share them.
    shared = lora.shape()
    arguments: dict[str, Any] = {}
    for component, weights in _layers(lora, fold_scale=shared is None).items():
        arguments[f"{component}_lora_layers"] = weights
        if shared is not None:
            modules = sorted(lora.modules[component])
            arguments[f"{component}_lora_adapter_metadata"] = adapter_metadata(
                shared[0], shared[1], modules
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    pipeline_class.save_lora_weights(
        save_directory=str(output_dir), safe_serialization=True, **arguments
    )

    # 4. The manifest: how generation loads it, and where it came from.
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    ranks = sorted({m.rank for parts in lora.modules.values() for m in parts.values()})
    manifest = {
        "engine": ENGINE_NAME,
        "engine_version": ENGINE_VERSION,
        "base_model": base_model,
        "architecture": family.name,
        "pipeline": family.pipeline_class,
        "trigger": trigger,
        "hyperparameters": {"device": device},
        "weights": WEIGHTS,
        "provenance": {
            "kind": IMPORTED,
            "source_format": lora.source_format,
            "source_sha256": digest.hexdigest(),
            "ranks": ranks,
            "alpha": shared[1] if shared else None,
            "modules": sum(len(parts) for parts in lora.modules.values()),
            "components": sorted(lora.modules),
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    artifact = ModelArtifact(output_dir, manifest)
    artifact.save_manifest()
    return artifact
