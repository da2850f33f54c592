"""The create page tells whose the images will be and asks once for the acknowledgement (R4)."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient

from hallmark.accounts.service import register_user
from hallmark.artworks.service import upload_artwork
from hallmark.db import transaction
from hallmark.styles.models import StyleStatus
from hallmark.styles.service import create_style, publish_style, set_style_status
from tests.helpers import png_bytes
from tests.web.test_pages import PASSWORD, csrf_of, sign_up

CHECKBOX = 'name="acknowledge_ownership"'


def kims_public_style(client: TestClient) -> str:
    """kim's trained, published style, as its id."""
    app_state = client.app.state  # type: ignore[attr-defined]
    with transaction(app_state.session_factory) as session:
        kim = register_user(session, "kim", PASSWORD, "Kim")
        upload = upload_artwork(
            session, app_state.instance, kim, png_bytes(41), rights_attested=True
        )
        assert upload.artwork is not None
        style = create_style(session, kim, "Dunes", [upload.artwork.id])
        set_style_status(session, style, StyleStatus.READY)
        publish_style(session, kim, style.id, accept_platform_license=True)
        return str(style.id)


def test_the_create_page_asks_once_and_the_form_refuses_without_it(client: TestClient) -> None:
    style_id = kims_public_style(client)
    sign_up(client, "lou")
    page = client.get(f"/create?style={style_id}")
    text = html.unescape(" ".join(page.text.split()))
    assert "This is @kim's model. Every image you make with it belongs to @kim (R4)" in text
    assert "ask them for one" in text  # no license offered yet
    assert CHECKBOX in page.text

    ask = {"style_id": style_id, "prompt": "a dune", "csrf_token": csrf_of(client, "/")}
    refused = client.post("/create", data=ask, follow_redirects=False)
    assert refused.status_code == 428
    assert "acknowledge" in refused.text and 'role="alert"' in refused.text
    assert CHECKBOX in refused.text  # asked again, nothing queued

    queued = client.post(
        "/create", data={**ask, "acknowledge_ownership": "true"}, follow_redirects=False
    )
    assert queued.status_code == 303 and queued.headers["location"].startswith("/jobs/")
    again = client.get(f"/create?style={style_id}")
    assert "belongs to @kim (R4)" in again.text and CHECKBOX not in again.text
    second = client.post("/create", data=ask, follow_redirects=False)
    assert second.status_code == 303  # not asked again for this model


def test_the_owner_is_neither_told_nor_asked(client: TestClient) -> None:
    style_id = kims_public_style(client)
    login = client.post(
        "/login",
        data={"username": "kim", "password": PASSWORD, "csrf_token": csrf_of(client, "/login")},
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    page = client.get(f"/create?style={style_id}")
    assert "belongs to @kim" not in page.text and CHECKBOX not in page.text
