"""Who may do what, as one table: every endpoint, every kind of actor, the expected status.

SPEC section 5. A new endpoint without a row here fails `test_every_endpoint_has_a_row`.
Each case runs against a fresh world:
- ana owns two works, a public ready style S, a private ready style R and a private draft P;
- ben made image G with S (so G is ana's, R4) and bought a license L on it;
- ana offers licenses on all of S's images (O) and on G alone (O2), and has training job J on P;
- cleo is a signed-in stranger; "anonymous" sends no token.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hallmark.accounts.repository import UserRepository
from hallmark.db import transaction
from hallmark.generations import service as generations
from hallmark.styles.models import StyleModel, StyleStatus
from tests.helpers import PASSWORD, png_bytes, sign_up, upload

ACTORS = ("anonymous", "ana", "ben", "cleo")


@dataclass
class World:
    """Ids of everything the table refers to, and each actor's headers."""

    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


def build_world(client: TestClient) -> World:
    headers = {name: sign_up(client, name) for name in ("ana", "ben", "cleo")}
    headers["anonymous"] = {}
    ana = headers["ana"]
    ids: dict[str, str] = {}
    ids["art1"] = upload(client, ana, png_bytes(101)).json()["artwork"]["id"]
    ids["art2"] = upload(client, ana, png_bytes(102)).json()["artwork"]["id"]
    for key, name in (("S", "Shown"), ("R", "Ready"), ("P", "Planned")):
        ids[key] = client.post(
            "/api/styles",
            headers=ana,
            json={
                "name": name,
                "artwork_ids": [ids["art1"]],
                "engine": "diffusers-lora",
                "base_model": "/nonexistent/base",
            },
        ).json()["id"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    instance = client.app.state.instance  # type: ignore[attr-defined]
    with transaction(factory) as session:
        for key in ("S", "R"):
            style = session.get(StyleModel, uuid.UUID(ids[key]))
            assert style is not None
            style.status = StyleStatus.READY.value
    client.post(
        f"/api/styles/{ids['S']}/publish", headers=ana, json={"accept_platform_license": True}
    )
    with transaction(factory) as session:
        ben = UserRepository(session).get_by_username("ben")
        style = session.get(StyleModel, uuid.UUID(ids["S"]))
        assert ben is not None and style is not None
        ids["G"] = str(
            generations.record_generation(
                session, instance, ben, style, prompt="a kite", seed=1, image=png_bytes(103)
            ).id
        )
    ids["O"] = client.post(
        "/api/offers",
        headers=ana,
        json={"template": "standard", "price_minor": 500, "style_id": ids["S"]},
    ).json()["id"]
    ids["O2"] = client.post(
        "/api/offers",
        headers=ana,
        json={"template": "personal", "price_minor": 100, "generation_id": ids["G"]},
    ).json()["id"]
    ids["L"] = client.post(
        f"/api/generations/{ids['G']}/licenses",
        headers={**headers["ben"], "Idempotency-Key": "world"},
        json={"offer_id": ids["O"]},
    ).json()["id"]
    ids["J"] = client.post(f"/api/styles/{ids['P']}/train", headers=ana, json={"steps": 5}).json()[
        "id"
    ]
    ids["ana_token"] = client.post(
        "/api/tokens", json={"username": "ana", "password": PASSWORD}
    ).json()["id"]
    return World(headers, ids)


Call = Callable[[TestClient, World, dict[str, str]], Any]


@dataclass(frozen=True)
class Row:
    """One endpoint: how to call it, and the status each actor must get."""

    method: str
    path: str
    call: Call
    expect: tuple[int, int, int, int]  # anonymous, ana (owner), ben (maker/licensee), cleo


def json_call(method: str, path: str, body: Callable[[World], Any] | None = None) -> Call:
    def call(client: TestClient, world: World, headers: dict[str, str]) -> Any:
        url = path.format(**world.ids)
        payload = body(world) if body else None
        return client.request(method, url, headers=headers, json=payload)

    return call


def upload_call(path: str) -> Call:
    # Seeds 110-209 paint colours unlike each other's and the world's works (101, 102): seeds
    # that agree modulo 256 paint the same colour, and such an upload is not a new work but a
    # duplicate (the uploader's own) or a near-copy (someone else's).
    seeds = itertools.count()

    def call(client: TestClient, world: World, headers: dict[str, str]) -> Any:
        image = png_bytes(110 + next(seeds) % 100)
        field = "files" if path.endswith("batch") else "file"
        files = [(field, ("a.png", image))]
        return client.post(path, headers=headers, files=files, data={"attest_rights": "true"})

    return call


def verify_call(client: TestClient, world: World, headers: dict[str, str]) -> Any:
    return client.post("/api/verify", headers=headers, files={"file": ("x.png", png_bytes(7))})


def import_call(client: TestClient, world: World, headers: dict[str, str]) -> Any:
    # Past the sign-in every account may import; this file is no LoRA, which says so.
    return client.post(
        "/api/styles/import",
        headers=headers,
        files={"file": ("x.safetensors", b"not a tensor file")},
        data={
            "name": "Elsewhere",
            "base_model": "/nonexistent/base",
            "attest_trained_on_own_works": "true",
        },
    )


def purchase_call(client: TestClient, world: World, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/generations/{world.ids['G']}/licenses",
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"offer_id": world.ids["O"]},
    )


ROWS = [
    Row(
        "POST",
        "/api/users",
        json_call(
            "POST",
            "/api/users",
            lambda w: {"username": f"u{uuid.uuid4().hex[:8]}", "password": PASSWORD},
        ),
        (201, 201, 201, 201),
    ),
    Row(
        "POST",
        "/api/tokens",
        json_call("POST", "/api/tokens", lambda w: {"username": "ana", "password": PASSWORD}),
        (201, 201, 201, 201),
    ),
    Row(
        "DELETE",
        "/api/tokens/{token_id}",
        json_call("DELETE", "/api/tokens/{ana_token}"),
        (401, 204, 404, 404),
    ),
    Row("GET", "/api/users/me", json_call("GET", "/api/users/me"), (401, 200, 200, 200)),
    Row("GET", "/api/health", json_call("GET", "/api/health"), (200, 200, 200, 200)),
    Row("POST", "/api/artworks", upload_call("/api/artworks"), (401, 201, 201, 201)),
    Row("POST", "/api/artworks/batch", upload_call("/api/artworks/batch"), (401, 200, 200, 200)),
    Row("GET", "/api/artworks", json_call("GET", "/api/artworks"), (401, 200, 200, 200)),
    Row(
        "GET",
        "/api/artworks/{artwork_id}",
        json_call("GET", "/api/artworks/{art1}"),
        (401, 200, 404, 404),
    ),
    Row(
        "PATCH",
        "/api/artworks/{artwork_id}",
        json_call("PATCH", "/api/artworks/{art2}", lambda w: {"caption": "x"}),
        (401, 200, 404, 404),
    ),
    Row(
        "DELETE",
        "/api/artworks/{artwork_id}",
        json_call("DELETE", "/api/artworks/{art2}"),
        (401, 204, 404, 404),
    ),
    Row(
        "GET",
        "/api/artworks/{artwork_id}/file",
        json_call("GET", "/api/artworks/{art1}/file"),
        (401, 200, 404, 404),
    ),
    Row(
        "POST",
        "/api/styles",
        json_call("POST", "/api/styles", lambda w: {"name": "New", "artwork_ids": [w.ids["art1"]]}),
        (401, 201, 403, 403),
    ),
    Row("GET", "/api/styles", json_call("GET", "/api/styles"), (401, 200, 200, 200)),
    Row("GET", "/api/styles/public", json_call("GET", "/api/styles/public"), (200, 200, 200, 200)),
    Row("GET", "/api/styles/{style_id}", json_call("GET", "/api/styles/{R}"), (404, 200, 404, 404)),
    Row(
        "POST",
        "/api/styles/{style_id}/publish",
        json_call("POST", "/api/styles/{R}/publish", lambda w: {"accept_platform_license": True}),
        (401, 200, 404, 404),
    ),
    Row(
        "POST",
        "/api/styles/{style_id}/unpublish",
        json_call("POST", "/api/styles/{S}/unpublish"),
        (401, 200, 403, 403),
    ),
    Row(
        "POST",
        "/api/styles/{style_id}/train",
        json_call("POST", "/api/styles/{P}/train", lambda w: {"steps": 5}),
        (401, 202, 404, 404),
    ),
    Row(
        "POST",
        "/api/styles/{style_id}/generate",
        json_call("POST", "/api/styles/{R}/generate", lambda w: {"prompt": "x"}),
        (401, 202, 404, 404),
    ),
    Row("POST", "/api/styles/import", import_call, (401, 422, 422, 422)),
    # The world's styles have no weights: past the rules, the owner's export is a 409.
    Row(
        "GET",
        "/api/styles/{style_id}/export",
        json_call("GET", "/api/styles/{R}/export"),
        (401, 409, 404, 404),
    ),
    Row(
        "GET",
        "/api/styles/{style_id}/export",
        json_call("GET", "/api/styles/{S}/export"),
        (401, 409, 403, 403),
    ),
    Row("GET", "/api/generations", json_call("GET", "/api/generations"), (401, 200, 200, 200)),
    Row(
        "GET",
        "/api/generations/{generation_id}",
        json_call("GET", "/api/generations/{G}"),
        (401, 200, 200, 404),
    ),
    Row(
        "GET",
        "/api/generations/{generation_id}/file",
        json_call("GET", "/api/generations/{G}/file"),
        (401, 200, 200, 404),
    ),
    Row(
        "GET",
        "/api/generations/{generation_id}/offers",
        json_call("GET", "/api/generations/{G}/offers"),
        (401, 200, 200, 200),
    ),
    Row("POST", "/api/generations/{generation_id}/licenses", purchase_call, (401, 403, 201, 201)),
    Row(
        "GET",
        "/api/generations/{generation_id}/licenses",
        json_call("GET", "/api/generations/{G}/licenses"),
        (401, 200, 200, 404),
    ),
    Row(
        "POST",
        "/api/offers",
        json_call(
            "POST",
            "/api/offers",
            lambda w: {"template": "standard", "price_minor": 1, "generation_id": w.ids["G"]},
        ),
        (401, 201, 403, 404),
    ),
    Row("GET", "/api/offers", json_call("GET", "/api/offers"), (401, 200, 200, 200)),
    Row(
        "DELETE",
        "/api/offers/{offer_id}",
        json_call("DELETE", "/api/offers/{O2}"),
        (401, 200, 404, 404),
    ),
    Row("GET", "/api/licenses", json_call("GET", "/api/licenses"), (401, 200, 200, 200)),
    Row(
        "GET",
        "/api/licenses/{license_id}",
        json_call("GET", "/api/licenses/{L}"),
        (401, 200, 200, 404),
    ),
    Row(
        "GET",
        "/api/licenses/{license_id}/certificate",
        json_call("GET", "/api/licenses/{L}/certificate"),
        (401, 200, 200, 404),
    ),
    Row(
        "POST",
        "/api/licenses/verify",
        json_call("POST", "/api/licenses/verify", lambda w: {"certificate": {}, "signature": ""}),
        (200, 200, 200, 200),
    ),
    Row("GET", "/api/earnings", json_call("GET", "/api/earnings"), (401, 200, 200, 200)),
    Row(
        "GET",
        "/api/earnings/statement.csv",
        json_call("GET", "/api/earnings/statement.csv"),
        (401, 200, 200, 200),  # each signed-in user gets their own statement only
    ),
    Row("GET", "/api/jobs/{job_id}", json_call("GET", "/api/jobs/{J}"), (401, 200, 404, 404)),
    Row(
        "GET",
        "/api/jobs/{job_id}/wait",
        json_call("GET", "/api/jobs/{J}/wait?timeout=0"),
        (401, 200, 404, 404),
    ),
    Row(
        "POST",
        "/api/jobs/{job_id}/cancel",
        json_call("POST", "/api/jobs/{J}/cancel"),
        (401, 200, 404, 404),
    ),
    Row(
        "GET",
        "/api/jobs/{job_id}/samples/{number}",
        json_call("GET", "/api/jobs/{J}/samples/0"),
        (401, 404, 404, 404),
    ),
    Row(
        "POST",
        "/api/rights",
        json_call(
            "POST", "/api/rights", lambda w: {"action": "trace", "generation_id": w.ids["G"]}
        ),
        (404, 200, 200, 404),
    ),
    Row("POST", "/api/verify", verify_call, (200, 200, 200, 200)),
    Row("GET", "/api/gallery", json_call("GET", "/api/gallery"), (200, 200, 200, 200)),
    Row(
        "GET", "/api/gallery/styles", json_call("GET", "/api/gallery/styles"), (200, 200, 200, 200)
    ),
    Row(
        "GET",
        "/api/styles/{style_id}/previews",
        json_call("GET", "/api/styles/{R}/previews"),
        (404, 200, 404, 404),
    ),
    Row(
        "PUT",
        "/api/styles/{style_id}/previews",
        json_call("PUT", "/api/styles/{S}/previews", lambda w: {"generation_ids": [w.ids["G"]]}),
        (401, 200, 403, 403),
    ),
    Row(
        "PUT",
        "/api/generations/{generation_id}/listing",
        json_call("PUT", "/api/generations/{G}/listing"),
        (401, 200, 403, 404),
    ),
    Row(
        "DELETE",
        "/api/generations/{generation_id}/listing",
        json_call("DELETE", "/api/generations/{G}/listing"),
        (401, 204, 403, 404),
    ),
    Row(
        "GET",
        "/api/generations/{generation_id}/preview",
        json_call("GET", "/api/generations/{G}/preview"),
        (404, 200, 404, 404),
    ),
    Row(
        "GET",
        "/api/styles/{style_id}/usage",
        json_call("GET", "/api/styles/{S}/usage"),
        (401, 200, 403, 403),
    ),
    Row(
        "GET",
        "/api/styles/{style_id}/usage.csv",
        json_call("GET", "/api/styles/{R}/usage.csv"),
        (401, 200, 404, 404),
    ),
]


def test_every_endpoint_has_a_row(client: TestClient) -> None:
    served = {
        (method.upper(), path)
        for path, operations in client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in operations
    }

    assert served == {(row.method, row.path) for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path}" for r in ROWS])
def test_who_may_do_what(client: TestClient, row: Row) -> None:
    world = build_world(client)
    got = {}
    # The owner acts last, so that what she is allowed to change does not change the others' case.
    for actor in ("anonymous", "ben", "cleo", "ana"):
        got[actor] = row.call(client, world, world.headers[actor]).status_code

    assert tuple(got[actor] for actor in ACTORS) == row.expect, got
