"""Whose the images will be, said before generating: the style read and the generate call (R4)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hallmark.db import transaction
from hallmark.jobs.models import Job
from hallmark.styles.models import StyleModel, StyleStatus
from tests.helpers import assert_error, png_bytes, sign_up, upload


def published_style(client: TestClient, owner: dict[str, str]) -> Any:
    """The owner's trained, published style with a platform-sold Personal offer on its images."""
    work = upload(client, owner, png_bytes(70)).json()["artwork"]["id"]
    style_id = client.post(
        "/api/styles", headers=owner, json={"name": "Harbours", "artwork_ids": [work]}
    ).json()["id"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert style is not None
        style.status = StyleStatus.READY.value
    published = client.post(
        f"/api/styles/{style_id}/publish", headers=owner, json={"accept_platform_license": True}
    )
    assert published.status_code == 200, published.text
    offer = client.post(
        "/api/offers",
        headers=owner,
        json={"template": "personal", "price_minor": 1505, "style_id": style_id},
    )
    assert offer.status_code == 201, offer.text
    return style_id


def jobs_of(client: TestClient, headers: dict[str, str]) -> int:
    """How many jobs the user with these headers has queued."""
    user_id = uuid.UUID(client.get("/api/users/me", headers=headers).json()["id"])
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        query = select(func.count()).select_from(Job).where(Job.requester_id == user_id)
        return int(session.scalar(query) or 0)


def test_the_style_read_tells_everyone_but_the_owner_whose_the_images_are(
    client: TestClient,
) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    style_id = published_style(client, ana)

    assert client.get(f"/api/styles/{style_id}", headers=ana).json()["ownership_notice"] is None
    notice = client.get(f"/api/styles/{style_id}", headers=ben).json()["ownership_notice"]
    assert (notice["rule"], notice["owner_username"]) == ("R4", "ana")
    assert notice["owner_id"] == client.get("/api/users/me", headers=ana).json()["id"]
    assert "Every image you make with it belongs to @ana (R4)" in notice["statement"]
    assert (
        "license it from @ana: Personal (personal) at 15.05 EUR an image."
        in notice["license_needed"]
    )
    assert notice["text"] == f"{notice['statement']} {notice['license_needed']}"
    assert notice["offers"] == [
        {
            "name": "Personal",
            "purposes": ["personal"],
            "price_minor": 1505,
            "currency": "EUR",
            "exclusive": False,
        }
    ]
    assert notice["acknowledgement_required"] is True
    anonymous = client.get(f"/api/styles/{style_id}").json()["ownership_notice"]
    assert anonymous["owner_username"] == "ana" and anonymous["acknowledgement_required"]


def test_generating_with_someone_elses_model_is_acknowledged_once(client: TestClient) -> None:
    ana, ben, cleo = sign_up(client, "ana"), sign_up(client, "ben"), sign_up(client, "cleo")
    style_id = published_style(client, ana)
    generate = f"/api/styles/{style_id}/generate"

    own = client.post(generate, headers=ana, json={"prompt": "a quay"})
    assert own.status_code == 202, own.text
    assert own.json()["ownership_notice"] is None  # the owner is never asked

    unacknowledged = client.post(generate, headers=ben, json={"prompt": "a quay"})
    assert_error(unacknowledged, 428, "acknowledgement_required", rule="R4")
    message = unacknowledged.json()["error"]["message"]
    assert "belongs to @ana" in message and '"acknowledge_ownership": true' in message
    assert jobs_of(client, ben) == 0  # nothing queued, nothing recorded

    ask = {"prompt": "a quay", "acknowledge_ownership": True}
    acknowledged = client.post(generate, headers=ben, json=ask)
    assert acknowledged.status_code == 202, acknowledged.text
    notice = acknowledged.json()["ownership_notice"]
    assert notice["owner_username"] == "ana" and notice["rule"] == "R4"
    assert notice["acknowledgement_required"] is False
    assert "acknowledge_ownership" not in acknowledged.json()["result"]

    again = client.post(generate, headers=ben, json={"prompt": "a quay at night"})
    assert again.status_code == 202, again.text  # not asked again for this model
    assert again.json()["ownership_notice"]["owner_username"] == "ana"
    read = client.get(f"/api/styles/{style_id}", headers=ben).json()
    assert read["ownership_notice"]["acknowledgement_required"] is False
    assert jobs_of(client, ben) == 2

    # Each person acknowledges for themselves.
    assert_error(
        client.post(generate, headers=cleo, json={"prompt": "x"}),
        428,
        "acknowledgement_required",
        rule="R4",
    )


def test_an_unpublished_or_private_model_refuses_before_any_acknowledgement(
    client: TestClient,
) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    style_id = published_style(client, ana)
    client.post(f"/api/styles/{style_id}/unpublish", headers=ana)
    hidden = client.post(
        f"/api/styles/{style_id}/generate",
        headers=ben,
        json={"prompt": "x", "acknowledge_ownership": True},
    )
    assert_error(hidden, 404, "not_found")  # a private model does not exist for others (R5)
    assert client.get(f"/api/styles/{style_id}", headers=ben).status_code == 404


def test_the_public_list_carries_each_models_notice_as_the_single_read_does(
    client: TestClient,
) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    style_id = published_style(client, ana)
    single = client.get(f"/api/styles/{style_id}", headers=ben).json()["ownership_notice"]

    def listed(headers: dict[str, str]) -> Any:
        items = client.get("/api/styles/public", headers=headers).json()["items"]
        return next(item for item in items if item["id"] == style_id)["ownership_notice"]

    assert listed(ana) is None
    assert listed(ben) == single
    assert listed({})["owner_username"] == "ana"
    acknowledged = client.post(
        f"/api/styles/{style_id}/generate",
        headers=ben,
        json={"prompt": "a harbour", "acknowledge_ownership": True},
    )
    assert acknowledged.status_code == 202, acknowledged.text
    assert listed(ben)["acknowledgement_required"] is False
