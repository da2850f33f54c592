"""The base model's training script: the time law it trains on, and runs that build on runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from hallmark.engines.studio.network import build_unet, sample_times
from hallmark.engines.studio.text import EMBEDDING_DIM
from hallmark.engines.studio.weights import load_base_unet, locate_base
from hallmark.samples.binding import BindingHeads
from hallmark.samples.studio_base import train_base


def test_the_uniform_share_trains_both_ends_of_the_path_that_sampling_visits() -> None:
    def near_ends(share: float) -> int:
        times = sample_times(20_000, torch.Generator().manual_seed(0), share)
        assert bool(((times >= 0) & (times <= 1)).all())
        return int(((times < 0.05) | (times > 0.95)).sum())

    assert near_ends(0.3) > 5 * near_ends(0.0)


def test_without_a_uniform_share_the_times_are_the_logit_normal_draws_of_earlier_runs() -> None:
    times = sample_times(64, torch.Generator().manual_seed(3), 0.0)
    expected = torch.sigmoid(torch.randn(64, generator=torch.Generator().manual_seed(3)))
    assert torch.equal(times, expected)


def test_a_run_started_from_another_records_every_command_that_led_to_it(tmp_path: Path) -> None:
    first = train_base(tmp_path / "first", steps=2, batch_size=2, checkpoint_every=1, log_every=1)
    first_record = json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))

    second = train_base(
        tmp_path / "second", steps=2, seed=1, batch_size=2, init_from=tmp_path / "first"
    )

    record = json.loads(second.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["steps"] == 4
    assert record["commands"][0] == first_record["commands"][0]
    assert "--init-from" in record["commands"][1] and "--seed 1" in record["commands"][1]
    # The second run starts from the first's weights, not from a fresh initialisation.
    started = load_base_unet(locate_base(str(tmp_path / "first"))).state_dict()
    continued = load_base_unet(locate_base(str(tmp_path / "second"))).state_dict()
    torch.manual_seed(1)
    fresh = build_unet().state_dict()
    weights = [name for name in started if name.endswith("weight")]
    assert all(torch.allclose(continued[n], started[n], atol=1e-3) for n in weights)
    assert not all(torch.allclose(fresh[n], started[n], atol=1e-3) for n in weights)


def _grown_run(tmp_path: Path, shape: str) -> dict[str, Any]:
    """The record of a one-step run of `shape` from a one-step run of the coordinates shape."""
    train_base(tmp_path / "first", steps=1, batch_size=2, shape="coordinates")
    grown = train_base(
        tmp_path / "grown", steps=1, seed=1, batch_size=2, shape=shape, init_from=tmp_path / "first"
    )
    record: dict[str, Any] = json.loads(grown.with_suffix(".json").read_text(encoding="utf-8"))
    return record


def test_a_run_of_a_larger_shape_keeps_the_earlier_weights_and_records_its_shape(
    tmp_path: Path,
) -> None:
    record = _grown_run(tmp_path, "attention-everywhere")
    assert record["shape"] == "attention-everywhere"
    assert record["unet"]["down_block_types"][0] == "CrossAttnDownBlock2D"
    assert "--shape coordinates" in record["commands"][0]
    assert "--shape attention-everywhere" in record["commands"][1]
    started = load_base_unet(locate_base(str(tmp_path / "first"))).state_dict()
    continued = load_base_unet(locate_base(str(tmp_path / "grown"))).state_dict()
    assert set(started) < set(continued)
    assert all(torch.allclose(continued[n], started[n], atol=1e-3) for n in started)


def test_a_run_given_a_text_adapter_trains_it_records_it_and_ships_it(tmp_path: Path) -> None:
    record = _grown_run(tmp_path, "text-attention")

    assert record["shape"] == "text-attention"
    assert record["unet"]["text_adapter_layers"] == 1
    shipped = load_base_unet(locate_base(str(tmp_path / "grown"))).state_dict()
    assert "text_adapter.layers.0.linear2.weight" in shipped
    # The adapter starts as a pass-through; one optimiser step already moves its output.
    trained = torch.load(tmp_path / "grown" / "checkpoint.pt", weights_only=False)["unet"]
    assert bool(trained["text_adapter.layers.0.self_attn.out_proj.weight"].abs().sum() > 0)


def test_a_run_with_the_binding_loss_trains_its_heads_and_records_its_weight(
    tmp_path: Path,
) -> None:
    weights = train_base(
        tmp_path / "bound", steps=1, batch_size=4, shape="text-attention", binding_weight=0.1
    )

    record = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["binding_weight"] == 0.1
    assert "--binding-weight 0.1" in record["commands"][-1]
    state = torch.load(tmp_path / "bound" / "checkpoint.pt", weights_only=False)
    fresh = BindingHeads(EMBEDDING_DIM).state_dict()
    assert set(state["binding_heads"]) == set(fresh)
    # The heads are trained (the optimiser holds them) but never ship with the base weights.
    assert len(state["optimizer"]["state"]) > len(list(build_unet(record["unet"]).parameters()))
    assert not any(
        "binding" in name for name in load_base_unet(locate_base(str(weights.parent))).state_dict()
    )


def test_the_binding_loss_is_refused_for_a_shape_without_a_text_adapter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="text adapter"):
        train_base(tmp_path / "plain", steps=1, batch_size=2, binding_weight=0.1)
