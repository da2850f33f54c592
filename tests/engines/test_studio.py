"""The studio engine: its shipped base model, per-artist training, generation and odd prompts."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from hallmark.engines import (
    EngineError,
    GenerationRequest,
    ModelArtifact,
    NotEnoughImages,
    Progress,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
    get_engine,
    training_defaults,
)
from hallmark.engines.studio import StudioEngine
from hallmark.engines.studio.engine import LORA_FILE, mirror_caption, unmerge_style
from hallmark.engines.studio.network import LAYOUT_SIZE, flow_matching_loss, images_to_tensor
from hallmark.engines.studio.text import MAX_TOKENS, shared_text_encoder
from hallmark.engines.studio.weights import (
    SHIPPED,
    ChecksumMismatch,
    file_sha256,
    load_base_unet,
    locate_base,
)
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.studio_base import world_fingerprint

FAST = {**training_defaults("studio"), "steps": 12, "batch_size": 4, "checkpoint_every": 0}
SAMPLER: dict[str, Any] = {"steps": 6, "guidance": 4.0, "width": 128, "height": 128}


@pytest.fixture(scope="module")
def works() -> list[TrainingImage]:
    """Six of Bo's flat poster works with their captions."""
    found = sample_works(SAMPLE_ARTISTS["bo"], count=6, size=128, seed=3)
    return [TrainingImage(work.image(), work.caption) for work in found]


@pytest.fixture(scope="module")
def trained(works: list[TrainingImage], tmp_path_factory: pytest.TempPathFactory) -> ModelArtifact:
    """A style trained for a few steps on the shipped base model."""
    folder = tmp_path_factory.mktemp("studio-style")
    config = TrainingConfig(base_model="", output_dir=folder, **FAST)
    return StudioEngine().train(works, config, lambda progress: None, lambda: False)


def test_the_shipped_base_weights_load_and_match_their_checksum(tmp_path: Path) -> None:
    base = locate_base("")
    assert file_sha256(base.weights) == base.sha256
    unet = load_base_unet(base)
    assert sum(p.numel() for p in unet.parameters()) > 1_000_000
    assert base.record["world_fingerprint"] == world_fingerprint(), (
        "the procedural world changed since the base model was trained: retrain it with "
        f"`{base.record['command']}`"
    )
    # A copy with one byte changed is refused, naming the file.
    shutil.copy(SHIPPED, tmp_path / SHIPPED.name)
    damaged = bytearray(base.weights.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / base.weights.name).write_bytes(bytes(damaged))
    with pytest.raises(ChecksumMismatch, match="checksum"):
        load_base_unet(locate_base(str(tmp_path)))


def test_the_engine_is_registered_and_refuses_fewer_than_four_works(
    works: list[TrainingImage], tmp_path: Path
) -> None:
    engine = get_engine("studio")
    config = TrainingConfig(base_model="", output_dir=tmp_path, **FAST)
    with pytest.raises(NotEnoughImages, match="at least 4 works.*got 3"):
        engine.train(works[:3], config, lambda progress: None, lambda: False)
    assert not (tmp_path / LORA_FILE).exists()


def test_a_few_training_steps_lower_the_loss_on_the_artists_works(
    trained: ModelArtifact, works: list[TrainingImage]
) -> None:
    engine = StudioEngine()
    unet, _, _ = engine._load(trained)
    encoded = shared_text_encoder().encode([w.caption or "" for w in works])
    pixels = images_to_tensor([w.image for w in works])

    def loss_at(strength: float) -> float:
        unet.set_adapters(["style"], weights=[strength])
        with torch.no_grad():
            values = [
                float(
                    flow_matching_loss(
                        unet,
                        pixels,
                        encoded.embeddings,
                        encoded.mask,
                        torch.Generator().manual_seed(seed),
                    )
                )
                for seed in range(4)
            ]
        return float(np.mean(values))

    before, after = loss_at(0.0), loss_at(1.0)
    assert after < before * 0.97, (before, after)


def test_a_saved_style_loads_and_generates_the_same_images_for_the_same_seed(
    trained: ModelArtifact,
) -> None:
    request = GenerationRequest("a red sun over the blue sea", seed=3, **SAMPLER)
    first = StudioEngine().generate(ModelArtifact.load(trained.directory), request)[0]
    again = StudioEngine().generate(ModelArtifact.load(trained.directory), request)[0]
    other = StudioEngine().generate(trained, replace(request, seed=4))[0]
    assert first.size == (128, 128)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def test_the_layouts_a_picture_is_painted_from_are_the_models_and_seed_determined(
    trained: ModelArtifact,
) -> None:
    engine = StudioEngine()
    request = GenerationRequest("a yellow sun in the top left", count=2, seed=5, **SAMPLER)
    layouts = engine.generate_layouts(trained, request)
    again = engine.generate_layouts(trained, request)
    painted = engine.generate(trained, request)
    assert [layout.size for layout in layouts] == [(LAYOUT_SIZE, LAYOUT_SIZE)] * 2
    assert np.array_equal(np.asarray(layouts[0]), np.asarray(again[0]))
    assert not np.array_equal(np.asarray(layouts[0]), np.asarray(layouts[1]))
    assert [p.size for p in painted] == [(128, 128)] * 2
    with pytest.raises(EngineError, match="count"):
        engine.generate_layouts(trained, replace(request, count=0))


def test_each_painting_keeps_the_colours_of_its_own_layout(trained: ModelArtifact) -> None:
    engine = StudioEngine()
    day = GenerationRequest("a yellow sun in the top left on a clear day", seed=5, **SAMPLER)
    night = GenerationRequest("the white moon over the purple sea at night", seed=5, **SAMPLER)
    layouts = [engine.generate_layouts(trained, r)[0] for r in (day, night)]
    painted = [engine.generate(trained, r)[0] for r in (day, night)]
    shrunk = [np.asarray(p.resize((LAYOUT_SIZE, LAYOUT_SIZE)), np.float64) for p in painted]
    own = [np.abs(shrunk[i] - np.asarray(layouts[i], np.float64)).mean() for i in (0, 1)]
    swapped = [np.abs(shrunk[i] - np.asarray(layouts[1 - i], np.float64)).mean() for i in (0, 1)]
    assert own[0] < 0.5 * swapped[0] and own[1] < 0.5 * swapped[1], (own, swapped)


def test_the_style_folded_into_the_weights_makes_the_layouts_the_lora_makes(
    trained: ModelArtifact,
) -> None:
    engine = StudioEngine()
    request = GenerationRequest("a red boat on the sea at night", seed=2, **SAMPLER)
    merged = np.asarray(engine.generate_layouts(trained, request)[0], np.int64)
    weaker = np.asarray(
        engine.generate_layouts(trained, replace(request, strength=0.0))[0], np.int64
    )
    back = np.asarray(engine.generate_layouts(trained, request)[0], np.int64)
    assert not np.array_equal(merged, weaker)
    assert np.abs(merged - back).max() <= 1  # strength changed and restored without drift
    unet, _, _ = engine._load(trained)
    unmerge_style(unet)
    unet.set_adapters(["style"], weights=[1.0])
    on_the_fly = StudioEngine._layouts(
        unet, request.prompt, 1, request.seed, request.steps, request.guidance
    )[0]
    assert np.abs(merged - np.asarray(on_the_fly, np.int64)).max() <= 1


@pytest.mark.parametrize(
    ("prompt", "note"),
    [
        ("a cyberpunk dragon eating spaghetti", "knows a small world"),
        ("", None),
        ("a red sun " * 200, f"first {MAX_TOKENS} tokens"),
        ("赤い太陽と青い海", "knows a small world"),
        ("<script>alert(1)</script> 🌞", "knows a small world"),
    ],
)
def test_odd_prompts_still_give_an_image_with_a_note(
    trained: ModelArtifact, prompt: str, note: str | None
) -> None:
    images = StudioEngine().generate(trained, GenerationRequest(prompt, count=2, **SAMPLER))
    assert len(images) == 2 and all(isinstance(image, Image.Image) for image in images)
    assert all(image.size == (128, 128) for image in images)
    if note is None:
        assert "note" not in images[0].info
    else:
        assert note in images[0].info["note"]


def test_training_stops_within_a_step_and_resumes_to_the_same_weights(
    works: list[TrainingImage], tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    knobs = {**FAST, "steps": 6, "checkpoint_every": 2}
    whole = StudioEngine().train(
        works,
        TrainingConfig(base_model="", output_dir=tmp_path / "whole", **knobs),
        lambda progress: None,
        lambda: False,
    )
    seen: list[int] = []
    config = TrainingConfig(base_model="", output_dir=tmp_path / "halves", **knobs)
    with pytest.raises(TrainingStopped, match="step 3"):
        StudioEngine().train(works, config, lambda p: seen.append(p.step), lambda: len(seen) >= 3)
    assert not (config.output_dir / LORA_FILE).exists()
    messages: list[str] = []

    def note(progress: Progress) -> None:
        seen.append(progress.step)
        messages.append(progress.message)

    resumed = StudioEngine().train(works, config, note, lambda: False)
    # It says where it resumed (the checkpoint taken as it stopped), then goes on from there.
    assert seen[3:5] == [3, 4] and messages[0] == "resumed from step 3"
    expected = load_file(str(whole.directory / LORA_FILE))
    got = load_file(str(resumed.directory / LORA_FILE))
    assert expected.keys() == got.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key])


def test_mirrored_works_swap_left_and_right_in_their_captions() -> None:
    assert mirror_caption("a sun on the left, a tree at the right") == (
        "a sun on the right, a tree at the left"
    )
    assert mirror_caption("a bright sun") == "a bright sun"
