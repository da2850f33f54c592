"""The pages: sessions in cookies, CSRF on every form, rate limits, escaping, Verify a file."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hallmark.accounts.models import ApiToken
from hallmark.app import create_app
from hallmark.artworks.service import upload_artwork
from hallmark.config import Settings
from hallmark.db import transaction, utcnow
from hallmark.generations.service import record_generation
from hallmark.rate_limits import LocalRateLimiter
from hallmark.styles.models import StyleStatus
from hallmark.styles.service import create_style, publish_style, set_style_status
from hallmark.web.security import SESSION_COOKIE
from tests.helpers import png_bytes

PASSWORD = "correct horse battery"


def csrf_of(client: TestClient, path: str) -> str:
    """The CSRF token a page's forms carry."""
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def sign_up(client: TestClient, username: str, display_name: str = "Ana") -> None:
    """Sign up through the form; the client keeps the session cookie."""
    response = client.post(
        "/signup",
        data={
            "username": username,
            "display_name": display_name,
            "password": PASSWORD,
            "csrf_token": csrf_of(client, "/signup"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_signing_up_sets_a_locked_down_session_cookie_and_logging_out_revokes_it(
    client: TestClient,
) -> None:
    sign_up(client, "ana")
    assert "@ana" in client.get("/").text
    stolen = client.cookies.get(SESSION_COOKIE)
    assert stolen
    logout = client.post(
        "/logout", data={"csrf_token": csrf_of(client, "/")}, follow_redirects=False
    )
    assert logout.status_code == 303
    assert "@ana" not in client.get("/").text
    # The old cookie, replayed, no longer signs anyone in: the token was revoked, not forgotten.
    client.cookies.set(SESSION_COOKIE, stolen)
    assert "@ana" not in client.get("/").text


def test_session_cookie_flags(client: TestClient) -> None:
    response = client.post(
        "/signup",
        data={
            "username": "ben",
            "display_name": "Ben",
            "password": PASSWORD,
            "csrf_token": csrf_of(client, "/signup"),
        },
        follow_redirects=False,
    )
    header = next(h for h in response.headers.get_list("set-cookie") if SESSION_COOKIE in h)
    assert "HttpOnly" in header and "SameSite=lax" in header and "Max-Age=" in header


@pytest.mark.parametrize("token", ["forged", ""])
def test_a_form_without_this_visitors_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, token: str
) -> None:
    csrf_of(client, "/signup")  # the visitor has a CSRF cookie, but posts another token
    response = client.post(
        "/signup",
        data={"username": "eve", "display_name": "Eve", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "did not come from this site" in response.text
    assert (
        client.post("/api/tokens", json={"username": "eve", "password": PASSWORD}).status_code
        == 401
    )


def test_a_form_posted_from_elsewhere_without_the_cookie_is_refused(settings: Settings) -> None:
    with TestClient(create_app(settings)) as victim, TestClient(create_app(settings)) as attacker:
        token = csrf_of(attacker, "/signup")  # a valid token, but for the attacker's cookie
        response = victim.post(
            "/signup",
            data={
                "username": "eve",
                "display_name": "E",
                "password": PASSWORD,
                "csrf_token": token,
            },
        )
        assert response.status_code == 403


def test_an_expired_session_signs_nobody_in_and_its_cookie_is_dropped(client: TestClient) -> None:
    sign_up(client, "cleo")
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        for token in session.query(ApiToken).all():
            token.expires_at = utcnow() - timedelta(minutes=1)
    page = client.get("/")
    assert "@cleo" not in page.text and "Log in" in page.text
    assert any(
        SESSION_COOKIE in h and "Max-Age=0" in h for h in page.headers.get_list("set-cookie")
    )


def test_login_attempts_are_rate_limited_with_retry_after(settings: Settings) -> None:
    limited = settings.model_copy(update={"login_attempts_per_minute": 3})
    with TestClient(create_app(limited)) as client:
        sign_up(client, "dora")
        codes = []
        for _ in range(4):
            token = csrf_of(client, "/login")
            response = client.post(
                "/login",
                data={"username": "dora", "password": "wrong password!", "csrf_token": token},
            )
            codes.append(response.status_code)
        assert codes == [401, 401, 401, 429]
        assert int(response.headers["Retry-After"]) >= 1
        assert "Too many attempts" in response.text


def test_the_login_form_signs_in_with_the_right_password(client: TestClient) -> None:
    sign_up(client, "finn")
    client.cookies.delete(SESSION_COOKIE)
    response = client.post(
        "/login",
        data={"username": "finn", "password": PASSWORD, "csrf_token": csrf_of(client, "/login")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "@finn" in client.get("/").text


def test_generation_requests_are_rate_limited_per_user(settings: Settings) -> None:
    limited = settings.model_copy(update={"generations_per_minute": 2})
    with TestClient(create_app(limited)) as client:
        client.post(
            "/api/users", json={"username": "gus", "password": PASSWORD, "display_name": "G"}
        )
        token = client.post("/api/tokens", json={"username": "gus", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        missing = "/api/styles/00000000-0000-0000-0000-000000000000/generate"
        codes = [
            client.post(missing, headers=headers, json={"prompt": "x"}).status_code
            for _ in range(3)
        ]
        assert codes == [404, 404, 429]


def test_html_in_names_and_descriptions_is_shown_as_text(client: TestClient) -> None:
    app_state = client.app.state  # type: ignore[attr-defined]
    sign_up(client, "hana", display_name="<b>Hana</b>")
    with transaction(app_state.session_factory) as session:
        from hallmark.accounts.repository import UserRepository

        hana = UserRepository(session).get_by_username("hana")
        assert hana is not None
        upload = upload_artwork(
            session, app_state.instance, hana, png_bytes(3), rights_attested=True
        )
        assert upload.artwork is not None
        style = create_style(
            session,
            hana,
            "<script>alert(1)</script>",
            [upload.artwork.id],
            description="<img src=x onerror=alert(2)>",
        )
        set_style_status(session, style, StyleStatus.READY)
        publish_style(session, hana, style.id, accept_platform_license=True)
    page = client.get("/").text
    assert (
        "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    )
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page


def test_verify_a_file_names_the_owner_of_a_signed_image(client: TestClient) -> None:
    app_state = client.app.state  # type: ignore[attr-defined]
    with transaction(app_state.session_factory) as session:
        from hallmark.accounts.service import register_user

        ivy = register_user(session, "ivy", PASSWORD, "Ivy")
        jon = register_user(session, "jon", PASSWORD, "Jon")
        upload = upload_artwork(
            session, app_state.instance, ivy, png_bytes(5), rights_attested=True
        )
        assert upload.artwork is not None
        style = create_style(session, ivy, "Inks", [upload.artwork.id])
        set_style_status(session, style, StyleStatus.READY)
        publish_style(session, ivy, style.id, accept_platform_license=True)
        made = record_generation(
            session, app_state.instance, jon, style, prompt="a boat", seed=1, image=png_bytes(77)
        )
        signed = app_state.instance.blobs.get(made.sha256)
    token = csrf_of(client, "/verify")
    page = client.post(
        "/verify", data={"csrf_token": token}, files={"file": ("made.png", signed, "image/png")}
    )
    assert page.status_code == 200
    assert "Owned by @ivy" in page.text and "made.png" in page.text
    assert "verdict-trusted" in page.text


def test_verify_refuses_oversized_and_non_image_files_with_a_clear_message(
    settings: Settings,
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 1024 * 1024})
    with TestClient(create_app(small)) as client:
        token = csrf_of(client, "/verify")
        big = client.post(
            "/verify",
            data={"csrf_token": token},
            files={"file": ("big.png", b"\x89PNG" + b"0" * (2 * 1024 * 1024), "image/png")},
        )
        assert big.status_code == 413 and "larger than 1 MB" in big.text
        text = client.post(
            "/verify", data={"csrf_token": token}, files={"file": ("a.png", b"hello", "image/png")}
        )
        assert text.status_code in (415, 422) and 'role="alert"' in text.text


def test_rate_limiter_lets_events_through_again_after_the_window() -> None:
    limiter = LocalRateLimiter(limit=2, window=60)
    assert limiter.check("k", now=0) == 0 and limiter.check("k", now=1) == 0
    assert limiter.check("k", now=2) == pytest.approx(58)
    assert limiter.check("other", now=2) == 0
    assert limiter.check("k", now=61) == 0


def test_pages_for_signed_in_people_send_visitors_to_log_in(client: TestClient) -> None:
    for path in ("/artworks", "/styles/new", "/create?style=00000000-0000-0000-0000-000000000000"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_another_artists_private_things_do_not_exist_on_the_pages(client: TestClient) -> None:
    app_state = client.app.state  # type: ignore[attr-defined]
    with transaction(app_state.session_factory) as session:
        from hallmark.accounts.service import register_user

        kim = register_user(session, "kim", PASSWORD, "Kim")
        upload = upload_artwork(
            session, app_state.instance, kim, png_bytes(8), rights_attested=True
        )
        assert upload.artwork is not None
        private = create_style(session, kim, "Private", [upload.artwork.id])
        artwork_id, style_id = upload.artwork.id, private.id
    sign_up(client, "lou")
    assert client.get(f"/artworks/{artwork_id}/image").status_code == 404
    assert client.get(f"/create?style={style_id}").status_code == 404
    assert client.get("/jobs/00000000-0000-0000-0000-000000000000").status_code == 404
    assert "Private" not in client.get("/").text


def test_uploading_on_my_artworks_reports_each_file(client: TestClient) -> None:
    sign_up(client, "max")
    token = csrf_of(client, "/artworks")
    files = [
        ("files", ("one.png", png_bytes(21), "image/png")),
        ("files", ("../../etc/passwd.png", png_bytes(22), "image/png")),
        ("files", ("notes.png", b"not an image", "image/png")),
    ]
    page = client.post(
        "/artworks", data={"csrf_token": token, "attest_rights": "true"}, files=files
    )
    assert page.status_code == 200
    assert page.text.count('class="outcome-created"') == 2
    assert page.text.count('class="outcome-refused"') == 1
    assert "../" not in page.text  # the path in the name is dropped, never used
    again = client.post(
        "/artworks",
        data={"csrf_token": token, "attest_rights": "true"},
        files=[("files", ("one-again.png", png_bytes(21), "image/png"))],
    )
    assert 'class="outcome-duplicate"' in again.text


def test_buying_twice_from_the_same_page_charges_once_and_a_forged_buy_does_nothing(
    client: TestClient,
) -> None:
    from hallmark.licensing.models import License
    from hallmark.licensing.service import create_offer

    app_state = client.app.state  # type: ignore[attr-defined]
    sign_up(client, "nia")
    with transaction(app_state.session_factory) as session:
        from hallmark.accounts.repository import UserRepository
        from hallmark.accounts.service import register_user

        oto = register_user(session, "oto", PASSWORD, "Oto")
        nia = UserRepository(session).get_by_username("nia")
        assert nia is not None
        upload = upload_artwork(
            session, app_state.instance, oto, png_bytes(9), rights_attested=True
        )
        assert upload.artwork is not None
        style = create_style(session, oto, "Oils", [upload.artwork.id])
        set_style_status(session, style, StyleStatus.READY)
        publish_style(session, oto, style.id, accept_platform_license=True)
        made = record_generation(
            session, app_state.instance, nia, style, prompt="a hill", seed=2, image=png_bytes(91)
        )
        offer = create_offer(session, oto, template="standard", price_minor=900, style_id=style.id)
        generation_id, offer_id = made.id, offer.id
    page = client.get(f"/images/{generation_id}/page")
    assert "Owned by @oto" in page.text and "License this image to download it." in page.text
    key = re.search(r'name="purchase_key" value="([^"]+)"', page.text)
    token = csrf_of(client, f"/images/{generation_id}/page")
    assert key is not None
    form = {"offer_id": str(offer_id), "purchase_key": key.group(1)}
    forged = client.post(f"/images/{generation_id}/buy", data={**form, "csrf_token": "x"})
    assert forged.status_code == 403
    for _ in range(2):  # a double click
        client.post(f"/images/{generation_id}/buy", data={**form, "csrf_token": token})
    with transaction(app_state.session_factory) as session:
        assert session.query(License).filter_by(generation_id=generation_id).count() == 1
    assert "Download the image" in client.get(f"/images/{generation_id}/page").text
    assert client.get(f"/images/{generation_id}").status_code == 200


def test_who_owns_what_is_a_page_of_the_site_with_every_rule(client: TestClient) -> None:
    sign_up(client, "ana")

    page = client.get("/help/ownership")

    assert page.status_code == 200
    assert "@ana" in page.text  # inside the site's layout, for the signed-in visitor
    rules = re.findall(r"<dt>(R\d+)</dt>", page.text)
    assert rules == [f"R{n}" for n in range(1, 12)]
    assert 'href="https://openai.com/policies/terms-of-use"' in page.text


def own_image(client: TestClient, username: str) -> str:
    """Sign `username` up and give them an image made with their own model; its id."""
    from hallmark.accounts.repository import UserRepository

    app_state = client.app.state  # type: ignore[attr-defined]
    sign_up(client, username)
    with transaction(app_state.session_factory) as session:
        artist = UserRepository(session).get_by_username(username)
        assert artist is not None
        upload = upload_artwork(
            session, app_state.instance, artist, png_bytes(13), rights_attested=True
        )
        assert upload.artwork is not None
        style = create_style(session, artist, "Inks", [upload.artwork.id])
        set_style_status(session, style, StyleStatus.READY)
        made = record_generation(
            session, app_state.instance, artist, style, prompt="a boat", seed=1, image=png_bytes(14)
        )
        return str(made.id)


def open_offers(client: TestClient, generation_id: str) -> list[tuple[int, str, bool]]:
    """(price, currency, exclusive) of the image's offers that are not withdrawn."""
    from hallmark.licensing.models import LicenseOffer

    app_state = client.app.state  # type: ignore[attr-defined]
    with transaction(app_state.session_factory) as session:
        offers = session.query(LicenseOffer).filter_by(withdrawn_at=None).all()
        return [
            (o.price_minor, o.currency, o.exclusive)
            for o in offers
            if str(o.generation_id) == generation_id
        ]


def test_an_owner_offers_and_withdraws_a_license_from_the_image_page(client: TestClient) -> None:
    generation_id = own_image(client, "pia")
    page = f"/images/{generation_id}/page"
    first = client.get(page).text
    assert "<title>Image by @pia · Hallmark</title>" in first
    assert first.count("Offer a license") == 1
    assert "You have no offer on this image yet" in first
    token = csrf_of(client, page)

    offered = client.post(
        f"/images/{generation_id}/offers",
        data={
            "template": "extended",
            "price": "12.5",
            "currency": "usd",
            "exclusive": "true",
            "csrf_token": token,
        },
        follow_redirects=False,
    )

    assert offered.status_code == 303
    assert open_offers(client, generation_id) == [(1250, "USD", True)]
    shown = client.get(page).text
    assert "Extended</strong> — 12.50 USD" in shown and "Withdraw" in shown
    offer_id = re.search(r"/offers/([0-9a-f-]{36})/withdraw", shown)
    assert offer_id is not None
    client.post(
        f"/images/{generation_id}/offers/{offer_id.group(1)}/withdraw",
        data={"csrf_token": token},
    )
    assert open_offers(client, generation_id) == []


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"template": "standard", "price": "twelve"}, 422, "is not an amount like 15 or 15.00"),
        ({"template": "standard", "price": "-3"}, 422, "is not an amount"),
        ({"template": "standard", "price": "1.999"}, 422, "is not an amount"),
        ({"template": "gift", "price": "5"}, 422, "Unknown license template"),
        ({"template": "standard", "price": "5", "currency": "E1"}, 422, "currency"),
    ],
)
def test_a_bad_offer_is_refused_with_its_reason_and_nothing_is_offered(
    client: TestClient, form: dict[str, str], status: int, message: str
) -> None:
    generation_id = own_image(client, "pia")
    token = csrf_of(client, f"/images/{generation_id}/page")

    refused = client.post(f"/images/{generation_id}/offers", data={**form, "csrf_token": token})

    assert refused.status_code == status
    assert message in refused.text
    assert open_offers(client, generation_id) == []


def test_nobody_but_the_owner_offers_an_image_and_a_forged_form_offers_nothing(
    client: TestClient,
) -> None:
    generation_id = own_image(client, "pia")
    forged = client.post(
        f"/images/{generation_id}/offers",
        data={"template": "standard", "price": "5", "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    sign_up(client, "quinn")
    token = csrf_of(client, "/")

    stranger = client.post(
        f"/images/{generation_id}/offers",
        data={"template": "standard", "price": "5", "csrf_token": token},
    )

    assert stranger.status_code == 404
    assert open_offers(client, generation_id) == []


def test_a_running_jobs_page_follows_its_progress_live_and_only_its_requester_sees_it(
    client: TestClient,
) -> None:
    from hallmark.accounts.repository import UserRepository
    from hallmark.jobs.models import Job, JobKind

    app_state = client.app.state  # type: ignore[attr-defined]
    sign_up(client, "rae")
    with transaction(app_state.session_factory) as session:
        rae = UserRepository(session).get_by_username("rae")
        assert rae is not None
        upload = upload_artwork(
            session, app_state.instance, rae, png_bytes(15), rights_attested=True
        )
        assert upload.artwork is not None
        style = create_style(session, rae, "Chalk", [upload.artwork.id])
        job = Job(
            kind=JobKind.TRAIN_STYLE.value,
            state="running",
            requester_id=rae.id,
            style_id=style.id,
            step=30,
            total=120,
            loss=0.1234,
            eta_seconds=42.0,
        )
        session.add(job)
        session.flush()
        job_id = job.id

    page = client.get(f"/jobs/{job_id}").text
    progress = client.get(f"/jobs/{job_id}/progress")

    assert 'src="/static/job.js"' in page and f'data-progress="/jobs/{job_id}/progress"' in page
    assert progress.json() == {
        "state": "running",
        "step": 30,
        "total": 120,
        "percent": 25,
        "loss": 0.1234,
        "eta_seconds": 42.0,
        "samples": 0,
        "running": True,
    }
    assert client.get("/static/job.js").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert client.get(f"/jobs/{job_id}/progress").status_code == 404
    sign_up(client, "sol")
    assert client.get(f"/jobs/{job_id}/progress").status_code == 404
