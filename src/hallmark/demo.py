"""The guided tour behind `make demo`: each finished capability adds its step here."""

from __future__ import annotations

import io
import random
import secrets

from PIL import Image, ImageDraw, ImageFilter
from rich.console import Console
from sqlalchemy.orm import Session

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks import service as artworks
from hallmark.errors import AppError
from hallmark.styles import service as styles


def sketch_work(seed: int, palette: list[tuple[int, int, int]], outlined: bool) -> bytes:
    """A small procedural painting: soft washes, or flat shapes with black outlines."""
    rng = random.Random(seed)
    image = Image.new("RGB", (256, 256), palette[0])
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y, r = rng.randint(0, 255), rng.randint(0, 255), rng.randint(20, 70)
        colour = rng.choice(palette[1:])
        box = (x - r, y - r, x + r, y + r)
        if outlined:
            draw.rectangle(box, fill=colour, outline=(0, 0, 0), width=4)
        else:
            draw.ellipse(box, fill=colour)
    if not outlined:
        image = image.filter(ImageFilter.GaussianBlur(6))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


DEMO_ARTISTS = {
    "ana": ([(236, 228, 210), (84, 140, 180), (200, 120, 90), (120, 170, 110)], False),
    "ben": ([(250, 250, 245), (230, 60, 50), (40, 90, 200), (250, 200, 40)], True),
}


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
        works: dict[str, list[bytes]] = {}
        for name, (palette, outlined) in DEMO_ARTISTS.items():
            works[name] = [sketch_work(seed, palette, outlined) for seed in range(4)]
            results = artworks.upload_artworks(
                session,
                instance,
                users[name],
                [(f"{name}-{i}.png", data) for i, data in enumerate(works[name])],
                rights_attested=True,
            )
            outcomes = ", ".join(r.outcome.value for r in results)
            console.print(f"  {name}: {outcomes}")

        console.print("  ana uploads the same file again: ", end="")
        again = artworks.upload_artwork(
            session, instance, users["ana"], works["ana"][0], rights_attested=True
        )
        console.print(f"{again.outcome.value} (one artwork, nothing stored twice)")

        console.rule("3. ben tries to register ana's painting as his")
        copied = artworks.upload_artwork(
            session, instance, users["ben"], works["ana"][0], rights_attested=True
        )
        if copied.error is not None:
            console.print(f"  refused under {copied.error.rule}: {copied.error.message}")

        console.rule("4. ana defines a style on her works (R2: the model will be hers)")
        own_items, _ = artworks.list_own_artworks(session, users["ana"])
        try:
            style = styles.create_style(session, users["ana"], "Washes", [a.id for a in own_items])
            console.print(f"  style '{style.name}' ({style.id}), {len(own_items)} works, private")
        except AppError as error:
            console.print(f"  {error.message}")

        console.print("  ben tries to define a style on ana's works: ", end="")
        try:
            styles.create_style(session, users["ben"], "Borrowed", [a.id for a in own_items])
        except AppError as error:
            console.print(f"refused under {error.rule}: {error.message}")

    console.rule("Where to look")
    console.print(f"  data directory: {instance.settings.data_dir}")
    console.print("  run `make serve` and open http://127.0.0.1:8000/docs for the API")
    console.print("  `.venv/bin/hallmark artworks list --as ana` lists ana's works")
