"""The diffusers-lora engine on tiny SD 1.x and SDXL pipelines built offline from configs."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from hallmark.engines import (
    EngineError,
    GenerationRequest,
    ImageTooSmall,
    MissingComponent,
    ModelArtifact,
    NotEnoughImages,
    Progress,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
    get_engine,
)
from hallmark.engines.diffusers_lora import (
    WEIGHTS,
    DiffusersLoraEngine,
    buckets_for,
    fit_to_bucket,
    load_pipeline,
)
from hallmark.samples import SAMPLE_ARTISTS, sample_works


@pytest.fixture(scope="session")
def works() -> list[TrainingImage]:
    """Four of Bo's flat poster works, with their captions, one of them portrait-shaped."""
    found = [
        TrainingImage(work.image(), work.caption)
        for work in sample_works(SAMPLE_ARTISTS["bo"], count=4, size=96)
    ]
    portrait = found[0].image.crop((16, 0, 80, 96))
    return [TrainingImage(portrait, found[0].caption), *found[1:]]


def config_for(base: Path, output: Path, **changes: Any) -> TrainingConfig:
    """Settings sized for the tiny model: 64 px, a handful of steps, random LoRA init."""
    settings: dict[str, Any] = {
        "base_model": str(base),
        "output_dir": output,
        "resolution": 64,
        "rank": 4,
        "alpha": 4,
        "learning_rate": 1e-3,
        "steps": 6,
        "checkpoint_every": 3,
        "min_side": 32,
        "seed": 7,
        "lora_init": "gaussian",
    }
    settings.update(changes)
    return TrainingConfig(**settings)


def train(
    config: TrainingConfig, works: list[TrainingImage], stop_after: int | None = None
) -> tuple[ModelArtifact | None, list[Progress]]:
    """Run the engine, recording progress; stop after `stop_after` steps if given."""
    seen: list[Progress] = []

    def should_stop() -> bool:
        return stop_after is not None and len(seen) >= stop_after

    try:
        artifact = DiffusersLoraEngine().train(works, config, seen.append, should_stop)
    except TrainingStopped:
        return None, seen
    return artifact, seen


def denoising_loss(base: Path, works: list[TrainingImage], adapter: Path | None) -> float:
    """Noise-prediction error on the works at fixed noise and timesteps, with or without LoRA."""
    pipeline = load_pipeline(str(base), "cpu", torch.float32)
    if adapter is not None:
        pipeline.load_lora_weights(str(adapter))
    generator = torch.Generator().manual_seed(0)
    errors = []
    with torch.no_grad():
        for item in works:
            fitted = fit_to_bucket(item.image, 64)
            pixels = torch.from_numpy(np.asarray(fitted, dtype=np.float32) / 127.5 - 1)
            latents = pipeline.vae.encode(pixels.permute(2, 0, 1)[None]).latent_dist.mean
            latents = latents * pipeline.vae.config.scaling_factor
            embeds, _ = pipeline.encode_prompt(f"hmstyle, {item.caption}", "cpu", 1, False)
            for timestep in (100, 400, 700):
                noise = torch.randn(latents.shape, generator=generator)
                t = torch.tensor([timestep])
                noisy = pipeline.scheduler.add_noise(latents, noise, t)
                predicted = pipeline.unet(noisy, t, embeds).sample
                errors.append(float(torch.mean((predicted - noise) ** 2)))
    return float(np.mean(errors))


def test_training_lowers_the_denoising_loss_on_the_works(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    config = config_for(
        tiny_sd,
        tmp_path / "style",
        steps=60,
        learning_rate=5e-3,
        rank=8,
        alpha=8,
        lora_init=True,
        checkpoint_every=0,
    )

    artifact, progress = train(config, works)

    assert artifact is not None
    assert [p.step for p in progress] == list(range(1, 61))
    assert all(p.loss is not None and p.eta_seconds is not None for p in progress)
    before = denoising_loss(tiny_sd, works, None)
    after = denoising_loss(tiny_sd, works, artifact.directory)
    assert after < before * 0.95, (before, after)


def test_the_saved_adapter_loads_into_a_fresh_pipeline_and_changes_its_output(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    artifact, _ = train(config_for(tiny_sd, tmp_path / "style"), works)
    assert artifact is not None
    assert (artifact.directory / WEIGHTS).is_file()
    manifest = ModelArtifact.load(artifact.directory).manifest
    assert manifest["engine"] == "diffusers-lora" and manifest["trigger"] == "hmstyle"
    assert len(manifest["training_set_sha256"]) == 4 and manifest["base_model_sha256"]

    def render(with_adapter: bool) -> np.ndarray:
        pipeline = load_pipeline(str(tiny_sd), "cpu", torch.float32)
        if with_adapter:
            pipeline.load_lora_weights(str(artifact.directory))
        result = pipeline(
            "hmstyle, a red boat",
            num_inference_steps=2,
            height=64,
            width=64,
            generator=torch.Generator().manual_seed(1),
            output_type="np",
        )
        return np.asarray(result.images[0])

    plain, styled = render(False), render(True)
    assert np.abs(plain - styled).max() > 1e-3
    assert np.array_equal(render(True), styled)


def test_resuming_from_a_checkpoint_gives_the_uninterrupted_result(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    straight, _ = train(config_for(tiny_sd, tmp_path / "straight"), works)
    interrupted = config_for(tiny_sd, tmp_path / "interrupted")
    stopped, progress = train(interrupted, works, stop_after=3)
    assert stopped is None and progress[-1].step == 3
    assert (tmp_path / "interrupted" / "checkpoints" / "step-3" / "lora.safetensors").is_file()

    resumed, rest = train(interrupted, works)

    assert resumed is not None and straight is not None
    assert [p.step for p in rest] == [3, 4, 5, 6]
    assert rest[0].message == "resumed from step 3"
    first = load_file(str(straight.directory / WEIGHTS))
    second = load_file(str(resumed.directory / WEIGHTS))
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_should_stop_is_honoured_within_one_step(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    artifact, progress = train(config_for(tiny_sd, tmp_path / "s", steps=50), works, stop_after=1)

    assert artifact is None
    assert [p.step for p in progress] == [1, 1]
    assert progress[-1].message == "stopped"
    assert not (tmp_path / "s" / WEIGHTS).exists()


def test_generation_is_deterministic_per_seed_and_follows_the_strength(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    artifact, _ = train(config_for(tiny_sd, tmp_path / "style"), works)
    assert artifact is not None
    engine = get_engine("diffusers-lora")
    request = GenerationRequest("a boat at dusk", count=2, seed=5, steps=2, width=64, height=64)

    first = engine.generate(artifact, request)
    again = engine.generate(artifact, request)
    other = engine.generate(artifact, replace(request, seed=6))
    weaker = engine.generate(artifact, replace(request, strength=0.0))

    assert len(first) == 2 and first[0].size == (64, 64)
    pixels = [np.asarray(image) for image in first]
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(pixels, again, strict=True))
    assert not np.array_equal(pixels[0], pixels[1])  # each image has its own seed
    assert not np.array_equal(pixels[0], np.asarray(other[0]))
    assert not np.array_equal(pixels[0], np.asarray(weaker[0]))


def test_sdxl_trains_and_generates_through_the_same_code_path(
    tiny_sdxl: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    artifact, progress = train(config_for(tiny_sdxl, tmp_path / "xl", steps=2), works)

    assert artifact is not None and artifact.manifest["architecture"] == "sdxl"
    assert len(progress) == 2
    images = get_engine("diffusers-lora").generate(
        artifact, GenerationRequest("a kite", steps=2, width=64, height=64)
    )
    assert images[0].size == (64, 64)


def test_too_few_or_too_small_works_are_refused(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    with pytest.raises(NotEnoughImages, match="at least 3 works; 2 given"):
        train(config_for(tiny_sd, tmp_path / "a"), works[:2])
    small = [*works[:3], TrainingImage(Image.new("RGB", (40, 200)), "a sliver")]
    with pytest.raises(ImageTooSmall, match="Work 4 is 40x200"):
        train(config_for(tiny_sd, tmp_path / "b", min_side=64), small)


def test_a_base_model_folder_missing_a_component_is_named(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_sd, broken)
    shutil.rmtree(broken / "vae")

    with pytest.raises(MissingComponent, match="no 'vae' component"):
        train(config_for(broken, tmp_path / "out"), works)
    with pytest.raises(MissingComponent, match="model_index.json"):
        train(config_for(tmp_path, tmp_path / "out"), works)


def test_bad_generation_requests_are_refused(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    artifact, _ = train(config_for(tiny_sd, tmp_path / "style", steps=1), works)
    assert artifact is not None
    engine = get_engine("diffusers-lora")

    with pytest.raises(EngineError, match="prompt is empty"):
        engine.generate(artifact, GenerationRequest("  ", width=64, height=64))
    with pytest.raises(EngineError, match="multiples of 8"):
        engine.generate(artifact, GenerationRequest("x", width=63, height=64))


def test_buckets_keep_portrait_and_landscape_works_whole() -> None:
    buckets = buckets_for(512)

    assert (512, 512) in buckets and all(w % 64 == 0 and h % 64 == 0 for w, h in buckets)
    portrait = fit_to_bucket(Image.new("RGB", (600, 1200)), 512)
    landscape = fit_to_bucket(Image.new("RGB", (1200, 600)), 512)
    assert portrait.height > portrait.width and landscape.width > landscape.height


def test_caption_dropout_trains_on_the_empty_prompt_too(
    tiny_sd: Path, works: list[TrainingImage], tmp_path: Path
) -> None:
    captioned, _ = train(config_for(tiny_sd, tmp_path / "a", steps=3), works)
    dropped, _ = train(config_for(tiny_sd, tmp_path / "b", steps=3, caption_dropout=1.0), works)

    assert captioned is not None and dropped is not None
    first = load_file(str(captioned.directory / WEIGHTS))
    second = load_file(str(dropped.directory / WEIGHTS))
    assert any(not torch.equal(first[name], second[name]) for name in first)
