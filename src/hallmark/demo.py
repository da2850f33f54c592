"""The guided tour behind `make demo`: each finished capability adds its step here."""

from __future__ import annotations

import io
import secrets

from PIL import Image
from rich.console import Console
from sqlalchemy.orm import Session

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks import service as artworks
from hallmark.errors import AppError
from hallmark.provenance.service import verify_file
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS
from hallmark.styles import service as styles

DEMO_ARTISTS = ("ana", "cleo")
WORKS_EACH = 6
WORK_SIDE = 384


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _demo_user(session: Session, username: str, console: Console) -> User:
    existing = UserRepository(session).get_by_username(username)
    if existing is not None:
        console.print(f"  [dim]{username} already exists (from an earlier tour)[/dim]")
        return existing
    password = secrets.token_urlsafe(12)
    user = accounts.register_user(session, username, password, username.capitalize())
    console.print(f"  created [bold]{username}[/bold]  password: {password}")
    return user


def run_demo(console: Console) -> None:
    """Sample artists register, upload their works, and the rules R1 and R2 act on them."""
    from hallmark.cli import open_instance

    with open_instance() as (instance, session):
        console.rule("1. Two artists sign up")
        users = {name: _demo_user(session, name, console) for name in DEMO_ARTISTS}

        console.rule("2. Each uploads their own works (R1: uploads belong to the uploader)")
        works = {
            name: sample_works(SAMPLE_ARTISTS[name], count=WORKS_EACH, size=WORK_SIDE)
            for name in DEMO_ARTISTS
        }
        for name in DEMO_ARTISTS:
            results = artworks.upload_artworks(
                session,
                instance,
                users[name],
                [(work.filename, work.png) for work in works[name]],
                rights_attested=True,
            )
            outcomes = ", ".join(r.outcome.value for r in results)
            console.print(f"  {SAMPLE_ARTISTS[name].display_name}: {outcomes}")

        original = works["ana"][0]
        console.print("  ana uploads the same file again: ", end="")
        again = artworks.upload_artwork(
            session, instance, users["ana"], original.png, rights_attested=True
        )
        console.print(f"{again.outcome.value} (one artwork, nothing stored twice)")

        console.rule("3. The copy guard: cleo tries to register ana's painting as her own")
        for edit in ("re-encode", "mirror", "crop-20%", "overlay-text"):
            copied = artworks.upload_artwork(
                session,
                instance,
                users["cleo"],
                _png(COPY_EDITS[edit](original.image())),
                filename=f"mine-{edit}.png",
                rights_attested=True,
            )
            verdict = f"refused under {copied.error.rule}" if copied.error else copied.outcome.value
            console.print(f"  {edit:<13} {verdict}")
        if copied.error is not None:
            console.print(f"  [dim]{copied.error.message}[/dim]")
        console.print("  ana uploads her own 10% crop of it: ", end="")
        variant = artworks.upload_artwork(
            session,
            instance,
            users["ana"],
            _png(COPY_EDITS["crop-10%"](original.image())),
            filename="detail.png",
            rights_attested=True,
        )
        console.print(f"{variant.outcome.value} (linked to the original, still hers)")

        console.rule("4. ana defines a style on her works (R2: the model will be hers)")
        own_items, _ = artworks.list_own_artworks(session, users["ana"])
        try:
            style = styles.create_style(session, users["ana"], "Washes", [a.id for a in own_items])
            console.print(f"  style '{style.name}' ({style.id}), {len(own_items)} works, private")
        except AppError as error:
            console.print(f"  {error.message}")

        console.print("  cleo tries to define a style on ana's works: ", end="")
        try:
            styles.create_style(session, users["cleo"], "Borrowed", [a.id for a in own_items])
        except AppError as error:
            console.print(f"refused under {error.rule}: {error.message}")

        console.rule("5. Anyone verifies a file (R9)")
        stripped = _png(COPY_EDITS["re-encode"](original.image()))
        report = verify_file(session, instance, stripped)
        console.print("  a re-encoded copy of ana's painting, its metadata gone:")
        for line in report.in_plain_words().splitlines():
            console.print(f"    {line}", highlight=False)

    console.rule("Where to look")
    console.print(f"  data directory: {instance.settings.data_dir}")
    console.print("  run `make serve` and open http://127.0.0.1:8000/docs for the API")
    console.print("  `.venv/bin/hallmark artworks list --as ana` lists ana's works")
    console.print("  `.venv/bin/hallmark verify FILE` checks any image's content credentials")
    console.print("  `.venv/bin/hallmark ledger reconcile` proves the books balance")
