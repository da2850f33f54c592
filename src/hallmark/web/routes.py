"""The pages: sign up, log in and out, the public models, "Verify a file" and "Who owns what"."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.deps import (
    InstanceDep,
    SessionDep,
    SettingsDep,
    client_address,
    sign_in_attempt_key,
    user_for_bearer,
)
from hallmark.errors import AppError, NotAuthenticated
from hallmark.gallery import service as gallery
from hallmark.provenance.service import verify_file
from hallmark.rate_limits import RateLimiter
from hallmark.rights import guide
from hallmark.rights.advisor import COPYRIGHT_NOTE
from hallmark.rights.decisions import Rule
from hallmark.rights.policies import load_policies
from hallmark.styles.service import list_public_styles
from hallmark.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    csrf_matches,
    csrf_token_from_cookie,
    new_csrf_cookie,
)

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
FORGED_FORM = "This form expired or did not come from this site; reload the page and try again."


def page_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in visitor from the session cookie; an expired or revoked one is anonymous."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return user_for_bearer(request, session, token)
    except NotAuthenticated:
        return None


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: User | None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page with the visitor and a CSRF token for its forms (setting the cookie if needed)."""
    secret = request.app.state.instance.settings.resolved_secret_key()
    settings = request.app.state.instance.settings
    cookie = request.cookies.get(CSRF_COOKIE)
    session_token = request.cookies.get(SESSION_COOKIE) if user is not None else None
    token = csrf_token_from_cookie(secret, cookie, session_token)
    fresh = None
    if token is None:
        fresh = new_csrf_cookie(secret, session_token)
        token = csrf_token_from_cookie(secret, fresh, session_token)
    response = templates.TemplateResponse(
        request, name, {**context, "user": user, "csrf_token": token}, status_code=status_code
    )
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE, fresh, httponly=True, samesite="strict", secure=settings.secure_cookies
        )
    if request.cookies.get(SESSION_COOKIE) and user is None:
        response.delete_cookie(SESSION_COOKIE)  # expired or revoked: forget it
    return response


def form_is_genuine(request: Request, submitted: str | None) -> bool:
    """Whether a posted form carries the CSRF token of this visitor's cookie."""
    secret = request.app.state.instance.settings.resolved_secret_key()
    session_token = request.cookies.get(SESSION_COOKIE)
    return csrf_matches(secret, request.cookies.get(CSRF_COOKIE), submitted, session_token)


def forged(request: Request, page: str, user: User | None) -> HTMLResponse:
    """The answer to a form without a valid CSRF token: refused, nothing done."""
    return render(request, page, {"error": FORGED_FORM}, user=user, status_code=403)


def signed_in(request: Request, token: str) -> RedirectResponse:
    """Back to the home page with the session cookie set."""
    settings = request.app.state.instance.settings
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    """The public models, newest first."""
    user = page_user(request, session)
    styles, _ = list_public_styles(session, limit=60)
    owners = accounts.usernames_of(session, {s.owner_id for s in styles})
    previews = gallery.previews_of_public_models(session, styles)
    cards = [
        {
            "id": s.id,
            "name": s.name,
            "owner_username": owners.get(s.owner_id, "?"),
            "description": s.description,
            "engine": s.engine,
            "previews": previews.get(s.id, []),
        }
        for s in styles
    ]
    return render(request, "home.html", {"styles": cards}, user=user)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, session: SessionDep) -> HTMLResponse:
    """The sign-up form."""
    return render(request, "signup.html", {}, user=page_user(request, session))


@router.post("/signup", response_class=HTMLResponse, response_model=None)
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    display_name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    """Create the account and sign in, or show the form again with what to fix."""
    if not form_is_genuine(request, csrf_token):
        return forged(request, "signup.html", None)
    try:
        user = accounts.register_user(session, username, password, display_name)
        issued = accounts.start_web_session(session, user, valid_hours=settings.session_hours)
    except AppError as error:
        session.rollback()
        context = {"error": error.message, "username": username, "display_name": display_name}
        return render(request, "signup.html", context, user=None, status_code=error.status_code)
    return signed_in(request, issued.token)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep) -> HTMLResponse:
    """The log-in form."""
    return render(request, "login.html", {}, user=page_user(request, session))


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    """Sign in; attempts are limited per address and name so passwords cannot be guessed fast."""
    if not form_is_genuine(request, csrf_token):
        return forged(request, "login.html", None)
    limiter: RateLimiter = request.app.state.login_limiter
    wait = limiter.check(sign_in_attempt_key(request, username))
    if wait:
        context = {
            "error": f"Too many attempts; try again in {int(wait) + 1} s.",
            "username": username,
        }
        response = render(request, "login.html", context, user=None, status_code=429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    try:
        user = accounts.authenticate(session, username, password)
        issued = accounts.start_web_session(session, user, valid_hours=settings.session_hours)
    except AppError as error:
        context = {"error": error.message, "username": username}
        return render(request, "login.html", context, user=None, status_code=error.status_code)
    return signed_in(request, issued.token)


@router.post("/logout", response_model=None)
def logout(
    request: Request,
    session: SessionDep,
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    """End the session: its token is revoked, not just forgotten by the browser."""
    user = page_user(request, session)
    if not form_is_genuine(request, csrf_token):
        return forged(request, "home.html", user)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_web_session(session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The "Verify a file" form, open to anyone."""
    max_mb = settings.max_upload_bytes // (1024 * 1024)
    return render(request, "verify.html", {"max_mb": max_mb}, user=page_user(request, session))


@router.post("/verify", response_class=HTMLResponse)
def verify(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> HTMLResponse:
    """Who owns this image, and was it altered? Read from its content credentials."""
    user = page_user(request, session)
    limit = instance.settings.max_upload_bytes
    context: dict[str, Any] = {"max_mb": limit // (1024 * 1024)}
    if not form_is_genuine(request, csrf_token):
        return render(
            request, "verify.html", {**context, "error": FORGED_FORM}, user=user, status_code=403
        )
    limiter: RateLimiter = request.app.state.verification_limiter
    wait = limiter.check(client_address(request))
    if wait:
        message = f"Too many verifications from your address; try again in {int(wait) + 1} s."
        response = render(
            request, "verify.html", {**context, "error": message}, user=user, status_code=429
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    data = file.file.read(limit + 1)
    if len(data) > limit:
        message = f"The file is larger than {context['max_mb']} MB; nothing was read past that."
        return render(
            request, "verify.html", {**context, "error": message}, user=user, status_code=413
        )
    try:
        report = verify_file(session, instance, data)
    except AppError as error:
        return render(
            request,
            "verify.html",
            {**context, "error": error.message},
            user=user,
            status_code=error.status_code,
        )
    generation = report.facts.get("generation") or {}
    owner = (generation.get("owner") or {}).get("username")
    if owner is None and report.registry_matches:
        owner = report.registry_matches[0].owner_username
    context.update(
        report=report,
        report_lines=report.in_plain_words().splitlines(),
        filename=Path(file.filename or "file").name,
        owner=owner,
    )
    return render(request, "verify.html", context, user=user)


@router.get("/help/ownership", response_class=HTMLResponse)
def who_owns_what(request: Request, session: SessionDep) -> HTMLResponse:
    """The "Who owns what" help page, written from the rules and policy data the advisor uses."""
    context = {
        "title": guide.TITLE,
        "intro": guide.inline_parts(guide.INTRO),
        "rules": [(rule.value, guide.inline_parts(rule.summary)) for rule in Rule],
        "headers": guide.HEADERS,
        "rows": [
            [cell if cell.startswith("https://") else guide.inline_parts(cell) for cell in row]
            for row in guide.guide_rows(load_policies())
        ],
        "copyright_note": guide.inline_parts(COPYRIGHT_NOTE),
    }
    return render(request, "ownership.html", context, user=page_user(request, session))
