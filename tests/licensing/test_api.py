"""Licensing over HTTP: offer, buy with an idempotency key, download, certificate, earnings."""

from __future__ import annotations

import copy
import uuid

from fastapi.testclient import TestClient

from hallmark.accounts.repository import UserRepository
from hallmark.db import transaction
from hallmark.generations import service as generations
from hallmark.styles.models import StyleModel, StyleStatus
from tests.helpers import assert_error, png_bytes, sign_up, upload


def published_image(client: TestClient, owner: dict[str, str]) -> tuple[str, str]:
    """The owner's published style and an image ben made with it: (style id, image id)."""
    ids = [upload(client, owner, png_bytes(60 + i)).json()["artwork"]["id"] for i in range(2)]
    style_id = client.post(
        "/api/styles", headers=owner, json={"name": "Posters", "artwork_ids": ids}
    ).json()["id"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    instance = client.app.state.instance  # type: ignore[attr-defined]
    with transaction(factory) as session:
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert style is not None
        style.status = StyleStatus.READY.value
    client.post(
        f"/api/styles/{style_id}/publish", headers=owner, json={"accept_platform_license": True}
    )
    with transaction(factory) as session:
        maker = UserRepository(session).get_by_username("ben")
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert maker is not None and style is not None
        image = generations.record_generation(
            session, instance, maker, style, prompt="a boat", seed=3, image=png_bytes(98)
        )
        return style_id, str(image.id)


def test_buying_a_license_end_to_end(client: TestClient) -> None:
    ana, ben, cleo = sign_up(client, "ana"), sign_up(client, "ben"), sign_up(client, "cleo")
    style_id, image_id = published_image(client, ana)

    offer = client.post(
        "/api/offers",
        headers=ana,
        json={"template": "standard", "price_minor": 2500, "style_id": style_id},
    )
    assert offer.status_code == 201, offer.text
    assert_error(
        client.post(
            "/api/offers",
            headers=ben,
            json={"template": "standard", "price_minor": 1, "style_id": style_id},
        ),
        403,
        "forbidden",
        rule="R6",
    )
    open_offers = client.get(f"/api/generations/{image_id}/offers", headers=ben).json()
    assert [(o["offer"]["id"], o["sold_by"]) for o in open_offers] == [
        (offer.json()["id"], "platform")
    ]

    purchase = {"offer_id": offer.json()["id"]}
    missing_key = client.post(f"/api/generations/{image_id}/licenses", headers=ben, json=purchase)
    assert missing_key.status_code == 422
    bought = client.post(
        f"/api/generations/{image_id}/licenses",
        headers={**ben, "Idempotency-Key": "order-1"},
        json=purchase,
    )
    assert bought.status_code == 201, bought.text
    retried = client.post(
        f"/api/generations/{image_id}/licenses",
        headers={**ben, "Idempotency-Key": "order-1"},
        json=purchase,
    )
    assert retried.json()["id"] == bought.json()["id"]
    license_id = bought.json()["id"]

    assert client.get(f"/api/generations/{image_id}/file", headers=ben).status_code == 200
    assert [lic["id"] for lic in client.get("/api/licenses", headers=ben).json()] == [license_id]
    assert_error(client.get(f"/api/licenses/{license_id}", headers=cleo), 404, "not_found")

    certificate = client.get(f"/api/licenses/{license_id}/certificate", headers=ben).json()
    assert certificate["certificate"]["licensee"]["username"] == "ben"
    assert certificate["certificate"]["owner"]["username"] == "ana"
    check = client.post("/api/licenses/verify", json=certificate).json()
    assert (check["valid"], check["trusted"]) == (True, True)
    forged = copy.deepcopy(certificate)
    forged["certificate"]["terms"]["purposes"].append("merchandise")
    check = client.post("/api/licenses/verify", json=forged).json()
    assert check["valid"] is False and "altered" in check["reason"]
    page = client.get(f"/api/licenses/{license_id}/certificate?format=html", headers=ana)
    assert page.status_code == 200 and "License certificate" in page.text

    earnings = client.get("/api/earnings", headers=ana).json()
    assert earnings["rows"][0]["gross_minor"] == 2500
    assert earnings["rows"][0]["net_minor"] == 2000  # the platform keeps 20% (R7)
    assert earnings["balances"] == [{"currency": "EUR", "due_minor": 2000, "paid_minor": 0}]
