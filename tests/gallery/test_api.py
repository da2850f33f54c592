"""The gallery over HTTP: a listed image's preview is watermarked for everyone, while the file a
licensee downloads is the stored image byte for byte; the usage register as JSON and CSV."""

from __future__ import annotations

import csv
import io
import uuid

from fastapi.testclient import TestClient
from PIL import Image, ImageChops, ImageStat

from hallmark.accounts.repository import UserRepository
from hallmark.db import transaction
from hallmark.generations import service as generations
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.styles.models import StyleModel, StyleStatus
from tests.helpers import assert_error, png_bytes, sign_up, upload


def published_style_with_an_image(client: TestClient) -> tuple[dict[str, dict[str, str]], str, str]:
    """ana's public style "Herons" and an image ben made with it (ana's, R4): headers and ids."""
    headers = {name: sign_up(client, name) for name in ("ana", "ben", "cleo")}
    art = upload(client, headers["ana"], png_bytes(5)).json()["artwork"]["id"]
    style_id = client.post(
        "/api/styles",
        headers=headers["ana"],
        json={
            "name": "Herons",
            "description": "wading birds in ink",
            "artwork_ids": [art],
            "engine": "diffusers-lora",
            "base_model": "/nonexistent/base",
        },
    ).json()["id"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    instance = client.app.state.instance  # type: ignore[attr-defined]
    with transaction(factory) as session:
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert style is not None
        style.status = StyleStatus.READY.value
    client.post(
        f"/api/styles/{style_id}/publish",
        headers=headers["ana"],
        json={"accept_platform_license": True},
    ).raise_for_status()
    picture = sample_works(SAMPLE_ARTISTS["ana"], count=1, size=256)[0].png
    with transaction(factory) as session:
        ben = UserRepository(session).get_by_username("ben")
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert ben is not None and style is not None
        image = generations.record_generation(
            session, instance, ben, style, prompt="a heron", seed=1, image=picture
        )
    return headers, style_id, str(image.id)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """The mean absolute difference of two pictures' pixels, 0-255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_a_listed_image_is_watermarked_for_all_and_clean_only_under_a_license(
    client: TestClient,
) -> None:
    headers, style_id, image_id = published_style_with_an_image(client)
    ana, ben, cleo = headers["ana"], headers["ben"], headers["cleo"]
    assert client.get(f"/api/generations/{image_id}/preview").status_code == 404  # not shown yet

    listed = client.put(f"/api/generations/{image_id}/listing", headers=ana)
    found = client.get("/api/gallery", params={"q": "INK"}).json()
    preview = client.get(f"/api/generations/{image_id}/preview")

    assert listed.status_code == 200, listed.text
    assert [item["generation_id"] for item in found["items"]] == [image_id]
    assert found["items"][0]["owner_username"] == "ana"
    assert client.get("/api/gallery", params={"q": "kites"}).json()["total"] == 0
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/jpeg"
    clean = client.get(f"/api/generations/{image_id}/file", headers=ana).content
    shown = Image.open(io.BytesIO(preview.content)).convert("RGB")
    original = Image.open(io.BytesIO(clean)).convert("RGB").resize(shown.size)
    assert mean_difference(shown, original) > 8  # the notice is drawn across the picture
    assert_error(
        client.get(f"/api/generations/{image_id}/file", headers=ben), 403, "forbidden", "R4"
    )

    offer = client.post(
        "/api/offers",
        headers=ana,
        json={"template": "standard", "price_minor": 900, "style_id": style_id},
    ).json()
    bought = client.post(
        f"/api/generations/{image_id}/licenses",
        headers={**cleo, "Idempotency-Key": "gallery"},
        json={"offer_id": offer["id"]},
    )
    download = client.get(f"/api/generations/{image_id}/file", headers=cleo)

    assert bought.status_code == 201, bought.text
    assert download.status_code == 200
    assert download.content == clean  # the stored file, byte for byte: no watermark
    assert client.get(f"/api/generations/{image_id}/preview", headers=cleo).content == (
        preview.content
    )

    client.delete(f"/api/generations/{image_id}/listing", headers=ana).raise_for_status()
    assert client.get(f"/api/generations/{image_id}/preview").status_code == 404
    assert client.get("/api/gallery").json()["total"] == 0


def test_previews_on_a_models_card_and_the_usage_register_as_csv(client: TestClient) -> None:
    headers, style_id, image_id = published_style_with_an_image(client)
    ana, ben = headers["ana"], headers["ben"]

    chosen = client.put(
        f"/api/styles/{style_id}/previews", headers=ana, json={"generation_ids": [image_id]}
    )
    too_many = client.put(
        f"/api/styles/{style_id}/previews",
        headers=ana,
        json={"generation_ids": [str(uuid.uuid4()) for _ in range(7)]},
    )
    cards = client.get("/api/gallery/styles", params={"q": "heron"}).json()
    register = client.get(f"/api/styles/{style_id}/usage", headers=ana).json()
    exported = client.get(f"/api/styles/{style_id}/usage.csv", headers=ana)

    assert chosen.status_code == 200, chosen.text
    assert too_many.status_code == 422
    assert [p["generation_id"] for p in cards["items"][0]["previews"]] == [image_id]
    assert client.get(cards["items"][0]["previews"][0]["preview_url"]).status_code == 200
    assert register["total"] == 1
    assert register["items"][0]["maker_username"] == "ben"
    assert register["items"][0]["prompt"] == "a heron"
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="usage-herons.csv"'
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:4] == ["image_id", "made_at", "maker", "prompt"]
    assert rows[1][0] == image_id
    assert_error(
        client.get(f"/api/styles/{style_id}/usage.csv", headers=ben), 403, "forbidden", "R3"
    )
    limit = client.get(f"/api/styles/{style_id}/usage.csv?limit=10001", headers=ana)
    assert limit.status_code == 422
