"""Training checkpoints: written whole, the newest found, and everything a run needs put back."""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from peft import LoraConfig, inject_adapter_in_model

from hallmark.engines.checkpoints import (
    STATE,
    TRAINING_STATE,
    RunState,
    is_checkpoint,
    load_checkpoint,
    lora_weights,
    newest_checkpoint,
    save_checkpoint,
    step_folder,
)

WEIGHTS = "lora.safetensors"
ADAPTER = "style"


def lora_run(seed: int) -> tuple[torch.nn.Module, RunState]:
    """The same frozen two-layer model, a LoRA adapter drawn from `seed`, and its run's state."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
    torch.manual_seed(seed)  # a random LoRA start, so that round trips can fail
    config = LoraConfig(r=2, lora_alpha=2, target_modules=["0", "1"], init_lora_weights="gaussian")
    model = inject_adapter_in_model(config, model, adapter_name=ADAPTER)
    parameters = [p for p in model.parameters() if p.requires_grad]
    run = RunState(
        torch.optim.AdamW(parameters, lr=1e-2),
        torch.Generator().manual_seed(seed),
        random.Random(seed),
    )
    return model, run


def train_a_little(model: torch.nn.Module, run: RunState, steps: int) -> None:
    """A few optimiser steps that draw from every source of randomness a run keeps."""
    for _ in range(steps):
        inputs = torch.randn(3, 4, generator=run.generator) * run.picker.random()
        loss = model(inputs).pow(2).mean()
        run.optimizer.zero_grad()
        loss.backward()
        run.optimizer.step()


def test_a_checkpoint_puts_back_the_weights_and_every_random_state(tmp_path: Path) -> None:
    model, run = lora_run(seed=1)
    train_a_little(model, run, steps=3)
    folder = step_folder(tmp_path / "checkpoints", 3)
    save_checkpoint(folder, model, run, 3, weights=WEIGHTS, adapter=ADAPTER)
    global_state = torch.get_rng_state()
    train_a_little(model, run, steps=2)
    expected = {k: v.clone() for k, v in lora_weights(model, ADAPTER).items()}
    draws = (run.generator.get_state(), run.picker.getstate())

    torch.manual_seed(99)
    fresh, again = lora_run(seed=2)
    assert load_checkpoint(folder, fresh, again, weights=WEIGHTS, adapter=ADAPTER) == 3
    assert torch.equal(torch.get_rng_state(), global_state)
    train_a_little(fresh, again, steps=2)

    for key, value in lora_weights(fresh, ADAPTER).items():
        assert torch.equal(value, expected[key]), key
    assert torch.equal(again.generator.get_state(), draws[0])
    assert again.picker.getstate() == draws[1]


def test_a_checkpoint_written_without_the_global_random_state_still_resumes(
    tmp_path: Path,
) -> None:
    model, run = lora_run(seed=1)
    folder = tmp_path / "checkpoint"
    save_checkpoint(folder, model, run, 7, weights=WEIGHTS, adapter=ADAPTER)
    saved = torch.load(folder / TRAINING_STATE, weights_only=False)
    del saved["torch"]  # as the studio engine wrote them before it kept it
    torch.save(saved, folder / TRAINING_STATE)

    before = torch.get_rng_state()
    fresh, again = lora_run(seed=2)
    torch.set_rng_state(before)
    assert load_checkpoint(folder, fresh, again, weights=WEIGHTS, adapter=ADAPTER) == 7
    assert torch.equal(torch.get_rng_state(), before)
    for key, value in lora_weights(fresh, ADAPTER).items():
        assert torch.equal(value, lora_weights(model, ADAPTER)[key]), key


def test_a_new_checkpoint_replaces_the_old_one_whole(tmp_path: Path) -> None:
    model, run = lora_run(seed=1)
    folder = tmp_path / "checkpoint"
    save_checkpoint(folder, model, run, 2, weights=WEIGHTS, adapter=ADAPTER)
    (folder / "left-over").write_text("from the older checkpoint", encoding="utf-8")
    (tmp_path / ".checkpoint.tmp").mkdir()  # a write that a crash cut short

    save_checkpoint(folder, model, run, 4, weights=WEIGHTS, adapter=ADAPTER)

    assert json.loads((folder / STATE).read_text(encoding="utf-8")) == {"step": 4}
    assert sorted(p.name for p in folder.iterdir()) == sorted([STATE, TRAINING_STATE, WEIGHTS])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_the_newest_whole_checkpoint_is_found_by_its_step_number(tmp_path: Path) -> None:
    root = tmp_path / "checkpoints"
    assert newest_checkpoint(root) is None
    for step in (2, 10, 11):
        step_folder(root, step).mkdir(parents=True)
    for step in (2, 10):
        (step_folder(root, step) / STATE).write_text(json.dumps({"step": step}), encoding="utf-8")
    (root / ".step-12.tmp").mkdir()
    (root / ".step-12.tmp" / STATE).write_text("{}", encoding="utf-8")

    assert newest_checkpoint(root) == root / "step-10"  # 10 > 2 as numbers; step-11 is partial
    assert not is_checkpoint(root / "step-11")
