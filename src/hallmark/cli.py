"""The `hallmark` command: set up an instance, serve it, and manage it from a terminal."""

from __future__ import annotations

import os
import signal
import socket
import sys
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hallmark.accounts import service as accounts
from hallmark.artworks import service as artworks
from hallmark.compute import compute_threads, size_compute_threads
from hallmark.config import get_settings
from hallmark.db import transaction
from hallmark.errors import AcknowledgementRequired, AppError, InvalidInput
from hallmark.instance import Instance
from hallmark.storage import BlobStoreError

if TYPE_CHECKING:
    from hallmark.jobs.models import Job
    from hallmark.rights import OwnershipNotice

app = typer.Typer(
    name="hallmark",
    help="Hallmark: an AI studio owned by its artists.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
artworks_app = typer.Typer(help="Upload and list artworks.", no_args_is_help=True)
ledger_app = typer.Typer(help="Check the books and record payouts.", no_args_is_help=True)
licenses_app = typer.Typer(help="License certificates.", no_args_is_help=True)
styles_app = typer.Typer(help="Train style models on your works.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(artworks_app, name="artworks")
app.add_typer(ledger_app, name="ledger")
app.add_typer(licenses_app, name="licenses")
app.add_typer(styles_app, name="styles")

console = Console()
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MAX_CAPTION_FILE_BYTES = 16_384
SHUTDOWN_GRACE_SECONDS = 10


@contextmanager
def open_instance() -> Iterator[tuple[Instance, Session]]:
    """The configured instance, with one transaction for the whole command."""
    with Instance.open(get_settings()) as instance, transaction(instance.sessions) as session:
        yield instance, session


@app.command()
def init() -> None:
    """Create the data directory, the secret key and the database schema."""
    settings = get_settings()
    settings.resolved_secret_key()
    with Instance.open(settings):
        pass
    console.print(f"Data directory: {settings.data_dir}")
    console.print(f"Database:       {_redacted(settings.resolved_database_url)}")
    console.print(f"Blobs:          {settings.storage or settings.blob_dir}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            "--workers",
            min=1,
            max=64,
            help="API processes sharing the port (default: HALLMARK_API_PROCESSES, 1)",
        ),
    ] = None,
) -> None:
    """Run the studio (API and OpenAPI page at /docs) with the configured settings."""
    import uvicorn

    from hallmark.app import create_app
    from hallmark.jobs.host import JobWorkerError, JobWorkerProcess

    settings = get_settings()
    count = processes or settings.api_processes
    run_jobs = settings.resolved_serve_job_workers
    if run_jobs:
        # The job worker process and the API processes read these; set before any is started.
        os.environ["HALLMARK_API_PROCESSES"] = str(count)
        if not settings.worker_health_port:
            os.environ["HALLMARK_WORKER_HEALTH_PORT"] = str(free_loopback_port())
        get_settings.cache_clear()
        settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Hallmark on http://{bind_host}:{bind_port}  (API docs: /docs)")
    jobs_here = (
        f"a worker process with {settings.training_workers} training, "
        f"{settings.generation_workers} generation threads"
        if run_jobs
        else "none here (run `hallmark worker`)"
    )
    console.print(f"API processes: {count}; jobs: {jobs_here}; queue {settings.queue}")
    console.print(f"Data directory: {settings.data_dir}")
    # On SIGTERM open requests get this long (a long-poll answers early), then the job worker
    # hands its jobs back to the queue.
    options = {
        "host": bind_host,
        "port": bind_port,
        "log_level": "info",
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
        "backlog": 4096,
    }
    settings.resolved_secret_key()  # one secret for all processes, made before they start
    with Instance.open(settings):  # migrate once, before the processes start
        pass
    job_worker = JobWorkerProcess(settings) if run_jobs else None
    # uvicorn raises SIGTERM again once it has shut down; as an exception it lets the job
    # worker below be stopped rather than orphaned.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if job_worker is not None:
            try:
                job_worker.start()
            except JobWorkerError as error:
                console.print(f"error: {error}", style="red", highlight=False)
                raise typer.Exit(1) from None
        if count == 1:
            app_ = create_app(settings, run_migrations=False, host_worker=run_jobs)
            uvicorn.run(app_, **options)  # type: ignore[arg-type]
        else:
            uvicorn.run(
                "hallmark.app:create_app_in_process",
                factory=True,
                workers=count,
                **options,  # type: ignore[arg-type]
            )
    finally:
        if job_worker is not None:
            console.print("Stopping the job worker (running jobs go back to the queue)")
            job_worker.stop()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM as an orderly exit, so `finally` blocks run."""
    raise SystemExit(128 + signum)


def free_loopback_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@app.command()
def worker(
    parent_pid: Annotated[
        int | None,
        typer.Option(
            hidden=True,
            help="Stop when this process is gone (`hallmark serve` starts its worker so)",
        ),
    ] = None,
) -> None:
    """Take training and generation jobs off the queue until stopped (for GPU hosts)."""
    import threading

    from hallmark.health import HealthCheck, serve_worker_health
    from hallmark.jobs.runner import WorkerPool

    settings = get_settings()
    size_compute_threads(compute_threads(settings, serves_api=False, runs_jobs=True))
    with Instance.open(settings) as instance:
        pool = WorkerPool(instance, instance.sessions)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        pool.start()
        console.print(
            f"worker: {settings.training_workers} training, {settings.generation_workers} "
            f"generation threads on queue {settings.queue}"
        )
        if settings.worker_health_port:
            assert instance.database is not None
            check = HealthCheck(instance.database, instance)
            # A server's own worker answers its server only.
            health_host = "127.0.0.1" if parent_pid is not None else settings.host
            try:
                serve_worker_health(check, pool, health_host, settings.worker_health_port)
            except OSError as error:
                pool.stop()
                raise InvalidInput(
                    f"the worker cannot answer health probes on {health_host}:"
                    f"{settings.worker_health_port}: {error.strerror or error}"
                ) from None
            console.print(
                f"worker: health at http://{health_host}:{settings.worker_health_port}/health"
            )
        while not stop.wait(1.0):
            if parent_pid is not None and os.getppid() != parent_pid:
                console.print("worker: the server that started it is gone; stopping")
                break
        # Trainings stop at their next step; every job still held here goes back on the queue
        # without spending an attempt, and the next worker resumes it from its checkpoint.
        released = pool.stop()
    if released:
        console.print(f"worker: stopped; {len(released)} running job(s) re-queued")


@users_app.command("create")
def create_user(
    username: Annotated[str, typer.Argument(help="3-32 letters, digits, '_' or '-'")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    display_name: Annotated[str | None, typer.Option(help="Name shown to others")] = None,
) -> None:
    """Create an account."""
    with open_instance() as (_instance, session):
        user = accounts.register_user(session, username, password, display_name)
        console.print(f"Created user {user.username} ({user.id})")


def _files_in(paths: list[Path], max_bytes: int) -> Iterator[tuple[str, bytes]]:
    """Every image file named, found in a folder, or inside a zip archive, as (name, bytes)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    yield str(child), _read_at_most(child, max_bytes + 1)
        elif path.suffix.lower() == ".zip" and path.is_file():
            yield from _files_in_zip(path, max_bytes)
        elif path.is_file():
            yield str(path), _read_at_most(path, max_bytes + 1)
        else:
            raise InvalidInput(f"No such file or folder: {path}")


def _sidecar_captions(names: Iterable[str]) -> dict[str, str]:
    """Captions kept beside image files as NAME.txt, the way training sets are usually shared."""
    found = {}
    for name in names:
        sidecar = Path(name).with_suffix(".txt")
        if sidecar.is_file() and sidecar.stat().st_size <= MAX_CAPTION_FILE_BYTES:
            text = sidecar.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                found[name] = text
    return found


def _read_at_most(path: Path, size: int) -> bytes:
    """Up to `size` bytes of a file: enough for the upload check to refuse an oversized one."""
    with path.open("rb") as handle:
        return handle.read(size)


def _files_in_zip(path: Path, max_bytes: int) -> Iterator[tuple[str, bytes]]:
    """Image entries of a zip archive, each inflated no further than just past the upload limit."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise InvalidInput(f"{path} is not a readable zip archive.") from error
    with archive:
        for entry in archive.infolist():
            if entry.is_dir() or Path(entry.filename).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            with archive.open(entry) as handle:
                yield entry.filename, handle.read(max_bytes + 1)


@artworks_app.command("add")
def add_artworks(
    paths: Annotated[list[Path], typer.Argument(help="Image files, folders or .zip archives")],
    as_user: Annotated[str, typer.Option("--as", help="The uploading account")],
    i_hold_the_rights: Annotated[
        bool, typer.Option("--i-hold-the-rights", help="Attest that you hold these works' rights")
    ] = False,
    caption: Annotated[
        str | None, typer.Option(help="Caption for every file (a NAME.txt beside a file wins)")
    ] = None,
    opt_out_of_training: Annotated[
        bool, typer.Option("--opt-out-of-training", help="Never train on these works")
    ] = False,
) -> None:
    """Upload artworks; each file is accepted, recognised as a repeat, or refused with the rule."""
    with open_instance() as (instance, session):
        owner = accounts.get_user_by_username(session, as_user)
        files = list(_files_in(paths, instance.settings.max_upload_bytes))
        if not files:
            raise InvalidInput("No image files (.png, .jpg, .jpeg, .webp) found there.")
        results = artworks.upload_artworks(
            session,
            instance,
            owner,
            files,
            caption=caption,
            captions=_sidecar_captions(name for name, _ in files),
            rights_attested=i_hold_the_rights,
            training_opt_out=opt_out_of_training,
        )
    table = Table("file", "outcome", "artwork / reason")
    for result in results:
        if result.error is not None:
            rule = f" [{result.error.rule}]" if result.error.rule else ""
            detail = f"{result.error.message}{rule}"
        else:
            detail = str(result.artwork.id) if result.artwork else ""
        table.add_row(result.filename, result.outcome.value, detail)
    console.print(table)
    refused = sum(1 for r in results if r.outcome is artworks.UploadOutcome.REFUSED)
    if refused:
        console.print(f"{refused} of {len(results)} files refused.", style="red")
        raise typer.Exit(1)


@artworks_app.command("list")
def list_artworks(
    as_user: Annotated[str, typer.Option("--as", help="Whose artworks")],
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """List an account's artworks, newest first."""
    with open_instance() as (_instance, session):
        owner = accounts.get_user_by_username(session, as_user)
        items, total = artworks.list_own_artworks(session, owner, limit=limit)
        table = Table("id", "file", "size", "caption", "training")
        for item in items:
            table.add_row(
                str(item.id),
                item.original_filename,
                f"{item.width}x{item.height}",
                item.caption or "",
                "opted out" if item.training_opt_out else "allowed",
            )
    console.print(table)
    console.print(f"{total} artworks")


@ledger_app.command("reconcile")
def reconcile_ledger() -> None:
    """Prove the books: balanced transactions, every license booked once at its price."""
    from hallmark.licensing.service import reconcile

    with open_instance() as (_instance, session):
        report = reconcile(session)
    table = Table("account", "currency", "balance (minor units)")
    for (account, currency), amount in sorted(report.balances.items()):
        table.add_row(account, currency, str(amount))
    console.print(table)
    if not report.ok:
        for problem in report.problems:
            console.print(f"problem: {problem}", style="red", highlight=False)
        raise typer.Exit(1)
    console.print(f"ledger reconciled: {report.entries} entries, every invariant holds")


@ledger_app.command("payout")
def record_payout(
    owner: Annotated[str, typer.Argument(help="The owner's username")],
    amount_minor: Annotated[int, typer.Argument(help="Amount in minor units (cents)")],
    reference: Annotated[str, typer.Option(help="The bank transfer's reference")],
    currency: Annotated[str, typer.Option()] = "EUR",
) -> None:
    """Record that part of an owner's balance was paid to them."""
    from hallmark.ledger import service as ledger

    with open_instance() as (_instance, session):
        user = accounts.get_user_by_username(session, owner)
        ledger.record_payout(
            session,
            owner_id=user.id,
            amount_minor=amount_minor,
            currency=currency.upper(),
            reference=reference,
        )
        due = ledger.balance_due(session, user.id, currency.upper())
    console.print(f"paid {amount_minor} to @{owner}; {due} {currency.upper()} minor units due")


@licenses_app.command("verify")
def verify_license(
    path: Annotated[Path, typer.Argument(help="A license certificate (.json)", exists=True)],
) -> None:
    """Check a license certificate: intact, and signed by this instance?"""
    from hallmark.licensing.certificates import verify_certificate

    settings = get_settings()
    instance = Instance.from_settings(settings)
    check = verify_certificate(path.read_bytes(), instance.certificate_signer.public_key)
    if not check.valid:
        console.print(f"NOT VALID: {check.reason}", style="red", highlight=False)
        raise typer.Exit(1)
    body = check.certificate or {}
    console.print(
        f"valid license {body['license_id']}: @{body['licensee']['username']} may use image "
        f"{body['image']['sha256'][:16]}… of @{body['owner']['username']} under "
        f"{body['terms']['name']} ({', '.join(body['terms']['purposes'])}); {check.reason}",
        highlight=False,
    )
    if not check.trusted:
        raise typer.Exit(2)


@styles_app.command("train")
def train_style(
    name: Annotated[str, typer.Argument(help="The style's name")],
    as_user: Annotated[str, typer.Option("--as", help="The artist who owns the works")],
    engine: Annotated[
        str, typer.Option(help="studio (CPU, built in) or diffusers-lora")
    ] = "studio",
    base: Annotated[
        str | None,
        typer.Option(help="Base model (diffusers-lora: folder, .safetensors or hub id)"),
    ] = None,
    artwork: Annotated[
        list[str] | None, typer.Option(help="An artwork id (repeat); default: all your works")
    ] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Default: the engine's")] = None,
    resolution: Annotated[int | None, typer.Option(help="Training side in px")] = None,
    rank: Annotated[int | None, typer.Option(min=1)] = None,
    learning_rate: Annotated[float | None, typer.Option()] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or mps")] = "cpu",
    min_side: Annotated[int | None, typer.Option(help="Smallest work side accepted, px")] = None,
    trigger: Annotated[str, typer.Option(help="The token that calls up the style")] = "hmstyle",
    detach: Annotated[bool, typer.Option(help="Queue it and return at once")] = False,
) -> None:
    """Define a style on your works and train it, with a progress bar; resumes if interrupted."""
    from hallmark.jobs import service as jobs
    from hallmark.styles.repository import StyleRepository

    chosen = {
        "steps": steps,
        "resolution": resolution,
        "rank": rank,
        "alpha": rank,
        "learning_rate": learning_rate,
        "device": device,
        "min_side": min_side,
        "trigger": trigger,
    }
    knobs = {key: value for key, value in chosen.items() if value is not None}
    with _instance_for_jobs() as instance:
        with transaction(instance.sessions) as session:
            owner = accounts.get_user_by_username(session, as_user)
            style = StyleRepository(session).find_by_owner_and_name(owner.id, name.strip())
            if style is None:
                ids = [uuid.UUID(value) for value in artwork] if artwork else None
                style, job = jobs.train_new_style(
                    session,
                    instance,
                    owner,
                    name,
                    ids,
                    engine=engine,
                    base_model=base or "",
                    knobs=knobs,
                )
            else:  # trained before: train it again, resuming from its checkpoint
                job = jobs.submit_training(
                    session, instance, instance.queues, owner, style.id, knobs
                )
            job_id, style_id, style_name = job.id, style.id, style.name
        # Committed: the job is queued now, whoever runs it.
        if detach:
            console.print(f"training queued as job {job_id}; follow it with GET /api/jobs/{job_id}")
            return
        _run_and_watch(instance, job_id, f"training '{style_name}'")
    console.print(f"style '{style_name}' ({style_id}) is ready; its images belong to @{as_user}")


@styles_app.command("export")
def export_style(
    style_id: Annotated[str, typer.Argument(help="The style's id")],
    as_user: Annotated[str, typer.Option("--as", help="The style's owner")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The zip to write")],
) -> None:
    """Export your trained style: LoRA files for other tools and a signed ownership statement."""
    from hallmark.styles.export import export_style as write_export

    try:
        wanted = uuid.UUID(style_id)
    except ValueError:
        raise InvalidInput(f"'{style_id}' is not a style id.") from None
    partial = output.with_name(f".{output.name}.partial")
    with open_instance() as (instance, session):
        owner = accounts.get_user_by_username(session, as_user)
        try:
            write_export(session, instance, owner, wanted, partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(output)
    console.print(f"{output}: the model, its manifest and signed OWNERSHIP.txt", highlight=False)


@styles_app.command("import")
def import_style(
    path: Annotated[Path, typer.Argument(help="A LoRA .safetensors (kohya or diffusers)")],
    as_user: Annotated[str, typer.Option("--as", help="The artist who owns it")],
    name: Annotated[str, typer.Option(help="The style's name")],
    base: Annotated[str, typer.Option(help="The base model it was trained for")],
    attest: Annotated[
        bool, typer.Option("--attest", help="It was trained on works I hold the rights to (R2)")
    ] = False,
    trigger: Annotated[
        str | None, typer.Option(help="Default: the file's own trigger phrase")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or mps, for its generations")] = "cpu",
) -> None:
    """Import a LoRA you trained elsewhere on your own works: a private style you own."""
    from hallmark.styles import importing

    if not path.is_file():
        raise InvalidInput(f"No such file: {path}")
    with open_instance() as (instance, session):
        owner = accounts.get_user_by_username(session, as_user)
        style = importing.import_style(
            session,
            instance,
            owner,
            path,
            name=name,
            base_model=base,
            attested=attest,
            trigger=trigger,
            device=device,
        )
        style_id = style.id
    console.print(
        f"style '{name.strip()}' ({style_id}) imported: private, ready, owned by @{as_user} "
        "on your attestation (R2)",
        highlight=False,
    )


@styles_app.command("verify-export")
def verify_style_export(
    path: Annotated[Path, typer.Argument(help="An export's .zip", exists=True)],
) -> None:
    """Check an export: its ownership statement signed by this instance, every file intact."""
    from hallmark.styles.export import verify_export

    instance = Instance.from_settings(get_settings())
    check = verify_export(instance, path.read_bytes())
    if not check.valid:
        console.print(f"NOT VALID: {check.reason}", style="red", highlight=False)
        raise typer.Exit(1)
    console.print(check.statement, highlight=False)
    console.print(f"valid: {check.reason}; every file matches the statement", highlight=False)
    if not check.trusted:
        raise typer.Exit(2)


@contextmanager
def _instance_for_jobs() -> Iterator[Instance]:
    """The configured instance for a command that runs a job in this process: its numerical
    threads sized for that first, and no transaction held (each step opens its own)."""
    settings = get_settings()
    size_compute_threads(compute_threads(settings, serves_api=False, runs_jobs=True))
    with Instance.open(settings) as instance:
        yield instance


def _run_and_watch(instance: Instance, job_id: uuid.UUID, title: str) -> Job:
    """Run a queued job here (unless a worker already took it) and show its progress."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from hallmark.jobs.models import JobState
    from hallmark.jobs.runner import run_here

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps  loss {task.fields[loss]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(title, total=None, loss="-")

        def show(job: Job) -> None:
            loss = f"{job.loss:.4f}" if job.loss is not None else "-"
            bar.update(task, completed=job.step, total=job.total or None, loss=loss)

        try:
            job = run_here(instance, job_id, show)
        except KeyboardInterrupt:
            console.print("cancelled: a training stopped at its last step and kept its checkpoint")
            raise typer.Exit(130) from None
    if JobState(job.state) is not JobState.SUCCEEDED:
        raise InvalidInput(f"the job {job.state}: {job.error or 'see its record'}")
    return job


def on_terminal() -> bool:
    """Whether a person is at the keyboard to answer a question."""
    return sys.stdin.isatty()


def _told_whose_images(found: tuple[OwnershipNotice, bool] | None, acknowledge: bool) -> bool:
    """Print the ownership notice of someone else's style (R4), and on first use get the maker's
    acknowledgement: from --acknowledge, or asked on a terminal; whether it is given."""
    if found is None:
        return acknowledge
    notice, acknowledged = found
    console.print(f"note: {notice.text}", highlight=False)
    if acknowledged or acknowledge:
        return True
    if not on_terminal():
        raise AcknowledgementRequired(
            f"{notice.statement} Pass --acknowledge to accept it and generate; you are asked "
            "once per style.",
            rule=notice.rule.value,
        )
    if not typer.confirm(f"Make images that will belong to @{notice.owner_username}?"):
        raise typer.Exit(1)
    return True


@app.command()
def generate(
    style_id: Annotated[str, typer.Argument(help="The style's id")],
    prompt: Annotated[str, typer.Argument(help="What to draw")],
    as_user: Annotated[str, typer.Option("--as", help="Who is asking")],
    count: Annotated[int, typer.Option("-n", "--count", min=1, max=16)] = 1,
    seed: Annotated[int, typer.Option()] = 0,
    steps: Annotated[int | None, typer.Option(min=1, max=200, help="Default: the engine's")] = None,
    size: Annotated[
        int | None, typer.Option(help="Width and height in px; default: the engine's")
    ] = None,
    strength: Annotated[float, typer.Option(help="How strongly to apply the style")] = 1.0,
    guidance: Annotated[float | None, typer.Option(help="Default: the engine's")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the images")] = Path("."),
    acknowledge: Annotated[
        bool,
        typer.Option(
            "--acknowledge",
            help="With someone else's style: accept that the images are its owner's (R4); "
            "needed once per style, asked on a terminal",
        ),
    ] = False,
) -> None:
    """Make images with a style; each is signed and belongs to the style's owner (R3/R4)."""
    from pydantic import ValidationError

    from hallmark.engines import prompt_notes
    from hallmark.generations import service as generations
    from hallmark.jobs import service as jobs
    from hallmark.jobs.schemas import GenerationAsk
    from hallmark.styles.service import get_visible_style, notice_for_viewer

    try:
        ask = GenerationAsk(
            prompt=prompt,
            count=count,
            seed=seed,
            steps=steps,
            width=size,
            height=size,
            guidance=guidance,
            strength=strength,
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidInput(problems) from None
    with _instance_for_jobs() as instance:
        with transaction(instance.sessions) as session:
            maker = accounts.get_user_by_username(session, as_user)
            chosen = get_visible_style(session, maker, uuid.UUID(style_id))
            notice = notice_for_viewer(session, maker, chosen)
            acknowledge = _told_whose_images(notice, acknowledge)
            job = jobs.submit_generation(
                session,
                instance.queues,
                maker,
                chosen.id,
                ask.engine_request(),
                acknowledge_ownership=acknowledge,
            )
            job_id = job.id
        # Committed: queued now, whoever runs it.
        made = _run_and_watch(instance, job_id, "generating").result.get("generation_ids", [])
        lines = []
        with transaction(instance.sessions, read_only=True) as session:
            maker = accounts.get_user_by_username(session, as_user)
            style = get_visible_style(session, maker, jobs.get_job(session, maker, job_id).style_id)
            out.mkdir(parents=True, exist_ok=True)
            for value in made:
                generation_id = uuid.UUID(value)
                generation = generations.get_visible_generation(session, maker, generation_id)
                owner = accounts.username_of(session, generation.owner_id)
                owned_by = f"owned by @{owner or '?'}"
                flag = "  NEAR-COPY: held back (R11)" if generation.near_copy else ""
                decision = generations.download_decision(session, maker, generation)
                if not decision.allowed:
                    lines.append(
                        f"{generation_id}  {owned_by}{flag}: {decision.reason} ({decision.rule})"
                    )
                    continue
                path = out / f"{generation_id}.png"
                path.write_bytes(instance.blobs.get(generation.sha256))
                lines.append(f"{path}  {owned_by}{flag}")
            notes = prompt_notes(style.engine, prompt, style.base_model)
            lines += [f"note: {note}" for note in notes]
    for line in lines:
        console.print(line, highlight=False)


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="Any PNG, JPEG or WebP file", exists=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Who made this image, who owns it, was it altered? Reads and checks its credentials."""
    from hallmark.provenance.service import Verdict, report_json, verify_file

    with open_instance() as (instance, session):
        data = _read_at_most(path, instance.settings.max_upload_bytes + 1)
        report = verify_file(session, instance, data)
    if as_json:
        typer.echo(report_json(report))
    else:
        console.print(report.in_plain_words(), highlight=False)
    if report.verdict == Verdict.TAMPERED:
        raise typer.Exit(1)


@app.command()
def derive(
    original: Annotated[Path, typer.Argument(help="The image it was made from", exists=True)],
    derived: Annotated[Path, typer.Argument(help="The edited or traced image", exists=True)],
    as_user: Annotated[str, typer.Option("--as", help="Who made the derivative")],
    output: Annotated[Path | None, typer.Option(help="Where to write (default: beside it)")] = None,
    description: Annotated[str, typer.Option(help="What was done")] = "edited",
) -> None:
    """Sign a derivative with its original as an ingredient, so the AI disclosure travels (R9)."""
    from hallmark.artworks.images import inspect_image
    from hallmark.provenance.service import sign_derivative

    with open_instance() as (instance, session):
        author = accounts.get_user_by_username(session, as_user)
        limits = instance.settings
        payloads = [_read_at_most(p, limits.max_upload_bytes + 1) for p in (original, derived)]
        infos = [
            inspect_image(
                data,
                max_bytes=limits.max_upload_bytes,
                max_pixels=limits.max_image_pixels,
                min_side=1,
            )
            for data in payloads
        ]
        signed = sign_derivative(
            instance.signing_identity,
            payloads[0],
            infos[0].mime,
            payloads[1],
            infos[1].mime,
            author=author.username,
            description=description,
        )
    target = output or derived.with_name(f"{derived.stem}-signed{derived.suffix}")
    target.write_bytes(signed)
    console.print(f"signed derivative written to {target}")


@app.command()
def rights(
    path: Annotated[Path, typer.Argument(help="The image you ask about", exists=True)],
    action: Annotated[
        str,
        typer.Option(
            help="view, keep_private, publish, sell, commercial_use, editorial_use, modify, "
            "trace, print, merchandise or train"
        ),
    ] = "trace",
    as_user: Annotated[str | None, typer.Option("--as", help="Who is asking")] = None,
    service: Annotated[
        str | None, typer.Option(help="Which service made it (midjourney, openai, ...)")
    ] = None,
    plan: Annotated[str | None, typer.Option(help="Which plan it was made on")] = None,
    made: Annotated[str | None, typer.Option(help="When it was made (YYYY-MM-DD)")] = None,
    mine: Annotated[
        bool | None, typer.Option("--mine/--not-mine", help="Did you generate it?")
    ] = None,
    revenue_over_1m: Annotated[
        bool | None, typer.Option("--revenue-over-1m/--revenue-under-1m")
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="Where you use it (ISO 3166-1 code, e.g. FR)")
    ] = None,
    copies: Annotated[
        int | None, typer.Option(min=1, help="Copies you make, or the audience you reach")
    ] = None,
    credit: Annotated[
        bool | None, typer.Option("--credit/--no-credit", help="Do you credit its owner?")
    ] = None,
    on: Annotated[str | None, typer.Option(help="The day of use (YYYY-MM-DD); today")] = None,
    disclosure: Annotated[
        bool | None,
        typer.Option(
            "--keeps-disclosure/--drops-disclosure",
            help="Does what you publish keep its AI disclosure (R9)?",
        ),
    ] = None,
    derivative: Annotated[
        bool | None,
        typer.Option(
            "--derivative/--not-derivative",
            help="Is the model you train a fine-tune or LoRA of the one that made it?",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who owns this image, and may you trace, sell, modify or train on it? With reasons."""
    import json
    from datetime import date

    from hallmark.advice.schemas import RightsAnswer
    from hallmark.advice.service import SuppliedFacts, advise_on_file
    from hallmark.rights.advisor import Action, UseDetails
    from hallmark.rights.territories import TerritoryError, country_code

    try:
        chosen = Action(action)
    except ValueError:
        raise InvalidInput(
            f"Unknown action '{action}'; choose one of: {', '.join(Action)}."
        ) from None
    try:
        made_on = date.fromisoformat(made) if made else None
    except ValueError:
        raise InvalidInput(f"--made must be a date like 2024-05-01, not '{made}'.") from None
    try:
        used_on = date.fromisoformat(on) if on else None
    except ValueError:
        raise InvalidInput(f"--on must be a date like 2024-05-01, not '{on}'.") from None
    try:
        territory = country_code(country) if country else None
    except TerritoryError as error:
        raise InvalidInput(f"--country: {error}") from None
    supplied = SuppliedFacts(service, plan, made_on, mine, revenue_over_1m)
    details = UseDetails(territory, copies, credit, used_on, disclosure, derivative)
    with open_instance() as (instance, session):
        user = accounts.get_user_by_username(session, as_user) if as_user else None
        data = _read_at_most(path, instance.settings.max_upload_bytes + 1)
        advice = advise_on_file(session, instance, user, data, chosen, supplied, details)
    if as_json:
        typer.echo(json.dumps(RightsAnswer.from_advice(advice).model_dump(mode="json"), indent=2))
        return
    console.print(advice.answer.in_plain_words(), highlight=False)
    console.print(f"(facts from {advice.facts_from})", style="dim")


@app.command("ownership-guide")
def ownership_guide() -> None:
    """Print the "Who owns what" guide as Markdown (the source of docs/ownership.md)."""
    from hallmark.rights.guide import guide_markdown
    from hallmark.rights.policies import load_policies

    typer.echo(guide_markdown(load_policies()), nl=False)


@app.command()
def demo(
    training_steps: Annotated[
        int | None, typer.Option(min=1, help="Training steps (default: the engine's own)")
    ] = None,
) -> None:
    """A guided tour: sample artists upload their works and the ownership rules act on them."""
    from hallmark.demo import run_demo

    run_demo(console, training_steps=training_steps)


def _redacted(url: str) -> str:
    """A database URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def main() -> None:
    """Run the CLI; known errors print one clear line and exit 1, never a traceback."""
    try:
        app()
    except AppError as error:
        rule = f" (rule {error.rule})" if error.rule else ""
        console.print(f"error: {error.message}{rule}", style="red", highlight=False)
        sys.exit(1)
    except OperationalError as error:
        console.print(f"error: the database cannot be used: {error.orig}", style="red")
        sys.exit(1)
    except BlobStoreError as error:
        console.print(f"error: {error}", style="red", highlight=False)
        sys.exit(1)
