"""The guided tour behind `make demo`: each finished capability adds its step here."""

from __future__ import annotations

import io
import json
import secrets
import uuid

from PIL import Image
from rich.console import Console
from sqlalchemy.orm import Session

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks import service as artworks
from hallmark.engines import GenerationRequest, Progress, generation_defaults
from hallmark.errors import AppError
from hallmark.generations.service import generate_images
from hallmark.ledger import service as ledger
from hallmark.licensing import service as licensing
from hallmark.licensing.models import License
from hallmark.provenance.service import verify_file
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS
from hallmark.styles import service as styles
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.repository import StyleRepository
from hallmark.styles.training import style_directory, train_style

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


def _demo_style(session: Session, ana: User, console: Console) -> StyleModel:
    """ana's style on her works, with the studio engine and the base model it ships."""
    existing = StyleRepository(session).find_by_owner_and_name(ana.id, "Washes")
    if existing is not None:
        console.print(f"  [dim]style '{existing.name}' already exists (from an earlier tour)[/dim]")
        return existing
    own_items, _ = artworks.list_own_artworks(session, ana)
    trainable = [a.id for a in own_items if not a.training_opt_out]
    style = styles.create_style(session, ana, "Washes", trainable, engine="studio")
    console.print(f"  style '{style.name}' ({style.id}), {len(trainable)} works, private")
    return style


def run_demo(console: Console, training_steps: int | None = None) -> None:
    """The tour: sample artists upload, train, publish, generate, license and verify."""
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
        style = _demo_style(session, users["ana"], console)
        own_items, _ = artworks.list_own_artworks(session, users["ana"])
        console.print("  cleo tries to define a style on ana's works: ", end="")
        try:
            styles.create_style(session, users["cleo"], "Borrowed", [a.id for a in own_items])
        except AppError as error:
            console.print(f"refused under {error.rule}: {error.message}")

        console.rule("5. ana trains it with the studio engine, on this CPU")
        console.print(
            "  [dim]the studio engine fine-tunes the small base model the project trained on its "
            "own procedural world, then paints from ana's own patches (docs/engines.md)[/dim]"
        )
        if style.status != StyleStatus.READY.value:
            knobs = {"steps": training_steps} if training_steps else {}

            shown: set[int] = set()  # the engine reports its last step twice: trained, then saved

            def show(progress: Progress) -> None:
                every = max(1, progress.total // 6)
                if progress.step % every or progress.loss is None or progress.step in shown:
                    return
                shown.add(progress.step)
                step = f"{progress.step}/{progress.total}"
                eta = f"{progress.eta_seconds:.0f} s left" if progress.eta_seconds else "done"
                console.print(f"  step {step}  loss {progress.loss:.4f}  {eta}")

            ana = users["ana"]
            train_style(session, instance, ana, style.id, knobs=knobs, on_progress=show)
        console.print(
            f"  '{style.name}' is {style.status}; trained model in "
            f"{style_directory(instance, style.id)}"
        )

        console.rule("6. ana publishes it; cleo makes images with it (R4: they are ana's)")
        if style.visibility != "public":
            styles.publish_style(session, users["ana"], style.id, accept_platform_license=True)
        request = GenerationRequest(
            "a red boat on the blue sea at dusk",
            count=2,
            seed=7,
            **generation_defaults(style.engine),
        )
        made = generate_images(session, instance, users["cleo"], style, request)
        out = instance.settings.data_dir / "demo"
        out.mkdir(parents=True, exist_ok=True)
        for generation in made:
            path = out / f"{generation.id}.png"
            path.write_bytes(instance.blobs.get(generation.sha256))
            rule = generation.ownership_rule
            console.print(f"  {path.name}: owned by @ana ({rule}), made by @cleo")

        console.rule("7. cleo licenses both: one the platform sells for ana (R7), one at her price")

        def cleo_buys(generation_id: uuid.UUID, offer_id: uuid.UUID) -> License:
            """cleo buys a license on one of the images, charged once per image however often."""
            return licensing.purchase_license(
                session,
                users["cleo"],
                generation_id,
                offer_id,
                idempotency_key=f"demo-{generation_id}",
                payments=instance.payments,
                platform_fee_bps=instance.settings.platform_fee_bps,
            )

        offer = licensing.create_offer(
            session, users["ana"], template="standard", price_minor=1500, style_id=style.id
        )
        bought = cleo_buys(made[0].id, offer.id)
        certificate = licensing.certificate_for(
            session,
            users["cleo"],
            bought.id,
            instance.certificate_signer,
            instance.settings.resolved_public_url,
        )
        (out / f"license-{bought.id}.json").write_text(json.dumps(certificate, indent=2))
        console.print(
            f"  Standard license for 15.00 EUR: ana earns {bought.owner_share_minor / 100:.2f}, "
            f"the platform keeps {bought.platform_share_minor / 100:.2f}"
        )
        own_price = licensing.create_offer(
            session, users["ana"], template="extended", price_minor=4000, generation_id=made[1].id
        )
        second = cleo_buys(made[1].id, own_price.id)
        console.print(
            f"  ana's own Extended license on the other image, 40.00 EUR (R6; offered from the "
            f"image's page too): ana earns {second.owner_share_minor / 100:.2f}, "
            f"the platform keeps {second.platform_share_minor / 100:.2f}"
        )
        due = ledger.balance_due(session, users["ana"].id, "EUR")
        report = licensing.reconcile(session)
        console.print(f"  ana's balance due: {due / 100:.2f} EUR; ledger reconciled: {report.ok}")

        console.rule("8. Anyone verifies a file (R9)")
        signed = verify_file(session, instance, instance.blobs.get(made[0].sha256))
        console.print(f"  {made[0].id}.png:")
        for line in signed.in_plain_words().splitlines()[:4]:
            console.print(f"    {line}", highlight=False)
        stripped = _png(COPY_EDITS["re-encode"](original.image()))
        report_stripped = verify_file(session, instance, stripped)
        console.print("  a re-encoded copy of ana's painting, its metadata gone:")
        for line in report_stripped.in_plain_words().splitlines():
            console.print(f"    {line}", highlight=False)

    console.rule("Where to look")
    console.print(f"  data directory: {instance.settings.data_dir}")
    console.print(f"  images and the license certificate: {instance.settings.data_dir / 'demo'}")
    console.print("  run `make serve` and open http://127.0.0.1:8000/docs for the API")
    console.print("  `.venv/bin/hallmark artworks list --as ana` lists ana's works")
    console.print("  `.venv/bin/hallmark verify FILE` checks any image's content credentials")
    console.print("  `.venv/bin/hallmark ledger reconcile` proves the books balance")
