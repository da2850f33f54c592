"""Jobs over HTTP: training and generation return at once with a job to wait on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hallmark.app import create_app
from hallmark.config import Settings
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from tests.helpers import sign_up, upload


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
