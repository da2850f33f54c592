"""An artist brings a LoRA trained elsewhere from the train page: attested, it is a private style
of theirs (R2); unattested or not a LoRA, nothing is stored and the page says why."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hallmark.styles.models import StyleModel
from tests.web.test_pages import csrf_of, sign_up


def styles_stored(client: TestClient) -> int:
    """How many styles the instance holds."""
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(StyleModel)) or 0)


def test_an_attested_lora_becomes_a_private_style_of_the_importers(
    client: TestClient, lora_folder: Path, tiny_sd: Path
) -> None:
    sign_up(client, "ana")
    page = client.get("/styles/new")
    lora = (lora_folder / "pytorch_lora_weights.safetensors").read_bytes()
    form = {"name": "Brought along", "base_model": str(tiny_sd), "csrf_token": csrf_of(client, "/")}
    files = {"file": ("mine.safetensors", lora)}

    unattested = client.post("/styles/import", data=form, files=files, follow_redirects=False)
    not_a_lora = client.post(
        "/styles/import",
        data={**form, "attest": "true"},
        files={"file": ("mine.safetensors", b"not tensors")},
        follow_redirects=False,
    )
    stored_before = styles_stored(client)
    imported = client.post(
        "/styles/import", data={**form, "attest": "true"}, files=files, follow_redirects=False
    )

    assert 'action="/styles/import"' in page.text and 'name="attest"' in page.text
    assert unattested.status_code == 422 and "(R2)" in html.unescape(unattested.text)
    assert not_a_lora.status_code == 422 and 'role="alert"' in not_a_lora.text
    assert stored_before == 0
    assert imported.status_code == 303, imported.text
    style_id = imported.headers["location"].split("style=")[1]
    read = client.get(f"/api/styles/{style_id}", headers={}).status_code
    assert read == 404  # private: nobody else learns it exists
    shown = client.get(f"/create?style={style_id}")
    assert shown.status_code == 200 and "Brought along" in shown.text


def test_an_import_without_a_session_is_refused_before_its_body_is_read(
    client: TestClient,
) -> None:
    refused = client.post(
        "/styles/import",
        data={"name": "x", "base_model": "y", "attest": "true"},
        files={"file": ("big.safetensors", b"0" * 4096)},
        follow_redirects=False,
    )

    assert refused.status_code == 401
    assert styles_stored(client) == 0
