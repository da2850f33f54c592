"""The gallery's pages: browse and license a listed image, the owner's choices on the model's
page (CSRF-checked), and the usage register for the owner only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.gallery.test_api import published_style_with_an_image
from tests.helpers import PASSWORD
from tests.web.test_pages import csrf_of


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the session cookie."""
    client.cookies.clear()
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(client, "/login")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_the_owner_lists_from_the_models_page_and_anyone_browses_and_licenses_it(
    client: TestClient,
) -> None:
    headers, style_id, image_id = published_style_with_an_image(client)
    log_in(client, "ana")
    model_page = client.get(f"/create?style={style_id}")
    assert f'value="{image_id}"' in model_page.text
    forged = client.post(
        f"/styles/{style_id}/gallery", data={"listed": image_id, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert client.get("/api/gallery").json()["total"] == 0  # a forged form changes nothing

    chosen = client.post(
        f"/styles/{style_id}/gallery",
        data={
            "preview": image_id,
            "listed": image_id,
            "csrf_token": csrf_of(client, f"/create?style={style_id}"),
        },
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    client.cookies.clear()
    assert f"/api/generations/{image_id}/preview" in client.get("/").text  # on the model's card
    gallery = client.get("/gallery", params={"q": "heron"})
    assert f"/gallery/images/{image_id}" in gallery.text
    assert "Log in</a> to license" in client.get(f"/gallery/images/{image_id}").text

    client.post(
        "/api/offers",
        headers=headers["ana"],
        json={"template": "standard", "price_minor": 900, "style_id": style_id},
    ).raise_for_status()
    log_in(client, "cleo")
    page = client.get(f"/gallery/images/{image_id}")
    assert "Buy" in page.text and "watermarked preview" in page.text
    offer_id = page.text.split('name="offer_id" value="')[1].split('"')[0]
    bought = client.post(
        f"/gallery/images/{image_id}/buy",
        data={
            "offer_id": offer_id,
            "purchase_key": "page",
            "csrf_token": csrf_of(client, f"/gallery/images/{image_id}"),
        },
        follow_redirects=False,
    )
    assert bought.headers["location"] == f"/images/{image_id}/page"
    assert "Download the image" in client.get(bought.headers["location"]).text


def test_the_usage_register_page_is_the_owners_alone(client: TestClient) -> None:
    _headers, style_id, image_id = published_style_with_an_image(client)
    assert client.get(f"/styles/{style_id}/usage", follow_redirects=False).status_code == 303
    log_in(client, "cleo")
    assert client.get(f"/styles/{style_id}/usage").status_code == 403
    assert client.get(f"/gallery/images/{image_id}").status_code == 404  # not listed

    log_in(client, "ana")
    register = client.get(f"/styles/{style_id}/usage")

    assert register.status_code == 200
    assert "@ben" in register.text and "a heron" in register.text
    assert f"/styles/{style_id}/usage" in client.get(f"/create?style={style_id}").text
    exported = client.get(f"/styles/{style_id}/usage.csv")
    assert exported.text.splitlines()[1].startswith(f"{image_id},")
    log_in(client, "cleo")
    assert client.get(f"/styles/{style_id}/usage.csv").status_code == 403
