"""The guided tour behind `make demo`: each finished capability adds its step here."""

from __future__ import annotations

import io
import json
import secrets
import uuid
from collections.abc import Callable

from PIL import Image
from rich.console import Console
from sqlalchemy.orm import Session

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.advice.service import advise_on_generation
from hallmark.artworks import service as artworks
from hallmark.compute import compute_threads, size_compute_threads
from hallmark.config import get_settings
from hallmark.db import transaction
from hallmark.errors import AppError, InvalidInput
from hallmark.gallery import service as gallery
from hallmark.gallery.watermark import PreviewCache
from hallmark.generations import service as generations
from hallmark.generations.models import Generation
from hallmark.instance import Instance
from hallmark.jobs import service as jobs
from hallmark.jobs.models import Job, JobState
from hallmark.jobs.runner import run_here
from hallmark.ledger import service as ledger
from hallmark.licensing import service as licensing
from hallmark.licensing.models import License
from hallmark.provenance.service import verify_file
from hallmark.rights.advisor import Action, UseDetails
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS
from hallmark.styles import service as styles
from hallmark.styles.export import export_style, verify_export
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.repository import StyleRepository
from hallmark.styles.training import style_directory
from hallmark.usage import service as usage

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


def _demo_style(
    session: Session, instance: Instance, ana: User, knobs: dict[str, int], console: Console
) -> tuple[StyleModel, Job | None]:
    """ana's style on her works, with the studio engine and the base model it ships, and the
    training it still needs (none if an earlier tour trained it)."""
    existing = StyleRepository(session).find_by_owner_and_name(ana.id, "Washes")
    if existing is not None:
        console.print(f"  [dim]style '{existing.name}' already exists (from an earlier tour)[/dim]")
        if existing.status == StyleStatus.READY.value:
            return existing, None
        return existing, jobs.submit_training(
            session, instance, instance.queues, ana, existing.id, knobs
        )
    style, job = jobs.train_new_style(
        session, instance, ana, "Washes", engine="studio", knobs=knobs
    )
    works = len(style.training_works)
    console.print(f"  style '{style.name}' ({style.id}), {works} works, private; training queued")
    return style, job


def _show_training(console: Console) -> Callable[[Job], None]:
    """Print a training's progress about six times, and its last step once."""
    shown: set[int] = set()

    def show(job: Job) -> None:
        every = max(1, job.total // 6)
        on_mark = job.step % every == 0 or job.step == job.total
        if job.step in shown or job.loss is None or job.step == 0 or not on_mark:
            return
        shown.add(job.step)
        eta = f"{job.eta_seconds:.0f} s left" if job.eta_seconds else "done"
        console.print(f"  step {job.step}/{job.total}  loss {job.loss:.4f}  {eta}")

    return show


def _user(session: Session, username: str) -> User:
    user = UserRepository(session).get_by_username(username)
    assert user is not None
    return user


def _sign_up_and_upload(session: Session, instance: Instance, console: Console) -> Image.Image:
    """Steps 1-3: two artists sign up and upload; the copy guard stops a copy. Returns the
    painting that was copied."""
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
    return original.image()


def _define_style(
    session: Session, instance: Instance, knobs: dict[str, int], console: Console
) -> tuple[uuid.UUID, Job | None]:
    """Step 4: ana defines a style on her works and queues its training; cleo cannot."""
    console.rule("4. ana defines a style on her works (R2: the model will be hers)")
    style, training = _demo_style(session, instance, _user(session, "ana"), knobs, console)
    own_items, _ = artworks.list_own_artworks(session, _user(session, "ana"))
    console.print("  cleo tries to define a style on ana's works: ", end="")
    try:
        styles.create_style(session, _user(session, "cleo"), "Borrowed", [a.id for a in own_items])
    except AppError as error:
        console.print(f"refused under {error.rule}: {error.message}")
    return style.id, training


def _publish_and_ask(
    session: Session, instance: Instance, style_id: uuid.UUID, console: Console
) -> Job:
    """Step 6's first half: ana publishes her trained style, cleo asks for two images."""
    style = styles.owned_style(session, _user(session, "ana"), style_id)
    console.print(
        f"  '{style.name}' is {style.status}; trained model in "
        f"{style_directory(instance, style.id)}"
    )
    console.rule("6. ana publishes it; cleo makes images with it (R4: they are ana's)")
    if style.visibility != "public":
        styles.publish_style(session, _user(session, "ana"), style_id, accept_platform_license=True)
    cleo = _user(session, "cleo")
    notice = styles.ownership_notice(session, cleo, style)
    if notice is not None:
        console.print(f"  cleo is told: {notice.statement}", highlight=False)
        console.print("  cleo acknowledges it (asked once per model)")
    ask = {"prompt": "a red boat on the blue sea at dusk", "count": 2, "seed": 7}
    return jobs.submit_generation(
        session, instance.queues, cleo, style_id, ask, acknowledge_ownership=True
    )


def _license(
    session: Session, instance: Instance, made_ids: list[uuid.UUID], console: Console
) -> list[Generation]:
    """Step 7: cleo licenses both images, then may download them."""
    cleo, ana = _user(session, "cleo"), _user(session, "ana")
    made = [generations.get_visible_generation(session, cleo, i) for i in made_ids]
    for generation in made:
        console.print(
            f"  image {generation.id}: owned by @ana ({generation.ownership_rule}), made by @cleo"
        )

    console.rule("7. cleo licenses both: one the platform sells for ana (R7), one at her price")

    def cleo_buys(generation_id: uuid.UUID, offer_id: uuid.UUID) -> License:
        """cleo buys a license on one of the images, charged once per image however often."""
        return licensing.purchase_license(
            session,
            cleo,
            generation_id,
            offer_id,
            idempotency_key=f"demo-{generation_id}",
            payments=instance.payments,
            platform_fee_bps=instance.settings.platform_fee_bps,
        )

    offer = licensing.create_offer(
        session, ana, template="standard", price_minor=1500, style_id=made[0].style_id
    )
    bought = cleo_buys(made[0].id, offer.id)
    certificate = licensing.certificate_for(
        session, cleo, bought.id, instance.certificate_signer, instance.settings.resolved_public_url
    )
    out = instance.settings.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"license-{bought.id}.json").write_text(json.dumps(certificate, indent=2))
    console.print(
        f"  Standard license for 15.00 EUR: ana earns {bought.owner_share_minor / 100:.2f}, "
        f"the platform keeps {bought.platform_share_minor / 100:.2f}"
    )
    own_price = licensing.create_offer(
        session, ana, template="extended", price_minor=4000, generation_id=made[1].id
    )
    second = cleo_buys(made[1].id, own_price.id)
    console.print(
        f"  ana's own Extended license on the other image, 40.00 EUR (R6; offered from the "
        f"image's page too): ana earns {second.owner_share_minor / 100:.2f}, "
        f"the platform keeps {second.platform_share_minor / 100:.2f}"
    )
    for generation in made:
        generations.download_generation(session, cleo, generation.id)
        path = out / f"{generation.id}.png"
        path.write_bytes(instance.blobs.get(generation.sha256))
        console.print(f"  cleo, now licensed, downloads {path.name}")
    due = ledger.balance_due(session, ana.id, "EUR")
    report = licensing.reconcile(session)
    console.print(f"  ana's balance due: {due / 100:.2f} EUR; ledger reconciled: {report.ok}")
    return made


def _gallery_and_books(
    session: Session, instance: Instance, made: list[Generation], console: Console
) -> None:
    """Step 8: ana shows her model in the gallery, reads its usage register and her statement;
    cleo asks what her license lets her do."""
    ana, cleo = _user(session, "ana"), _user(session, "cleo")
    style_id = made[0].style_id
    console.rule("8. The gallery, the usage register and ana's earnings")
    gallery.set_gallery_choices(
        session, ana, style_id, preview_ids=[made[0].id], listed_ids=[made[1].id]
    )
    out = instance.settings.data_dir / "demo"
    preview = gallery.preview_bytes(
        session, instance.blobs, PreviewCache(out / "previews"), None, made[1].id
    )
    (out / f"preview-{made[1].id}.jpg").write_bytes(preview)
    console.print(
        f"  ana chooses a preview and lists the other image; anyone sees it watermarked: "
        f"preview-{made[1].id}.jpg ({len(preview) // 1024} KiB, the clean file only under a "
        "license)"
    )
    _style, entries, total = usage.usage_register(session, ana, style_id)
    console.print(f"  ana's usage register ({total} images made with her model):")
    for entry in entries:
        bought = ", ".join(
            f"licensed to @{use.licensee_username} ({', '.join(use.purposes)})"
            for use in entry.licenses
        )
        console.print(
            f"    {entry.created_at:%Y-%m-%d %H:%M}  @{entry.maker_username}  "
            f"'{entry.prompt}'  {bought or 'not licensed'}",
            highlight=False,
        )
    for row in licensing.earnings_by_model_and_month(session, ana):
        console.print(
            f"  ana's {row.month} on '{row.style_name}': {row.sales} sales, gross "
            f"{row.gross_minor / 100:.2f}, platform's share {row.platform_share_minor / 100:.2f}, "
            f"hers {row.net_minor / 100:.2f} {row.currency}"
        )
    abroad = advise_on_generation(
        session,
        cleo,
        made[0].id,
        Action.COMMERCIAL_USE,
        UseDetails(territory="JP", copies=2_000_000),
    )
    console.print(
        f"  cleo asks whether she may print 2,000,000 copies in Japan: "
        f"{abroad.answer.outcome.value.replace('_', ' ')}: {abroad.answer.reason}",
        highlight=False,
    )


def _export(session: Session, instance: Instance, style_id: uuid.UUID, console: Console) -> None:
    """Step 9: ana takes her model with her; anyone can check the signed statement in it."""
    console.rule("9. ana exports her model (R2: it is hers to take)")
    out = instance.settings.data_dir / "demo"
    destination = out / "model-export.zip"
    export_style(session, instance, _user(session, "ana"), style_id, destination)
    check = verify_export(instance, destination.read_bytes())
    console.print(
        f"  {destination.name}: the LoRA, its manifest (the base model's hash, the training "
        f"works' hashes, never their pixels) and OWNERSHIP.txt signed by this instance; "
        f"checked: {check.reason}",
        highlight=False,
    )


def _verify(
    session: Session, instance: Instance, made: Generation, original: Image.Image, console: Console
) -> None:
    """Step 10: anyone checks a file's content credentials."""
    console.rule("10. Anyone verifies a file (R9)")
    signed = verify_file(session, instance, instance.blobs.get(made.sha256))
    console.print(f"  {made.id}.png:")
    for line in signed.in_plain_words().splitlines()[:4]:
        console.print(f"    {line}", highlight=False)
    stripped = _png(COPY_EDITS["re-encode"](original))
    report_stripped = verify_file(session, instance, stripped)
    console.print("  a re-encoded copy of ana's painting, its metadata gone:")
    for line in report_stripped.in_plain_words().splitlines():
        console.print(f"    {line}", highlight=False)


def _check_finished(job: Job) -> Job:
    """The job, if it succeeded; otherwise the tour stops with what went wrong."""
    if job.state != JobState.SUCCEEDED.value:
        raise InvalidInput(f"The {job.kind} job {job.state}: {job.error or 'see its record'}")
    return job


def run_demo(console: Console, training_steps: int | None = None) -> None:
    """The tour: sample artists upload, train, publish, generate, license and verify.

    Each step calls the service functions the API calls; training and generation run as jobs,
    in short transactions, exactly as a worker runs them.
    """
    knobs = {"steps": training_steps} if training_steps else {}
    settings = get_settings()
    size_compute_threads(compute_threads(settings, serves_api=False, runs_jobs=True))
    with Instance.open(settings) as instance:
        with transaction(instance.sessions) as session:
            original = _sign_up_and_upload(session, instance, console)
            style_id, training = _define_style(session, instance, knobs, console)

        console.rule("5. ana trains it with the studio engine, on this CPU")
        console.print(
            "  [dim]the studio engine fine-tunes the small base model the project trained on its "
            "own procedural world, then paints from ana's own patches (docs/engines.md)[/dim]"
        )
        if training is not None:
            _check_finished(run_here(instance, training.id, _show_training(console)))
        with transaction(instance.sessions) as session:
            generation = _publish_and_ask(session, instance, style_id, console)
        made_ids = _check_finished(run_here(instance, generation.id)).result["generation_ids"]
        with transaction(instance.sessions) as session:
            made = _license(session, instance, [uuid.UUID(i) for i in made_ids], console)
            _gallery_and_books(session, instance, made, console)
            _export(session, instance, style_id, console)
        with transaction(instance.sessions, read_only=True) as session:
            _verify(session, instance, made[0], original, console)

    console.rule("Where to look")
    console.print(f"  data directory: {instance.settings.data_dir}")
    console.print(
        f"  images, the license certificate, the watermarked preview and the model export: "
        f"{instance.settings.data_dir / 'demo'}"
    )
    console.print("  the pages: /gallery, a model's page (its usage register), /earnings")
    console.print("  run `make serve` and open http://127.0.0.1:8000/docs for the API")
    console.print("  `.venv/bin/hallmark artworks list --as ana` lists ana's works")
    console.print("  `.venv/bin/hallmark verify FILE` checks any image's content credentials")
    console.print("  `.venv/bin/hallmark ledger reconcile` proves the books balance")
