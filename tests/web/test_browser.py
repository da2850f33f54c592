"""In a real browser (Debian's Chromium) against `hallmark serve`: sign up, log in, verify a file.

An artist's style is trained and used through the API first (the studio engine, a few steps),
so the file dropped on "Verify a file" is a real signed image. Screenshots of each page go to
$SCREENSHOT_DIR when it is set (docs/screenshots in the repository).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from hallmark.samples import SAMPLE_ARTISTS, sample_works

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hallmark serve` on a free port with its own data directory; its base URL."""
    port = free_port()
    data = tmp_path_factory.mktemp("served")
    env = {key: value for key, value in os.environ.items() if not key.startswith("HALLMARK_")} | {
        "HALLMARK_DATA_DIR": str(data),
        "HALLMARK_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hallmark", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("hallmark serve did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def sign_up_by_api(api: httpx.Client, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Accounts for the names, each with the Authorization header of a fresh token."""
    tokens = {}
    for name in names:
        api.post(
            "/api/users", json={"username": name, "password": PASSWORD, "display_name": name}
        ).raise_for_status()
        body = api.post("/api/tokens", json={"username": name, "password": PASSWORD}).json()
        tokens[name] = {"Authorization": f"Bearer {body['token']}"}
    return tokens


def published_style_with_an_image(
    api: httpx.Client,
    owner: dict[str, str],
    maker: dict[str, str],
    *,
    artist: str,
    style: dict[str, str],
    seed: int = 0,
) -> tuple[str, str]:
    """The owner uploads a sample artist's works, trains a style on them (4 steps) and publishes
    it; the maker generates one image with it. The style's id and the image's."""
    works = sample_works(SAMPLE_ARTISTS[artist], count=4, size=128, seed=seed)
    uploaded = api.post(
        "/api/artworks/batch",
        headers=owner,
        data={"attest_rights": "true"},
        files=[("files", (w.filename, w.png, "image/png")) for w in works],
    ).json()
    made = api.post(
        "/api/styles",
        headers=owner,
        json={**style, "artwork_ids": [item["artwork"]["id"] for item in uploaded]},
    ).json()
    job = api.post(f"/api/styles/{made['id']}/train", headers=owner, json={"steps": 4}).json()
    assert wait(api, job["id"], owner)["state"] == "succeeded"
    api.post(
        f"/api/styles/{made['id']}/publish", headers=owner, json={"accept_platform_license": True}
    ).raise_for_status()
    job = api.post(
        f"/api/styles/{made['id']}/generate",
        headers=maker,
        json={"prompt": "a red sun over a blue sea", "steps": 4, "acknowledge_ownership": True},
    ).json()
    done = wait(api, job["id"], maker)
    assert done["state"] == "succeeded", done
    return str(made["id"]), str(done["result"]["generation_ids"][0])  # type: ignore[index]


def signed_image_from_the_api(url: str, folder: Path) -> Path:
    """ana trains a style on her works and publishes it; ben makes an image, licenses it."""
    with httpx.Client(base_url=url, timeout=120) as api:
        tokens = sign_up_by_api(api, ("ana", "ben"))
        style_id, generation_id = published_style_with_an_image(
            api, tokens["ana"], tokens["ben"], artist="ana", style={"name": "Washes"}
        )
        refused = api.get(f"/api/generations/{generation_id}/file", headers=tokens["ben"])
        assert refused.status_code == 403  # ana's image: ben needs a license first (R8)
        offer = api.post(
            "/api/offers",
            headers=tokens["ana"],
            json={"template": "standard", "price_minor": 500, "style_id": style_id},
        ).json()
        api.post(
            f"/api/generations/{generation_id}/licenses",
            headers={**tokens["ben"], "Idempotency-Key": "browser-test"},
            json={"offer_id": offer["id"]},
        ).raise_for_status()
        image = api.get(f"/api/generations/{generation_id}/file", headers=tokens["ben"])
        image.raise_for_status()
    path = folder / "made-with-ana.png"
    path.write_bytes(image.content)
    return path


def wait(api: httpx.Client, job_id: str, headers: dict[str, str]) -> dict[str, object]:
    """Long-poll a job until it finishes."""
    for _ in range(60):
        job: dict[str, object] = api.get(f"/api/jobs/{job_id}/wait", headers=headers).json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
    raise AssertionError(f"job {job_id} did not finish")


def test_a_visitor_signs_up_logs_in_and_verifies_who_owns_an_image(
    server: str, tmp_path: Path
) -> None:
    made = signed_image_from_the_api(server, tmp_path)
    shots = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(f"{server}/signup")
        page.get_by_label("Username").fill("cleo")
        page.get_by_label("Display name").fill("Cleo")
        page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
        page.screenshot(path=str(shots / "signup.png"))
        page.get_by_role("button", name="Create my account").click()
        expect(page.get_by_text("@cleo")).to_be_visible()
        expect(page.get_by_text("Owned by @ana")).to_be_visible()  # the public model gallery
        page.screenshot(path=str(shots / "public-models.png"))

        page.get_by_role("button", name="Log out").click()
        page.goto(f"{server}/login")
        page.get_by_label("Username").fill("cleo")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("password")
        page.screenshot(path=str(shots / "login-refused.png"))
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("@cleo")).to_be_visible()

        page.goto(f"{server}/verify")
        page.get_by_label("Image file").set_input_files(str(made))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_text("Owned by @ana", exact=True)).to_be_visible()
        expect(page.get_by_text("made by AI", exact=False)).to_be_visible()
        page.screenshot(path=str(shots / "verify.png"), full_page=True)

        page.get_by_role("link", name="Who owns what").click()
        expect(page.get_by_role("heading", name="Who owns what")).to_be_visible()
        expect(page.get_by_text("whoever wrote the prompt")).to_be_visible()
        page.screenshot(path=str(shots / "who-owns-what.png"))
        browser.close()


def sign_up_in(page: Page, server: str, username: str) -> None:
    """Sign up through the form, as a person would."""
    page.goto(f"{server}/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill(username.capitalize())
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text(f"@{username}")).to_be_visible()


def test_an_artist_uploads_trains_publishes_and_another_creates_with_the_model(
    server: str, tmp_path: Path
) -> None:
    works = []
    for work in sample_works(SAMPLE_ARTISTS["bo"], count=4, size=128, seed=9):
        path = tmp_path / work.filename
        path.write_bytes(work.png)
        works.append(str(path))
    shots = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else tmp_path
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        artist = browser.new_page(viewport={"width": 1000, "height": 760})
        sign_up_in(artist, server, "dana")
        artist.get_by_role("link", name="My artworks").click()
        artist.get_by_label("Images to upload").set_input_files(works)
        artist.get_by_label("I hold the rights to these works").check()
        artist.get_by_role("button", name="Upload", exact=True).click()
        expect(artist.locator("tr.outcome-created")).to_have_count(4)
        artist.get_by_label("Images to upload").set_input_files(works[:1])
        artist.get_by_label("I hold the rights to these works").check()
        artist.get_by_role("button", name="Upload", exact=True).click()
        expect(artist.locator("tbody tr")).to_have_count(1)
        expect(artist.locator("tr.outcome-duplicate")).to_have_count(1)  # a repeat, not a new work
        artist.screenshot(path=str(shots / "my-artworks.png"), full_page=True)

        artist.get_by_role("link", name="Train a style on them").click()
        artist.get_by_label("Name of the style").fill("Posters")
        artist.get_by_label("Training steps").fill("4")
        artist.get_by_role("button", name="Start training").click()
        expect(artist.get_by_text("succeeded")).to_be_visible(timeout=180_000)
        artist.screenshot(path=str(shots / "training.png"), full_page=True)
        artist.get_by_label("Let the platform sell licenses").check()
        artist.get_by_role("button", name="Publish", exact=True).click()
        artist.get_by_label("Describe the picture").fill("a red sun over a blue sea")
        artist.get_by_role("button", name="Create", exact=True).click()
        expect(artist.get_by_text("succeeded")).to_be_visible(timeout=120_000)
        expect(artist.get_by_role("img", name="generated image 1")).to_be_visible()
        artist.screenshot(path=str(shots / "created.png"), full_page=True)
        artist.get_by_role("link", name="Image 1: credentials and licenses").click()
        artist.get_by_label("Terms").select_option("extended")
        artist.get_by_label("Price").fill("40")
        artist.get_by_role("button", name="Offer a license").click()
        expect(artist.locator("#own-offers")).to_contain_text("Extended — 40.00 EUR")
        artist.screenshot(path=str(shots / "offer-a-license.png"), full_page=True)

        other = browser.new_page(viewport={"width": 1000, "height": 700})
        sign_up_in(other, server, "eli")
        other.get_by_role("link", name="Create with it").first.click()
        chosen_style = parse_qs(urlparse(other.url).query)["style"][0]
        expect(other.get_by_role("note")).to_contain_text("belongs to @dana")
        other.screenshot(path=str(shots / "create-warning.png"), full_page=True)
        other.get_by_label("Describe the picture").fill("a white moon at night")
        accept = "I accept that the images I make with this model belong to @dana"
        other.get_by_label(accept).check()
        other.get_by_role("button", name="Create", exact=True).click()
        expect(other.get_by_text("succeeded")).to_be_visible(timeout=120_000)
        expect(other.get_by_text("Owned by @dana — made with their model")).to_be_visible()

        # dana offers a Standard license on her model's images (through the API, as programs do).
        with httpx.Client(base_url=server) as api:
            token = api.post("/api/tokens", json={"username": "dana", "password": PASSWORD})
            offer = api.post(
                "/api/offers",
                headers={"Authorization": f"Bearer {token.json()['token']}"},
                json={"template": "standard", "price_minor": 1500, "style_id": chosen_style},
            )
            assert offer.status_code == 201, offer.text
        other.get_by_role("link", name="Image 1: credentials and licenses").click()
        expect(other.get_by_text("License this image to download it.")).to_be_visible()
        other.get_by_role("button", name="Buy").click()
        with other.expect_download() as download:
            other.get_by_role("link", name="Download the image").click()
        assert download.value.suggested_filename
        other.screenshot(path=str(shots / "image-licensed.png"), full_page=True)
        other.get_by_role("link", name="certificate").click()
        expect(other.get_by_text("@eli", exact=False).first).to_be_visible()

        artist.get_by_role("link", name="Earnings").click()
        by_month = artist.locator("#by-month")
        expect(by_month).to_contain_text("Posters")
        # 15.00 sold by the platform: its share is 3.00, dana's 12.00 (R7).
        expect(by_month).to_contain_text("15.00 EUR 3.00 EUR 12.00 EUR", use_inner_text=True)
        sales = artist.locator("#sales")
        expect(sales).to_contain_text("@eli the platform (R7)", use_inner_text=True)
        expect(artist.get_by_role("link", name="Download the statement (CSV)")).to_be_visible()
        expect(artist.locator("svg rect")).to_have_count(1)
        artist.screenshot(path=str(shots / "earnings.png"), full_page=True)
        browser.close()
