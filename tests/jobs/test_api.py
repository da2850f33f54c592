"""Jobs over HTTP: training and generation return at once with a job to wait on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hallmark.app import create_app
from hallmark.config import Settings
from hallmark.db import transaction
from hallmark.jobs.models import Job
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import set_style_status
from tests.helpers import assert_error, png_bytes, sign_up, upload


@pytest.fixture
def served(tmp_path: Path) -> Iterator[TestClient]:
    """The studio with its in-process workers, as `hallmark serve` runs it."""
    settings = Settings(data_dir=tmp_path / "data", heartbeat_seconds=0.5)
    with TestClient(create_app(settings, start_workers=True)) as client:
        yield client


def test_train_then_generate_through_jobs(served: TestClient, tiny_sd: Path) -> None:
    ana, ben = sign_up(served, "ana"), sign_up(served, "ben")
    ids = [
        upload(served, ana, work.png).json()["artwork"]["id"]
        for work in sample_works(SAMPLE_ARTISTS["bo"], count=3, size=96)
    ]
    style = served.post(
        "/api/styles",
        headers=ana,
        json={
            "name": "Posters",
            "artwork_ids": ids,
            "engine": "diffusers-lora",
            "base_model": str(tiny_sd),
        },
    ).json()

    queued = served.post(
        f"/api/styles/{style['id']}/train",
        headers=ana,
        json={"steps": 3, "resolution": 64, "rank": 4, "min_side": 32, "validation_every": 1},
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["state"] in {"queued", "running"}
    job_id = queued.json()["id"]
    assert served.get(f"/api/jobs/{job_id}", headers=ben).status_code == 404
    done = served.get(f"/api/jobs/{job_id}/wait", params={"timeout": 60}, headers=ana).json()
    assert (done["state"], done["step"], done["total"]) == ("succeeded", 3, 3), done
    assert len(done["result"]["samples"]) == 3  # a sample image at every step, as asked
    sample = served.get(f"/api/jobs/{job_id}/samples/0", headers=ana)
    assert sample.status_code == 200 and sample.content.startswith(b"\x89PNG")
    assert served.get(f"/api/jobs/{job_id}/samples/0", headers=ben).status_code == 404
    assert served.get(f"/api/jobs/{job_id}/samples/9", headers=ana).status_code == 404

    made = served.post(
        f"/api/styles/{style['id']}/generate",
        headers=ana,
        json={"prompt": "a red boat", "count": 2, "steps": 2, "width": 64, "height": 64},
    )
    assert made.status_code == 202
    result = served.get(
        f"/api/jobs/{made.json()['id']}/wait", params={"timeout": 60}, headers=ana
    ).json()
    assert result["state"] == "succeeded"
    for generation_id in result["result"]["generation_ids"]:
        image = served.get(f"/api/generations/{generation_id}", headers=ana).json()
        assert image["owner_id"] == served.get("/api/users/me", headers=ana).json()["id"]

    again = served.post(f"/api/jobs/{job_id}/cancel", headers=ana)
    assert again.status_code == 409  # it already succeeded
    private = served.post(f"/api/styles/{style['id']}/generate", headers=ben, json={"prompt": "x"})
    assert private.status_code == 404  # a private style does not exist for others (R5)


def test_an_idempotency_key_makes_a_retried_request_return_the_same_job(
    client: TestClient,
) -> None:
    ana = sign_up(client, "ana")
    work = upload(client, ana, png_bytes(3)).json()["artwork"]["id"]
    style = client.post("/api/styles", headers=ana, json={"name": "S", "artwork_ids": [work]})
    style_id = style.json()["id"]
    train, body = f"/api/styles/{style_id}/train", {"steps": 3}

    first = client.post(train, headers={**ana, "Idempotency-Key": "try-1"}, json=body)
    again = client.post(train, headers={**ana, "Idempotency-Key": "try-1"}, json=body)
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.json()["id"] == first.json()["id"]
    other = client.post(train, headers={**ana, "Idempotency-Key": "try-1"}, json={"steps": 4})
    assert_error(other, 409, "conflict")
    too_long = client.post(train, headers={**ana, "Idempotency-Key": "k" * 129}, json=body)
    assert too_long.status_code == 422

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        found = session.get(StyleModel, uuid.UUID(style_id))
        assert found is not None
        set_style_status(session, found, StyleStatus.READY)
    generate, ask = f"/api/styles/{style_id}/generate", {"prompt": "a heron"}
    reused = client.post(generate, headers={**ana, "Idempotency-Key": "try-1"}, json=ask)
    assert_error(reused, 409, "conflict")  # the key already named the training
    made = client.post(generate, headers={**ana, "Idempotency-Key": "gen-1"}, json=ask)
    remade = client.post(generate, headers={**ana, "Idempotency-Key": "gen-1"}, json=ask)
    assert (made.status_code, remade.status_code) == (202, 202), remade.text
    assert remade.json()["id"] == made.json()["id"]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 2
