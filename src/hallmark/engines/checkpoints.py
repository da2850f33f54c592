"""Training checkpoints shared by the engines: what a stopped or crashed run resumes from.

A checkpoint is a folder holding the LoRA weights (safetensors, under the engine's own file
name), `training_state.pt` (the optimiser's state, the sampling generator's, the global torch
random state and the example picker's) and `state.json` (the step). It is written to a hidden
temporary folder beside its place and renamed into place whole, so a folder with `state.json`
is always complete.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

STATE = "state.json"
TRAINING_STATE = "training_state.pt"
STEP_PREFIX = "step-"


@dataclass(frozen=True)
class RunState:
    """What a training loop carries from step to step besides its weights, saved with them."""

    optimizer: Any  # a torch optimiser, or bitsandbytes' 8-bit one
    generator: torch.Generator  # noise and timesteps
    picker: random.Random  # which works, flips and dropped captions


def lora_weights(unet: Any, adapter: str) -> dict[str, torch.Tensor]:
    """The adapter's LoRA weights, detached and contiguous, ready for safetensors."""
    from peft.utils import get_peft_model_state_dict

    state = get_peft_model_state_dict(unet, adapter_name=adapter)
    return {key: value.detach().contiguous() for key, value in state.items()}


def load_lora_weights(unet: Any, path: Path, adapter: str) -> None:
    """Put LoRA weights saved by `lora_weights` back into the adapter."""
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(unet, load_file(str(path)), adapter_name=adapter)


def is_checkpoint(folder: Path) -> bool:
    """Whether a folder holds a whole checkpoint (its state.json is written last)."""
    return (folder / STATE).is_file()


def save_checkpoint(
    folder: Path, unet: Any, run: RunState, step: int, *, weights: str, adapter: str
) -> None:
    """Everything a resumed run needs, written beside `folder` and swapped into place whole."""
    import torch
    from safetensors.torch import save_file

    temporary = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    save_file(lora_weights(unet, adapter), str(temporary / weights))
    torch.save(
        {
            "optimizer": run.optimizer.state_dict(),
            "generator": run.generator.get_state(),
            "torch": torch.get_rng_state(),
            "picker": run.picker.getstate(),
        },
        temporary / TRAINING_STATE,
    )
    (temporary / STATE).write_text(json.dumps({"step": step}), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    temporary.rename(folder)


def load_checkpoint(folder: Path, unet: Any, run: RunState, *, weights: str, adapter: str) -> int:
    """Restore the weights and the run's state from a checkpoint; returns its step."""
    import torch

    load_lora_weights(unet, folder / weights, adapter)
    saved = torch.load(folder / TRAINING_STATE, weights_only=False)
    run.optimizer.load_state_dict(saved["optimizer"])
    run.generator.set_state(saved["generator"])
    if "torch" in saved:  # studio checkpoints written before it was kept have none
        torch.set_rng_state(saved["torch"])
    run.picker.setstate(saved["picker"])
    return int(json.loads((folder / STATE).read_text(encoding="utf-8"))["step"])


def step_folder(root: Path, step: int) -> Path:
    """Where the checkpoint of a step goes, for engines that keep one per step."""
    return root / f"{STEP_PREFIX}{step}"


def newest_checkpoint(root: Path) -> Path | None:
    """The whole checkpoint with the highest step among root's `step-N` folders, if any."""
    if not root.is_dir():
        return None
    found = [
        folder
        for folder in root.iterdir()
        if folder.name.startswith(STEP_PREFIX) and is_checkpoint(folder)
    ]
    return max(found, key=lambda folder: int(folder.name[len(STEP_PREFIX) :]), default=None)


def resume_run(
    root: Path, model: Any, optimizer: Any, seed: int, *, weights: str, adapter: str
) -> tuple[int, RunState]:
    """A run's state seeded from `seed`, moved on to root's newest checkpoint if a run was
    interrupted; the step it starts from (0 for a new run)."""
    import torch

    run = RunState(optimizer, torch.Generator().manual_seed(seed), random.Random(seed))
    checkpoint = newest_checkpoint(root)
    if checkpoint is None:
        return 0, run
    return load_checkpoint(checkpoint, model, run, weights=weights, adapter=adapter), run
