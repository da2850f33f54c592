"""Verifying files over HTTP and from the terminal; stripped files found by their hash (R9)."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks.service import upload_artwork
from hallmark.cli import app
from hallmark.config import get_settings
from hallmark.db import transaction
from hallmark.generations import service as generations
from hallmark.instance import Instance
from hallmark.provenance.manifests import GenerationCredentials
from hallmark.provenance.service import sign_generated_image
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.styles.models import StyleModel
from tests.conftest import MakeStyle
from tests.helpers import png_bytes, png_with_one_pixel_changed, sign_up, upload


def reencoded(data: bytes, fmt: str = "JPEG") -> bytes:
    """The picture saved again, which drops its metadata and credentials."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format=fmt, quality=90)
    return buffer.getvalue()


def verify(client: TestClient, data: bytes, name: str = "file.png") -> dict[str, object]:
    response = client.post("/api/verify", files={"file": (name, data)})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_anyone_verifies_a_generated_image_and_sees_a_stripped_copy_traced_back(
    client: TestClient,
) -> None:
    ana = sign_up(client, "ana")
    sign_up(client, "ben")
    work = sample_works(SAMPLE_ARTISTS["cleo"], count=1, size=256)[0]
    artwork_id = upload(client, ana, work.png).json()["artwork"]["id"]
    style_id = client.post(
        "/api/styles", headers=ana, json={"name": "Dots", "artwork_ids": [artwork_id]}
    ).json()["id"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    instance = client.app.state.instance  # type: ignore[attr-defined]
    with transaction(factory) as session:
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert style is not None
        style.status = "ready"
        owner = UserRepository(session).get_by_username("ana")
        assert owner is not None
        made = sample_works(SAMPLE_ARTISTS["cleo"], count=1, size=256, seed=5)[0].png
        generation = generations.record_generation(
            session, instance, owner, style, prompt="dots at noon", seed=9, image=made
        )
        stored = instance.blobs.get(generation.sha256)

    report = verify(client, stored)
    assert report["verdict"] == "trusted" and report["ai_generated"] is True
    assert "owned by @ana" in str(report["summary"])

    assert verify(client, png_with_one_pixel_changed(stored))["verdict"] == "tampered"

    stripped = verify(client, reencoded(stored), "copy.jpg")
    assert stripped["verdict"] == "unsigned"
    assert stripped["registry_matches"] == [
        {
            "kind": "generation",
            "id": str(generation.id),
            "owner_username": "ana",
            "method": "pdq",
            "distance": stripped["registry_matches"][0]["distance"],  # type: ignore[index]
        }
    ]
    artwork_copy = verify(client, reencoded(work.png), "work.jpg")["registry_matches"]
    assert isinstance(artwork_copy, list)
    assert [match["kind"] for match in artwork_copy] == ["artwork"]


def test_verify_refuses_a_file_that_is_not_an_image(client: TestClient) -> None:
    response = client.post("/api/verify", files={"file": ("notes.txt", b"hello" * 50)})

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_an_upload_whose_credentials_refuse_training_is_opted_out_r2(
    instance: Instance, session: Session, owner: User
) -> None:
    facts = GenerationCredentials(
        "g", "m", "Model", "studio", "", "o", "someone", "R3", "someone", None, 1, "", "notAllowed"
    )
    signed = sign_generated_image(
        instance.signing_identity, png_bytes(5, size=(80, 80)), "image/png", facts
    )

    result = upload_artwork(session, instance, owner, signed, rights_attested=True)

    assert result.artwork is not None and result.artwork.training_opt_out is True
    plain = upload_artwork(
        session, instance, owner, png_bytes(6, size=(80, 80)), rights_attested=True
    )
    assert plain.artwork is not None and plain.artwork.training_opt_out is False


def test_the_cli_says_in_plain_words_and_in_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_style: MakeStyle
) -> None:
    monkeypatch.setenv("HALLMARK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        instance = Instance.from_settings(get_settings())
        facts = GenerationCredentials(
            "g-1", "m", "Posters", "studio", "", "o", "ana", "R3", "ana", "a kite", 3, "", "allowed"
        )
        signed = sign_generated_image(instance.signing_identity, png_bytes(8), "image/png", facts)
        path = tmp_path / "image.png"
        path.write_bytes(signed)
        broken = tmp_path / "broken.png"
        broken.write_bytes(png_with_one_pixel_changed(signed))
        runner = CliRunner()

        words = runner.invoke(app, ["verify", str(path)])
        as_json = runner.invoke(app, ["verify", str(path), "--json"])
        tampered = runner.invoke(app, ["verify", str(broken)])
    finally:
        get_settings.cache_clear()

    assert words.exit_code == 0, words.output
    assert "signed by a certificate this studio trusts" in words.output
    assert json.loads(as_json.output)["facts"]["generation"]["owner"]["username"] == "ana"
    assert tampered.exit_code == 1 and "BROKEN" in tampered.output


def test_the_owners_choices_travel_in_every_images_credentials(
    session: Session, instance: Instance, owner: User
) -> None:
    from hallmark.generations.service import record_generation
    from hallmark.provenance.service import read_credentials
    from hallmark.styles.models import StyleStatus
    from hallmark.styles.service import create_style, set_style_status

    work = upload_artwork(session, instance, owner, png_bytes(21), rights_attested=True)
    assert work.artwork is not None
    styles = {
        choice: set_style_status(
            session,
            create_style(
                session,
                owner,
                f"s-{choice}",
                [work.artwork.id],
                hide_prompts=choice,
                allow_ai_training=choice,
            ),
            StyleStatus.READY,
        )
        for choice in (False, True)
    }

    facts = {}
    for choice, style in styles.items():
        made = record_generation(
            session, instance, owner, style, prompt="a secret kite", seed=1, image=png_bytes(22)
        )
        report = read_credentials(
            instance.signing_identity, instance.blobs.get(made.sha256), "image/png"
        )
        facts[choice] = (report.facts["generation"].get("prompt"), report.training_mining)

    assert facts[False][0] == "a secret kite"
    assert facts[False][1]["cawg.ai_training"] == "notAllowed"
    assert facts[True][0] is None
    assert facts[True][1]["cawg.ai_training"] == "allowed"
