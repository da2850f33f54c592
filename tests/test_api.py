"""The HTTP API end to end on SQLite: accounts, uploads, styles, generations and error shapes."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hallmark.accounts.models import User
from hallmark.app import create_app
from hallmark.artworks.models import Artwork
from hallmark.config import Settings
from hallmark.db import transaction
from hallmark.generations import service as generations
from hallmark.styles.models import StyleModel, StyleStatus
from tests.helpers import PASSWORD, assert_error, png_bytes, sign_up, upload


def test_openapi_page_and_health(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/users", "/api/tokens", "/api/artworks", "/api/styles"} <= set(paths)


def test_a_request_is_committed_before_its_response_reaches_the_client(
    settings: Settings,
) -> None:
    """A client that acts on a response at once (polls a job it just queued) must find it."""
    app = create_app(settings)
    users_seen_at_response: list[int] = []

    def count_users_when_the_response_starts(inner: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            async def checked_send(message: Message) -> None:
                if message["type"] == "http.response.start" and scope["path"] == "/api/users":
                    with scope["app"].state.session_factory() as session:
                        users_seen_at_response.append(
                            session.scalar(select(func.count()).select_from(User))
                        )
                await send(message)

            await inner(scope, receive, checked_send)

        return middleware

    app.add_middleware(count_users_when_the_response_starts)
    with TestClient(app) as client:
        sign_up(client, "ana")

    assert users_seen_at_response == [1]


def test_sign_up_log_in_and_who_am_i(client: TestClient) -> None:
    headers = sign_up(client, "Ana")
    me = client.get("/api/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == "ana"
    assert "password_hash" not in me.json()


def test_wrong_password_and_missing_token_are_401(client: TestClient) -> None:
    sign_up(client, "ana")
    wrong = client.post("/api/tokens", json={"username": "ana", "password": "not the password"})
    assert_error(wrong, 401, "not_authenticated")
    assert_error(client.get("/api/artworks"), 401, "not_authenticated")
    bogus = client.get("/api/artworks", headers={"Authorization": "Bearer hm_nope"})
    assert_error(bogus, 401, "not_authenticated")


def test_duplicate_username_is_a_conflict(client: TestClient) -> None:
    sign_up(client, "ana")
    again = client.post("/api/users", json={"username": "ANA", "password": PASSWORD})
    assert_error(again, 409, "conflict")


def test_malformed_request_names_the_field(client: TestClient) -> None:
    response = client.post("/api/users", json={"username": "ana"})
    assert_error(response, 422, "invalid_request")
    assert "password" in response.json()["error"]["message"]


def test_upload_is_idempotent_and_owned_by_the_uploader(client: TestClient) -> None:
    headers = sign_up(client, "ana")
    data = png_bytes(1)
    first = upload(client, headers, data, caption="  a red sun  ")
    assert first.status_code == 201
    body = first.json()
    assert body["outcome"] == "created"
    assert body["artwork"]["caption"] == "a red sun"
    again = upload(client, headers, data)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["artwork"]["id"] == body["artwork"]["id"]
    listing = client.get("/api/artworks", headers=headers).json()
    assert listing["total"] == 1


def test_another_user_cannot_register_the_same_work(client: TestClient) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    data = png_bytes(2)
    assert upload(client, ana, data).status_code == 201
    refused = upload(client, ben, data)
    assert_error(refused, 409, "conflict", rule="R1")
    assert client.get("/api/artworks", headers=ben).json()["total"] == 0


def test_upload_without_attestation_is_refused_under_r1(client: TestClient) -> None:
    headers = sign_up(client, "ana")
    response = upload(client, headers, png_bytes(3), attest_rights="false")
    assert_error(response, 422, "invalid_input", rule="R1")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 422, "invalid_input"),
        (b"just some text, not an image", 415, "unsupported_media_type"),
        (png_bytes(4)[:60], 422, "invalid_input"),
    ],
    ids=["empty", "text", "truncated"],
)
def test_bad_files_are_refused_and_leave_nothing(
    client: TestClient, settings: Settings, data: bytes, status: int, code: str
) -> None:
    headers = sign_up(client, "ana")
    assert_error(upload(client, headers, data), status, code)
    assert client.get("/api/artworks", headers=headers).json()["total"] == 0
    assert not [p for p in settings.blob_dir.rglob("*") if p.is_file()]


def test_oversized_upload_is_refused_from_its_declared_length(settings: Settings) -> None:
    small = Settings(data_dir=settings.data_dir, max_upload_bytes=1024)
    with TestClient(create_app(small)) as client:
        headers = sign_up(client, "ana")
        response = upload(client, headers, png_bytes(5, size=(400, 400)) + b"\0" * 200_000)
        assert_error(response, 413, "payload_too_large")


def test_batch_upload_reports_each_file(client: TestClient) -> None:
    headers = sign_up(client, "ana")
    files = [
        ("files", ("one.png", png_bytes(10))),
        ("files", ("../../etc/two.png", png_bytes(11))),
        ("files", ("notes.txt", b"hello")),
        ("files", ("one-again.png", png_bytes(10))),
    ]
    response = client.post(
        "/api/artworks/batch", headers=headers, files=files, data={"attest_rights": "true"}
    )
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["outcome"] for r in results] == ["created", "created", "refused", "duplicate"]
    assert results[1]["filename"] == "two.png"
    assert results[2]["error"]["code"] == "unsupported_media_type"
    assert client.get("/api/artworks", headers=headers).json()["total"] == 2


def test_artwork_file_is_for_its_owner_only(client: TestClient) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    data = png_bytes(6)
    artwork_id = upload(client, ana, data).json()["artwork"]["id"]
    own = client.get(f"/api/artworks/{artwork_id}/file", headers=ana)
    assert own.status_code == 200
    assert own.content == data
    assert own.headers["content-type"] == "image/png"
    assert own.headers["etag"].strip('"') == upload(client, ana, data).json()["artwork"]["sha256"]
    assert_error(client.get(f"/api/artworks/{artwork_id}/file", headers=ben), 404, "not_found")
    assert_error(client.get(f"/api/artworks/{artwork_id}", headers=ben), 404, "not_found")
    assert_error(client.delete(f"/api/artworks/{artwork_id}", headers=ben), 404, "not_found")


def test_caption_opt_out_and_delete(client: TestClient, settings: Settings) -> None:
    headers = sign_up(client, "ana")
    artwork = upload(client, headers, png_bytes(7)).json()["artwork"]
    patched = client.patch(
        f"/api/artworks/{artwork['id']}",
        headers=headers,
        json={"caption": "<b>bold</b> sky", "training_opt_out": True},
    )
    assert patched.json()["caption"] == "<b>bold</b> sky"
    assert patched.json()["training_opt_out"] is True
    assert client.delete(f"/api/artworks/{artwork['id']}", headers=headers).status_code == 204
    assert client.get("/api/artworks", headers=headers).json()["total"] == 0
    assert not [p for p in settings.blob_dir.rglob("*") if p.is_file()]


def test_style_lifecycle_and_visibility(client: TestClient) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    ids = [upload(client, ana, png_bytes(20 + i)).json()["artwork"]["id"] for i in range(3)]
    created = client.post("/api/styles", headers=ana, json={"name": "Washes", "artwork_ids": ids})
    assert created.status_code == 201, created.text
    style = created.json()
    assert style["visibility"] == "private"
    assert style["training_set_size"] == 3

    assert_error(client.get(f"/api/styles/{style['id']}", headers=ben), 404, "not_found")
    stolen = client.post("/api/styles", headers=ben, json={"name": "Mine", "artwork_ids": ids})
    assert_error(stolen, 403, "forbidden", rule="R2")

    unaccepted = client.post(f"/api/styles/{style['id']}/publish", headers=ana, json={})
    assert_error(unaccepted, 422, "invalid_input", rule="R5")
    untrained = client.post(
        f"/api/styles/{style['id']}/publish",
        headers=ana,
        json={"accept_platform_license": True},
    )
    assert_error(untrained, 409, "conflict")


def test_generation_belongs_to_the_model_owner_and_download_needs_a_license(
    client: TestClient,
) -> None:
    ana, ben = sign_up(client, "ana"), sign_up(client, "ben")
    ids = [upload(client, ana, png_bytes(30 + i)).json()["artwork"]["id"] for i in range(3)]
    style_id = client.post(
        "/api/styles", headers=ana, json={"name": "Washes", "artwork_ids": ids}
    ).json()["id"]

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    instance = client.app.state.instance  # type: ignore[attr-defined]
    with transaction(factory) as session:
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert style is not None
        style.status = StyleStatus.READY.value
    published = client.post(
        f"/api/styles/{style_id}/publish", headers=ana, json={"accept_platform_license": True}
    )
    assert published.status_code == 200
    assert published.json()["visibility"] == "public"
    assert style_id in [s["id"] for s in client.get("/api/styles/public").json()["items"]]

    with transaction(factory) as session:
        from hallmark.accounts.repository import UserRepository

        maker = UserRepository(session).get_by_username("ben")
        style = session.get(StyleModel, uuid.UUID(style_id))
        assert maker is not None and style is not None
        generation = generations.record_generation(
            session, instance, maker, style, prompt="a red sun", seed=7, image=png_bytes(99)
        )
        generation_id = str(generation.id)

    seen_by_ben = client.get(f"/api/generations/{generation_id}", headers=ben).json()
    assert seen_by_ben["owner_id"] == client.get("/api/users/me", headers=ana).json()["id"]
    assert seen_by_ben["ownership_rule"] == "R4"
    owned = client.get("/api/generations", params={"role": "owned"}, headers=ana).json()
    assert [g["id"] for g in owned["items"]] == [generation_id]

    assert client.get(f"/api/generations/{generation_id}/file", headers=ana).status_code == 200
    refused = client.get(f"/api/generations/{generation_id}/file", headers=ben)
    assert_error(refused, 403, "forbidden", rule="R4")

    client.post(f"/api/styles/{style_id}/unpublish", headers=ana)
    after = client.get(f"/api/generations/{generation_id}", headers=ben).json()
    assert after["owner_id"] == seen_by_ben["owner_id"]


def test_unknown_route_uses_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/nothing-here"), 404, "not_found")


def test_data_persists_across_restarts(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        headers = sign_up(client, "ana")
        upload(client, headers, png_bytes(40))
    with TestClient(create_app(Settings(data_dir=settings.data_dir))) as client:
        token = client.post("/api/tokens", json={"username": "ana", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        assert client.get("/api/artworks", headers=headers).json()["total"] == 1
        factory = client.app.state.session_factory  # type: ignore[attr-defined]
        with transaction(factory) as session:
            assert session.scalar(select(func.count()).select_from(Artwork)) == 1
