"""In a real browser (Debian's Chromium) against `hallmark serve`: the gallery, a watermarked
preview, licensing from the gallery, and the owner's usage register.

gia trains and publishes a style through the API (the studio engine, a few steps); hal makes
an image with it, which is gia's (R4). The pages do the rest. Screenshots go to
$SCREENSHOT_DIR when it is set (docs/screenshots in the repository).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx2 as httpx
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import Page, expect, sync_playwright

from tests.web.test_browser import (
    CHROMIUM,
    PASSWORD,
    published_style_with_an_image,
    pytestmark,
    server,
    sign_up_by_api,
)

__all__ = ["pytestmark", "server"]  # the browser marks, and `hallmark serve` for this module


def published_style_with_images(url: str) -> tuple[str, dict[str, dict[str, str]]]:
    """gia's public style "Inkwell" with an image hal made with it (gia's, R4); its id."""
    with httpx.Client(base_url=url, timeout=120) as api:
        tokens = sign_up_by_api(api, ("gia", "hal", "ivy"))
        style_id, _image = published_style_with_an_image(
            api,
            tokens["gia"],
            tokens["hal"],
            artist="cleo",
            style={"name": "Inkwell", "description": "dots and washes in blue ink"},
            seed=5,
        )
        api.post(
            "/api/offers",
            headers=tokens["gia"],
            json={"template": "standard", "price_minor": 1200, "style_id": style_id},
        ).raise_for_status()
    return style_id, tokens


def log_in(page: Page, url: str, username: str) -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"@{username}", exact=True)).to_be_visible()


def test_the_gallery_shows_watermarked_previews_until_licensed_and_the_owner_sees_who_used_it(
    server: str, tmp_path: Path
) -> None:
    style_id, tokens = published_style_with_images(server)
    shots = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        owner = browser.new_page(viewport={"width": 1000, "height": 760})
        log_in(owner, server, "gia")
        owner.goto(f"{server}/create?style={style_id}")
        owner.get_by_label("Preview 1").check()
        owner.get_by_label("List 1 for licensing").check()
        owner.get_by_role("button", name="Save gallery choices").click()
        expect(owner.get_by_label("List 1 for licensing")).to_be_checked()
        owner.locator("#gallery").scroll_into_view_if_needed()
        owner.screenshot(path=str(shots / "gallery-choices.png"), full_page=True)
        owner.get_by_role("link", name="Who used this model (usage register)").click()
        expect(owner.locator("#usage")).to_contain_text("@hal")
        expect(owner.locator("#usage")).to_contain_text("a red sun over a blue sea")
        expect(owner.locator("#usage")).to_contain_text("not licensed")

        buyer = browser.new_page(viewport={"width": 1000, "height": 900})
        log_in(buyer, server, "ivy")
        buyer.get_by_role("link", name="Gallery").click()
        buyer.get_by_label("Search by style").fill("blue ink")
        buyer.get_by_role("button", name="Search").click()
        expect(buyer.get_by_text("Owned by @gia", exact=True)).to_be_visible()
        listed = buyer.locator("#listed img")
        expect(listed).to_have_count(1)
        expect(buyer.get_by_role("img", name="preview 1 of Inkwell")).to_be_visible()
        buyer.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth)")
        buyer.screenshot(path=str(shots / "gallery.png"), full_page=True)
        buyer.get_by_role("link", name="License it").click()
        preview = buyer.get_by_role("img", name="watermarked preview")
        expect(preview).to_be_visible()
        buyer.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth)")
        buyer.screenshot(path=str(shots / "gallery-preview.png"), full_page=True)
        image_id = buyer.url.rstrip("/").split("/")[-1]
        shown = buyer.request.get(f"{server}/api/generations/{image_id}/preview").body()

        buyer.get_by_role("button", name="Buy").click()
        with buyer.expect_download() as download:
            buyer.get_by_role("link", name="Download the image").click()
        licensed = Path(download.value.path()).read_bytes()

        owner.reload()
        expect(owner.locator("#usage")).to_contain_text("@ivy: Standard")
        owner.screenshot(path=str(shots / "usage-register.png"), full_page=True)
        browser.close()

    stored = httpx.get(
        f"{server}/api/generations/{image_id}/file", headers=tokens["gia"], timeout=30
    ).content
    assert licensed == stored  # the licensed download is the stored file, byte for byte
    clean = Image.open(io.BytesIO(stored)).convert("RGB")
    marked = Image.open(io.BytesIO(shown)).convert("RGB")
    difference = ImageChops.difference(clean.resize(marked.size), marked)
    assert sum(ImageStat.Stat(difference).mean) / 3 > 8  # the preview carries the notice
