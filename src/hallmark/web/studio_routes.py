"""The artist's pages: my artworks, train a style, follow a job, create images, publish."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.artworks import service as artworks
from hallmark.deps import BlobStoreDep, InstanceDep, SessionDep, blob_response
from hallmark.errors import AppError, NotFound
from hallmark.generations import service as generations
from hallmark.jobs import service as jobs
from hallmark.jobs.models import Job, JobKind
from hallmark.rate_limits import RateLimiter
from hallmark.serving import spooled_to_disk
from hallmark.styles import importing
from hallmark.styles import service as styles
from hallmark.styles.routes import export_response
from hallmark.web.routes import FORGED_FORM, form_is_genuine, page_user, render
from hallmark.web.style_tools import create_page_context

router = APIRouter(include_in_schema=False)


def to_login(request: Request) -> RedirectResponse:
    """Pages for signed-in people send visitors to log in first."""
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def refused(
    request: Request, page: str, user: User, error: AppError | str, **context: Any
) -> HTMLResponse:
    """The page again, with what went wrong and the rule that decided it."""
    if isinstance(error, AppError):
        rule = f" ({error.rule})" if error.rule else ""
        return render(
            request,
            page,
            {**context, "error": f"{error.message}{rule}"},
            user=user,
            status_code=error.status_code,
        )
    return render(request, page, {**context, "error": error}, user=user, status_code=403)


def _artworks_context(session: SessionDep, user: User) -> dict[str, Any]:
    items, total = artworks.list_own_artworks(session, user, limit=200)
    return {"artworks": items, "total": total}


@router.get("/artworks", response_class=HTMLResponse, response_model=None)
def my_artworks(request: Request, session: SessionDep) -> Response:
    """My artworks, with the multi-file upload form."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    return render(request, "artworks.html", _artworks_context(session, user), user=user)


@router.post("/artworks", response_class=HTMLResponse, response_model=None)
def upload_my_artworks(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    files: Annotated[list[UploadFile], File()],
    attest_rights: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Upload many works at once; each file gets its own outcome (accepted, repeat, refused)."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    if not form_is_genuine(request, csrf_token):
        return refused(
            request, "artworks.html", user, FORGED_FORM, **_artworks_context(session, user)
        )
    limit = instance.settings.max_upload_bytes
    read: list[tuple[str, bytes]] = []
    for upload in files[:100]:
        # One byte past the limit is enough for the service to refuse it, naming the limit.
        read.append((Path(upload.filename or "upload").name, upload.file.read(limit + 1)))
    results = artworks.upload_artworks(session, instance, user, read, rights_attested=attest_rights)
    context = {**_artworks_context(session, user), "results": results}
    return render(request, "artworks.html", context, user=user)


@router.get("/artworks/{artwork_id}/image", response_model=None)
def artwork_image(
    artwork_id: uuid.UUID, request: Request, session: SessionDep, blobs: BlobStoreDep
) -> Response:
    """An artwork's file, for its owner only (R1)."""
    artwork = artworks.get_own_artwork(session, page_user(request, session), artwork_id)
    return blob_response(blobs, artwork.sha256, artwork.mime)


@router.get("/styles/new", response_class=HTMLResponse, response_model=None)
def new_style_page(request: Request, session: SessionDep) -> Response:
    """Train a style on all my works that allow training."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    return render(request, "train.html", _train_context(session, user), user=user)


def _train_context(session: SessionDep, user: User) -> dict[str, Any]:
    """What the train page tells: how many of my works a new style would learn from."""
    trainable = artworks.list_trainable_artworks(session, user, limit=styles.MAX_TRAINING_WORKS)
    return {"trainable": len(trainable)}


@router.post("/styles/new", response_class=HTMLResponse, response_model=None)
def train_new_style(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    name: Annotated[str, Form(max_length=100)],
    steps: Annotated[int | None, Form(ge=1, le=5000)] = None,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Define the style on my trainable works and queue its training; then follow its progress."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    context = _train_context(session, user)
    if not form_is_genuine(request, csrf_token):
        return refused(request, "train.html", user, FORGED_FORM, **context)
    try:
        with session.begin_nested():
            knobs = {"steps": steps} if steps else {}
            _style, job = jobs.train_new_style(session, instance, user, name, knobs=knobs)
    except AppError as error:
        return refused(request, "train.html", user, error, **context)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/styles/import", response_class=HTMLResponse, response_model=None)
def import_style_page(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=100)],
    base_model: Annotated[str, Form(max_length=255)],
    attest: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Bring a LoRA trained elsewhere on my own works: a private style I own (R2, attested)."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    context = _train_context(session, user)
    if not form_is_genuine(request, csrf_token):
        return refused(request, "train.html", user, FORGED_FORM, **context)
    try:
        importing.check_import(session, user, name=name, base_model=base_model, attested=attest)
        limit = instance.settings.max_model_bytes
        with spooled_to_disk(file, limit, ".safetensors") as path, session.begin_nested():
            style = importing.import_style(
                session,
                instance,
                user,
                path,
                name=name,
                base_model=base_model,
                attested=attest,
            )
    except AppError as error:
        return refused(request, "train.html", user, error, **context)
    return RedirectResponse(f"/create?style={style.id}", status_code=303)


def job_progress(job: Job) -> dict[str, Any]:
    """What the job page shows of a job while it runs (also served as JSON for live updates)."""
    return {
        "state": job.state,
        "step": job.step,
        "total": job.total,
        "percent": round(100 * job.step / job.total) if job.total else 0,
        "loss": job.loss,
        "eta_seconds": job.eta_seconds,
        "samples": len(job.result.get("samples", [])),
        "running": job.state in ("queued", "running"),
    }


@router.get("/jobs/{job_id}/progress", response_model=None)
def job_progress_json(job_id: uuid.UUID, request: Request, session: SessionDep) -> Response:
    """A job's progress as JSON: the job page polls it to update itself without reloading."""
    user = page_user(request, session)
    if user is None:
        raise NotFound("No such job.")
    return JSONResponse(job_progress(jobs.get_job(session, user, job_id)))


@router.get("/jobs/{job_id}", response_class=HTMLResponse, response_model=None)
def job_page(job_id: uuid.UUID, request: Request, session: SessionDep) -> Response:
    """A training's or generation's progress, updated live until it is done."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    job = jobs.get_job(session, user, job_id)
    style = styles.get_visible_style(session, user, job.style_id)
    owner = accounts.username_of(session, style.owner_id)
    made = []
    if job.kind == JobKind.GENERATE_IMAGES.value:
        for generation_id in job.result.get("generation_ids", []):
            made.append(uuid.UUID(generation_id))
    progress = job_progress(job)
    context = {
        "job": job,
        "style": style,
        "owner": owner or "?",
        "samples": range(progress["samples"]),
        "made": made,
        "percent": progress["percent"],
        "running": progress["running"],
        "is_owner": style.owner_id == user.id,
    }
    return render(request, "job.html", context, user=user)


@router.get("/jobs/{job_id}/samples/{number}", response_model=None)
def job_sample(
    job_id: uuid.UUID, number: int, request: Request, session: SessionDep, blobs: BlobStoreDep
) -> Response:
    """A training's sample image, for the person who started it."""
    user = page_user(request, session)
    if user is None:
        raise NotFound("No such sample image.")
    samples = jobs.get_job(session, user, job_id).result.get("samples", [])
    if not 0 <= number < len(samples):
        raise NotFound("No such sample image.")
    return blob_response(blobs, samples[number], "image/png")


@router.post("/styles/{style_id}/publish", response_model=None)
def publish(
    style_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    accept_platform_license: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Publish my trained style (R5), granting the platform its license to sell for me (R7)."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    if not form_is_genuine(request, csrf_token):
        return render(request, "home.html", {"error": FORGED_FORM}, user=user, status_code=403)
    styles.publish_style(session, user, style_id, accept_platform_license=accept_platform_license)
    return RedirectResponse(f"/create?style={style_id}", status_code=303)


@router.get("/styles/{style_id}/export", response_model=None)
def export_style(
    style_id: uuid.UUID, request: Request, session: SessionDep, instance: InstanceDep
) -> Response:
    """Download my trained style in the formats other tools load, as in the API."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    return export_response(session, instance, user, style_id)


@router.get("/create", response_class=HTMLResponse, response_model=None)
def create_page(style: uuid.UUID, request: Request, session: SessionDep) -> Response:
    """The prompt box for one style, with a warning when the style is someone else's."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    found = styles.get_visible_style(session, user, style)
    return render(request, "create.html", create_page_context(session, user, found), user=user)


@router.post("/create", response_class=HTMLResponse, response_model=None)
def create(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    style_id: Annotated[uuid.UUID, Form()],
    prompt: Annotated[str, Form(min_length=1, max_length=4000)],
    count: Annotated[int, Form(ge=1, le=8)] = 1,
    seed: Annotated[int, Form(ge=0)] = 0,
    strength: Annotated[float, Form(ge=0, le=2)] = 1.0,
    steps: Annotated[int | None, Form(ge=1, le=200)] = None,
    acknowledge_ownership: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Queue images with the style (rate-limited per person); then watch them arrive."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    found = styles.get_visible_style(session, user, style_id)
    context = create_page_context(session, user, found)
    if not form_is_genuine(request, csrf_token):
        return refused(request, "create.html", user, FORGED_FORM, **context)
    limiter: RateLimiter = request.app.state.generation_limiter
    if wait := limiter.check(str(user.id)):
        response = refused(
            request,
            "create.html",
            user,
            f"Too many requests; try again in {int(wait) + 1} s.",
            **context,
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    ask: dict[str, Any] = {"prompt": prompt, "count": count, "seed": seed, "strength": strength}
    if steps:
        ask["steps"] = steps
    try:
        with session.begin_nested():
            job = jobs.submit_generation(
                session,
                instance.queues,
                user,
                style_id,
                ask,
                acknowledge_ownership=acknowledge_ownership,
            )
    except AppError as error:
        return refused(request, "create.html", user, error, **context)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/images/{generation_id}", response_model=None)
def image_file(
    generation_id: uuid.UUID, request: Request, session: SessionDep, blobs: BlobStoreDep
) -> Response:
    """An image file: for its owner, or for a maker who licensed it (R4/R8), as in the API."""
    user = page_user(request, session)
    if user is None:
        raise NotFound("No such image.")
    generation = generations.download_generation(session, user, generation_id)
    return blob_response(blobs, generation.sha256, generation.mime)
