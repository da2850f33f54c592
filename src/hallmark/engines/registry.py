"""The engine registry: built-in engines and plugins, found by name in the same way.

An engine is a class named by an entry point of the group `hallmark.engines`. The built-in ones
are entry points too, written here rather than in a package's metadata; a plugin never takes a
built-in's name. Nothing is imported until an engine is asked for by name.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any, cast

from hallmark.engines.base import Engine, EngineError, UnknownEngine

ENTRY_POINT_GROUP = "hallmark.engines"
BUILT_IN = (
    metadata.EntryPoint("studio", "hallmark.engines.studio.engine:StudioEngine", ENTRY_POINT_GROUP),
    metadata.EntryPoint(
        "diffusers-lora", "hallmark.engines.diffusers_lora:DiffusersLoraEngine", ENTRY_POINT_GROUP
    ),
)
# The Engine protocol's members, which a loaded class must have to be an engine.
DECLARATIONS = (
    "name",
    "training_defaults",
    "generation_defaults",
    "default_base_model",
    "prompt_notes",
    "train",
    "generate",
)


def _entry_points() -> dict[str, metadata.EntryPoint]:
    """Every engine's entry point by name: the built-ins, then plugins under the other names."""
    found = {entry.name: entry for entry in BUILT_IN}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)
    return found


def engine_names() -> list[str]:
    """The names of every registered engine, sorted; nothing is imported to list them."""
    return sorted(_entry_points())


def engine_class(name: str) -> type[Engine]:
    """An engine's class by name, imported now; a clear error names the registered ones."""
    entries = _entry_points()
    if name not in entries:
        raise UnknownEngine(f"Unknown engine '{name}'; available: {', '.join(sorted(entries))}.")
    loaded = entries[name].load()
    missing = [attribute for attribute in DECLARATIONS if not hasattr(loaded, attribute)]
    if not isinstance(loaded, type) or missing:
        raise EngineError(
            f"The engine '{name}' ({entries[name].value}) is not an engine class"
            + (f": it lacks {', '.join(missing)}." if missing else ".")
        )
    return cast(type[Engine], loaded)


def get_engine(name: str) -> Engine:
    """A ready engine by name."""
    return engine_class(name)()


def training_defaults(name: str) -> dict[str, Any]:
    """An engine's own training settings, where they differ from TrainingConfig's defaults."""
    return dict(engine_class(name).training_defaults)


def generation_defaults(name: str) -> dict[str, Any]:
    """An engine's own sampler settings, where they differ from GenerationRequest's defaults."""
    return dict(engine_class(name).generation_defaults)


def generation_defaults_for(name: str, base_model: str) -> dict[str, Any]:
    """An engine's sampler settings for one base: its own defaults, then what the base samples
    best with where the engine says (`generation_defaults_for(base_model)`: few steps for a
    distilled base)."""
    engine = engine_class(name)
    per_base = getattr(engine, "generation_defaults_for", None)
    found = dict(engine.generation_defaults)
    if per_base is not None and base_model:
        found.update(per_base(base_model))
    return found


def default_base_model(name: str) -> str:
    """The base model an engine uses when a style names none ("" if it must be given)."""
    return engine_class(name).default_base_model


def prompt_notes(name: str, prompt: str, base_model: str = "") -> list[str]:
    """What an engine wants the person to know about a prompt (words it cannot draw...)."""
    return engine_class(name).prompt_notes(prompt, base_model)
