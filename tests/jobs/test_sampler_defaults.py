"""A generation job samples with its style's base defaults (few steps for a distilled base),
under whatever the request itself asks for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hallmark.config import get_settings
from hallmark.db import transaction
from hallmark.engines import GenerationRequest, generation_defaults, generation_defaults_for
from hallmark.instance import Instance
from hallmark.jobs import runner
from hallmark.jobs.runner import run_here
from hallmark.jobs.service import submit_generation
from hallmark.styles.artifacts import store_model
from hallmark.styles.models import StyleModel, StyleStatus
from tests.helpers import png_bytes


def distilled_klein(folder: Path) -> Path:
    """A FLUX.2 Klein base as its model_index.json says (all the sampler defaults read)."""
    folder.mkdir(parents=True)
    index = {"_class_name": "Flux2KleinPipeline", "is_distilled": True}
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def test_the_registry_puts_the_base_defaults_over_the_engine_ones(tmp_path: Path) -> None:
    klein = distilled_klein(tmp_path / "klein")

    assert generation_defaults_for("diffusers-lora", str(klein)) == {"steps": 4, "guidance": 1.0}
    assert generation_defaults_for("diffusers-lora", "stabilityai/sd-turbo")["steps"] == 1
    assert generation_defaults_for("studio", "studio-base") == generation_defaults("studio")


def test_a_generation_job_on_a_distilled_base_takes_its_few_steps(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    klein = distilled_klein(tmp_path / "klein")
    model = tmp_path / "model"
    model.mkdir()
    (model / "manifest.json").write_text(json.dumps({"engine": "diffusers-lora"}))
    asked: list[GenerationRequest] = []

    def engine_stand_in(artifact: object, engine: str, request: GenerationRequest) -> list[bytes]:
        asked.append(request)
        return [png_bytes(len(asked))]

    monkeypatch.setattr(runner, "make_images", engine_stand_in)
    with Instance.open(get_settings()) as instance:
        with transaction(instance.sessions) as session:
            from hallmark.accounts.service import register_user

            ana = register_user(session, "ana", "correct horse battery")
            style = StyleModel(
                owner_id=ana.id,
                name="Klein",
                engine="diffusers-lora",
                base_model=str(klein),
                status=StyleStatus.READY.value,
                artifact_sha256=store_model(instance, model),
            )
            session.add(style)
            session.flush()
            jobs = [
                submit_generation(session, instance.queues, ana, style.id, payload)
                for payload in ({"prompt": "a boat"}, {"prompt": "a boat", "steps": 7})
            ]
            session.commit()
        for job in jobs:
            assert run_here(instance, job.id).state == "succeeded"

    assert [(r.steps, r.guidance) for r in asked] == [(4, 1.0), (7, 1.0)]
