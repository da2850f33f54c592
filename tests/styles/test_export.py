"""Exporting a style: owner only (R2), the formats other tools load, signed ownership."""

from __future__ import annotations

import io
import json
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import save_file
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.artworks.service import upload_artwork
from hallmark.cli import app
from hallmark.config import get_settings
from hallmark.db import transaction
from hallmark.engines.lora_formats import lora_format, read_safetensors
from hallmark.engines.studio.weights import locate_base
from hallmark.errors import Conflict, Forbidden, NotFound
from hallmark.instance import Instance
from hallmark.styles.artifacts import store_model
from hallmark.styles.export import export_style, verify_export
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import create_style, publish_style, set_style_status
from hallmark.styles.training import record_training_outcome
from hallmark.web.security import SESSION_COOKIE
from tests.helpers import assert_error, png_bytes, sign_up, upload


def studio_folder(directory: Path) -> Path:
    """A studio model's folder as its engine writes it: the LoRA, copies of the works, manifest."""
    (directory / "works").mkdir(parents=True)
    (directory / "works" / "000.png").write_bytes(png_bytes(1))
    save_file({"lora_A": torch.ones(2, 2)}, str(directory / "studio-lora.safetensors"))
    manifest = {
        "engine": "studio",
        "base_model": "studio-base",
        "base_sha256": locate_base("").sha256,
        "rank": 2,
        "alpha": 2,
        "trigger": "hmstyle",
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


def trained_style(
    session: Session, instance: Instance, owner: User, folder: Path, engine: str, base: str
) -> StyleModel:
    """A style of `owner` on one of their uploads, its model stored as training stores it."""
    upload = upload_artwork(session, instance, owner, png_bytes(7), rights_attested=True)
    assert upload.artwork is not None
    style = create_style(
        session, owner, "Night Posters", [upload.artwork.id], engine=engine, base_model=base
    )
    return record_training_outcome(
        session, style.id, StyleStatus.READY, store_model(instance, folder)
    )


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_diffusers_lora_export_holds_both_formats_the_manifest_and_a_signed_statement(
    session: Session,
    instance: Instance,
    owner: User,
    lora_folder: Path,
    tiny_sd: Path,
    tmp_path: Path,
) -> None:
    style = trained_style(session, instance, owner, lora_folder, "diffusers-lora", str(tiny_sd))

    name = export_style(session, instance, owner, style.id, tmp_path / "export.zip")

    assert name == "night-posters-hallmark.zip"
    files = read_zip(tmp_path / "export.zip")
    assert set(files) == {
        "README.txt",
        "manifest.json",
        "OWNERSHIP.txt",
        "OWNERSHIP.txt.sig",
        "OWNERSHIP-certificate.pem",
        "diffusers/pytorch_lora_weights.safetensors",
        "kohya/night-posters.safetensors",
    }
    (tmp_path / "kohya.safetensors").write_bytes(files["kohya/night-posters.safetensors"])
    tensors, metadata = read_safetensors(tmp_path / "kohya.safetensors")
    assert lora_format(list(tensors)) == "kohya"
    assert (metadata["ss_network_dim"], metadata["ss_network_alpha"]) == ("4", "8.0")
    assert metadata["ss_base_model_version"] == "sd_v1"
    assert metadata["modelspec.author"] == "owner"
    manifest = json.loads(files["manifest.json"])
    [work] = style.training_works
    assert manifest["training_works"] == [
        {"artwork_id": str(work.artwork_id), "sha256": work.artwork_sha256, "owner": "owner"}
    ]
    assert manifest["trigger_words"] == ["hmstyle"]
    assert manifest["training_settings"]["alpha"] == 8
    assert "unet/diffusion_pytorch_model.safetensors" in manifest["base_model"]["files_sha256"]
    statement = files["OWNERSHIP.txt"].decode()
    assert '"Night Posters"' in statement and "belongs to @owner" in statement
    assert (
        "trained on 1 work, @owner's own" in statement and "R2:" in statement and "R3:" in statement
    )
    check = verify_export(instance, (tmp_path / "export.zip").read_bytes())
    assert check.valid and check.trusted, check.reason


def test_anyone_can_check_the_statement_with_openssl(
    session: Session, instance: Instance, owner: User, tmp_path: Path
) -> None:
    folder = studio_folder(tmp_path / "model")
    style = trained_style(session, instance, owner, folder, "studio", "")
    export_style(session, instance, owner, style.id, tmp_path / "export.zip")
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        archive.extractall(tmp_path / "out")
    out = tmp_path / "out"

    def openssl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", *args], cwd=out, capture_output=True, text=True, check=False
        )

    openssl("x509", "-in", "OWNERSHIP-certificate.pem", "-pubkey", "-noout", "-out", "signer.pub")
    verified = openssl(
        "dgst", "-sha256", "-verify", "signer.pub", "-signature", "OWNERSHIP.txt.sig",
        "OWNERSHIP.txt",
    )  # fmt: skip
    assert verified.returncode == 0 and "Verified OK" in verified.stdout
    (out / "OWNERSHIP.txt").write_text((out / "OWNERSHIP.txt").read_text() + "and @mallory\n")
    forged = openssl(
        "dgst", "-sha256", "-verify", "signer.pub", "-signature", "OWNERSHIP.txt.sig",
        "OWNERSHIP.txt",
    )  # fmt: skip
    assert forged.returncode != 0


def test_a_studio_export_names_its_base_by_hash_and_never_holds_the_works(
    session: Session, instance: Instance, owner: User, tmp_path: Path
) -> None:
    style = trained_style(session, instance, owner, studio_folder(tmp_path / "m"), "studio", "")

    export_style(session, instance, owner, style.id, tmp_path / "export.zip")

    files = read_zip(tmp_path / "export.zip")
    assert "studio/studio-lora.safetensors" in files
    assert not [name for name in files if name.endswith((".png", ".jpg", ".webp"))]
    assert png_bytes(1) not in b"".join(files.values())
    base = json.loads(files["manifest.json"])["base_model"]
    assert base["sha256"] == locate_base("").sha256 and "shipped with Hallmark" in base["needs"]
    assert "shipped with Hallmark" in files["README.txt"].decode()
    assert f"SHA-256 {base['sha256']}" in files["OWNERSHIP.txt"].decode()


def test_an_altered_file_or_statement_fails_the_check(
    session: Session, instance: Instance, owner: User, tmp_path: Path
) -> None:
    style = trained_style(session, instance, owner, studio_folder(tmp_path / "m"), "studio", "")
    export_style(session, instance, owner, style.id, tmp_path / "export.zip")
    files = read_zip(tmp_path / "export.zip")

    def rezipped(name: str, data: bytes) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for kept, original in files.items():
                archive.writestr(kept, data if kept == name else original)
        return buffer.getvalue()

    weights = rezipped("studio/studio-lora.safetensors", b"other weights")
    statement = rezipped("OWNERSHIP.txt", files["OWNERSHIP.txt"].replace(b"@owner", b"@mallory"))

    assert verify_export(instance, weights).reason == "studio/studio-lora.safetensors was altered"
    assert verify_export(instance, statement).reason == "the statement was altered after signing"


def test_only_the_owner_exports_and_only_a_trained_style(
    session: Session,
    instance: Instance,
    owner: User,
    stranger: User,
    tmp_path: Path,
) -> None:
    style = trained_style(session, instance, owner, studio_folder(tmp_path / "m"), "studio", "")
    target = tmp_path / "export.zip"

    with pytest.raises(NotFound):  # a private style does not exist for others (R5)
        export_style(session, instance, stranger, style.id, target)
    publish_style(session, owner, style.id, accept_platform_license=True)
    with pytest.raises(Forbidden) as refused:  # published: others generate, never take it (R2)
        export_style(session, instance, stranger, style.id, target)
    assert refused.value.rule == rights.Rule.R2
    set_style_status(session, style, StyleStatus.TRAINING)
    with pytest.raises(Conflict, match="Train the style"):
        export_style(session, instance, owner, style.id, target)


def test_the_api_streams_the_zip_to_its_owner_alone(
    client: TestClient, lora_folder: Path, tiny_sd: Path
) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    work = upload(client, ana, png_bytes(40)).json()["artwork"]["id"]
    style_id = client.post(
        "/api/styles",
        headers=ana,
        json={
            "name": "Inks",
            "artwork_ids": [work],
            "engine": "diffusers-lora",
            "base_model": str(tiny_sd),
        },
    ).json()["id"]
    instance = client.app.state.instance  # type: ignore[attr-defined]
    with transaction(client.app.state.session_factory) as session:  # type: ignore[attr-defined]
        record_training_outcome(
            session, uuid.UUID(style_id), StyleStatus.READY, store_model(instance, lora_folder)
        )

    mine = client.get(f"/api/styles/{style_id}/export", headers=ana)

    assert mine.status_code == 200, mine.text
    assert mine.headers["content-type"] == "application/zip"
    assert 'filename="inks-hallmark.zip"' in mine.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(mine.content)) as archive:
        assert "kohya/inks.safetensors" in archive.namelist()
    assert_error(client.get(f"/api/styles/{style_id}/export", headers=ben), 404, "not_found")
    assert_error(client.get(f"/api/styles/{style_id}/export"), 401, "not_authenticated")
    published = client.post(
        f"/api/styles/{style_id}/publish", headers=ana, json={"accept_platform_license": True}
    )
    assert published.status_code == 200
    refused = client.get(f"/api/styles/{style_id}/export", headers=ben)
    assert_error(refused, 403, "forbidden", "R2")

    # The style's page offers the download to its owner, through the session cookie.
    for headers, offered in ((ana, True), (ben, False)):
        client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))
        page = client.get(f"/create?style={style_id}")
        assert (f'href="/styles/{style_id}/export"' in page.text) is offered
        download = client.get(f"/styles/{style_id}/export")
        assert download.status_code == (200 if offered else 403)


def test_the_cli_exports_and_verifies(data_dir: Path, tmp_path: Path) -> None:
    with Instance.open(get_settings()) as instance, transaction(instance.sessions) as session:
        from hallmark.accounts.service import register_user

        ana = register_user(session, "ana", "correct horse battery")
        style = trained_style(session, instance, ana, studio_folder(tmp_path / "m"), "studio", "")
        style_id = str(style.id)
    runner = CliRunner()
    target = tmp_path / "inks.zip"

    exported = runner.invoke(app, ["styles", "export", style_id, "--as", "ana", "-o", str(target)])
    verified = runner.invoke(app, ["styles", "verify-export", str(target)])

    assert exported.exit_code == 0, exported.output
    assert verified.exit_code == 0, verified.output
    assert "belongs to @ana" in verified.output and "signed by this instance" in verified.output
    elsewhere = tmp_path / "x.zip"
    refused = runner.invoke(
        app, ["styles", "export", style_id, "--as", "nobody", "-o", str(elsewhere)]
    )
    assert refused.exit_code != 0 and not list(tmp_path.glob("*x.zip*"))
