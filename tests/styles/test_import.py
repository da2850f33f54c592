"""Importing a LoRA trained elsewhere: the importer owns it on their attestation (R2), private,
generating the same images as the original; refusals store nothing."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

from hallmark.app import create_app
from hallmark.cli import app
from hallmark.config import Settings, get_settings
from hallmark.db import transaction
from hallmark.errors import InvalidInput
from hallmark.instance import Instance
from hallmark.styles.artifacts import store_model
from hallmark.styles.export import verify_export
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.training import record_training_outcome
from tests.helpers import assert_error, png_bytes, sign_up, upload

ASK = {"prompt": "a boat at dusk", "seed": 5, "steps": 2, "width": 64, "height": 64}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[TestClient]:
    """An instance with its job workers running."""
    settings = Settings(data_dir=tmp_path / "data", heartbeat_seconds=0.5)
    with TestClient(create_app(settings, start_workers=True)) as client:
        yield client


def trained_style_of(client: TestClient, headers: dict[str, str], folder: Path, base: Path) -> str:
    """A diffusers-lora style of the user, its model stored as a training stores it."""
    work = upload(client, headers, png_bytes(40)).json()["artwork"]["id"]
    style_id: str = client.post(
        "/api/styles",
        headers=headers,
        json={
            "name": "Night Posters",
            "artwork_ids": [work],
            "engine": "diffusers-lora",
            "base_model": str(base),
        },
    ).json()["id"]
    instance = client.app.state.instance  # type: ignore[attr-defined]
    with transaction(client.app.state.session_factory) as session:  # type: ignore[attr-defined]
        record_training_outcome(
            session, uuid.UUID(style_id), StyleStatus.READY, store_model(instance, folder)
        )
    return style_id


def kohya_file_of(client: TestClient, headers: dict[str, str], style_id: str) -> bytes:
    """The kohya file of a style's export."""
    exported = client.get(f"/api/styles/{style_id}/export", headers=headers)
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        [name] = [n for n in archive.namelist() if n.startswith("kohya/")]
        return archive.read(name)


def import_lora(
    client: TestClient, headers: dict[str, str], data: bytes, base: Path | str, **form: Any
) -> Any:
    """POST the file to the import route, attesting unless told otherwise."""
    fields = {
        "name": "Imported",
        "base_model": str(base),
        "attest_trained_on_own_works": "true",
        **form,
    }
    return client.post(
        "/api/styles/import",
        headers=headers,
        files={"file": ("lora.safetensors", data)},
        data=fields,
    )


def generated_pixels(
    client: TestClient, headers: dict[str, str], style_id: str
) -> tuple[Any, bytes]:
    """Generate one image through the job queue; its pixels and its file."""
    made = client.post(f"/api/styles/{style_id}/generate", headers=headers, json=ASK)
    assert made.status_code == 202, made.text
    job = client.get(
        f"/api/jobs/{made.json()['id']}/wait", params={"timeout": 60}, headers=headers
    ).json()
    assert job["state"] == "succeeded", job
    [generation_id] = job["result"]["generation_ids"]
    file = client.get(f"/api/generations/{generation_id}/file", headers=headers)
    assert file.status_code == 200, file.text
    with Image.open(io.BytesIO(file.content)) as image:
        return np.asarray(image.convert("RGB")), file.content


def test_an_exported_kohya_file_imported_by_another_artist_draws_the_same_image(
    served: TestClient, lora_folder: Path, tiny_sd: Path, tmp_path: Path
) -> None:
    ana, ben = sign_up(served, "ana"), sign_up(served, "ben")
    original = trained_style_of(served, ana, lora_folder, tiny_sd)
    kohya = kohya_file_of(served, ana, original)

    imported = import_lora(served, ben, kohya, tiny_sd, name="Night, elsewhere")

    assert imported.status_code == 201, imported.text
    style = imported.json()
    ben_id = served.get("/api/users/me", headers=ben).json()["id"]
    assert (style["owner_id"], style["visibility"], style["status"]) == (ben_id, "private", "ready")
    assert (style["provenance"], style["engine"]) == ("imported", "diffusers-lora")
    assert style["attested_at"] is not None and style["training_set_size"] == 0
    assert_error(served.get(f"/api/styles/{style['id']}", headers=ana), 404, "not_found")
    # The same picture at the same seed: the scale alpha/rank (8/4) and trigger came along.
    theirs, _ = generated_pixels(served, ana, original)
    mine, signed = generated_pixels(served, ben, style["id"])
    assert np.array_equal(mine, theirs)
    # Its credentials say the model was imported on ben's attestation, and that ben owns it.
    report = served.post("/api/verify", files={"file": ("x.png", signed)}).json()
    model = report["facts"]["generation"]["model"]
    assert model["provenance"] == "imported" and model["attested_at"]
    assert report["facts"]["generation"]["owner"]["username"] == "ben"
    assert "imported it, attesting" in report["summary"]
    # Its export says so too, signed.
    exported = served.get(f"/api/styles/{style['id']}/export", headers=ben)
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        statement = archive.read("OWNERSHIP.txt").decode()
    assert "belongs to @ben" in statement and "@ben imported it on" in statement
    instance = served.app.state.instance  # type: ignore[attr-defined]
    assert verify_export(instance, exported.content).valid


def test_the_diffusers_file_imports_as_well(
    served: TestClient, lora_folder: Path, tiny_sd: Path
) -> None:
    ben = sign_up(served, "ben")
    data = (lora_folder / "pytorch_lora_weights.safetensors").read_bytes()

    imported = import_lora(served, ben, data, tiny_sd, trigger="hmstyle")

    assert imported.status_code == 201, imported.text
    instance = served.app.state.instance  # type: ignore[attr-defined]
    with transaction(served.app.state.session_factory) as session:  # type: ignore[attr-defined]
        style = session.get(StyleModel, uuid.UUID(imported.json()["id"]))
        assert style is not None and style.source_sha256 is not None
        manifest = instance.blobs.get(style.artifact_sha256 or "")
    assert b'"source_format": "diffusers"' in manifest and b'"alpha": 8.0' in manifest


def blob_count(client: TestClient) -> int:
    """How many blobs the instance holds."""
    root = client.app.state.instance.settings.blob_dir  # type: ignore[attr-defined]
    return sum(1 for path in Path(root).rglob("*") if path.is_file())


def test_each_refusal_names_its_problem_and_stores_nothing(
    served: TestClient, lora_folder: Path, tiny_sd: Path, tiny_sdxl: Path, tmp_path: Path
) -> None:
    ben = sign_up(served, "ben")
    good = (lora_folder / "pytorch_lora_weights.safetensors").read_bytes()
    save_file({"model.weight": torch.ones(2, 2)}, str(tmp_path / "plain.safetensors"))
    blobs_before = blob_count(served)

    not_safetensors = import_lora(served, ben, b"PK\x03\x04 a zip, not weights", tiny_sd)
    no_lora = import_lora(served, ben, (tmp_path / "plain.safetensors").read_bytes(), tiny_sd)
    other_base = import_lora(served, ben, good, tiny_sdxl)
    no_attestation = import_lora(served, ben, good, tiny_sd, attest_trained_on_own_works="false")
    studio = import_lora(served, ben, good, "studio-base")
    anonymous = import_lora(served, {}, good, tiny_sd)

    assert_error(not_safetensors, 422, "invalid_input")
    assert "not a safetensors file" in not_safetensors.json()["error"]["message"]
    assert_error(no_lora, 422, "invalid_input")
    assert "no LoRA weights" in no_lora.json()["error"]["message"]
    assert_error(other_base, 422, "invalid_input")
    message = other_base.json()["error"]["message"]
    assert "does not fit the base model" in message and "(sdxl)" in message
    assert "attn2.to_k: LoRA 32->32, base 64->32" in message
    assert_error(no_attestation, 422, "invalid_input", "R2")
    assert "works you hold the rights to" in no_attestation.json()["error"]["message"]
    assert_error(studio, 422, "invalid_input")
    assert "Studio styles cannot be imported" in studio.json()["error"]["message"]
    assert_error(anonymous, 401, "not_authenticated")
    assert served.get("/api/styles", headers=ben).json()["total"] == 0
    assert blob_count(served) == blobs_before


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path, tiny_sd: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_model_bytes=4096)
    with TestClient(create_app(settings)) as client:
        ben = sign_up(client, "ben")

        refused = import_lora(client, ben, b"\0" * (80 * 1024), tiny_sd)

        assert_error(refused, 413, "payload_too_large")
        assert client.get("/api/styles", headers=ben).json()["total"] == 0


def test_the_cli_imports_on_attestation_only(
    data_dir: Path, lora_folder: Path, tiny_sd: Path
) -> None:
    with Instance.open(get_settings()) as instance, transaction(instance.sessions) as session:
        from hallmark.accounts.service import register_user

        register_user(session, "ana", "correct horse battery")
    runner = CliRunner()
    weights = str(lora_folder / "pytorch_lora_weights.safetensors")
    command = ["styles", "import", weights, "--as", "ana", "--name", "Inks", "--base", str(tiny_sd)]

    refused = runner.invoke(app, command)
    imported = runner.invoke(app, [*command, "--attest"])

    assert isinstance(refused.exception, InvalidInput) and refused.exception.rule == "R2"
    assert imported.exit_code == 0, imported.output
    assert "imported: private, ready, owned by @ana" in " ".join(imported.output.split())
    with Instance.open(get_settings()) as instance, transaction(instance.sessions) as session:
        [style] = session.query(StyleModel).all()
        assert (style.name, style.provenance, style.visibility) == ("Inks", "imported", "private")
