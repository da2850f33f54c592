"""The gallery's pages: browse and search it, one listed image to license, a model's usage
register, and the owner's choice of previews and listings."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.deps import InstanceDep, SessionDep
from hallmark.errors import AppError
from hallmark.gallery import service as gallery
from hallmark.licensing import service as licensing
from hallmark.schemas import MAX_DB_BIGINT
from hallmark.styles import service as styles
from hallmark.usage import service as usage
from hallmark.usage.routes import usage_csv_response
from hallmark.web.routes import FORGED_FORM, form_is_genuine, page_user, render
from hallmark.web.studio_routes import refused, to_login
from hallmark.web.style_tools import create_page_context

router = APIRouter(include_in_schema=False)
IMAGES_PER_PAGE = 24
MODELS_SHOWN = 12
REGISTER_PER_PAGE = 50
PageOffset = Annotated[int, Query(ge=0, le=MAX_DB_BIGINT)]


@router.get("/gallery", response_class=HTMLResponse)
def gallery_page(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=gallery.MAX_SEARCH_LENGTH)] = "",
    offset: PageOffset = 0,
) -> HTMLResponse:
    """Public models with their previews and the images listed for licensing, searchable."""
    user = page_user(request, session)
    models, _ = gallery.browse_models(session, q, limit=MODELS_SHOWN)
    images, total = gallery.browse_listed(session, q, limit=IMAGES_PER_PAGE, offset=offset)
    context = {
        "q": q,
        "models": models,
        "images": images,
        "total": total,
        "offset": offset,
        "previous": max(0, offset - IMAGES_PER_PAGE) if offset else None,
        "next": offset + IMAGES_PER_PAGE if offset + IMAGES_PER_PAGE < total else None,
    }
    return render(request, "gallery.html", context, user=user)


def _shown_image_context(
    session: SessionDep, user: User | None, generation_id: uuid.UUID
) -> dict[str, Any]:
    """What a listed image's page shows: the watermarked preview, its owner, the open offers."""
    generation, style = gallery.shown_image(session, user, generation_id)
    owner = accounts.username_of(session, generation.owner_id) or "?"
    return {
        "generation": generation,
        "style": style,
        "owner": owner,
        "is_owner": user is not None and user.id == generation.owner_id,
        "offers": licensing.offers_for_image(session, user, generation_id) if user else [],
        "purchase_key": str(uuid.uuid4()),
    }


@router.get("/gallery/images/{generation_id}", response_class=HTMLResponse)
def gallery_image_page(
    generation_id: uuid.UUID, request: Request, session: SessionDep
) -> HTMLResponse:
    """One image of the gallery, watermarked, with the licenses on offer for it."""
    user = page_user(request, session)
    context = _shown_image_context(session, user, generation_id)
    return render(request, "gallery_image.html", context, user=user)


@router.post(
    "/gallery/images/{generation_id}/buy", response_class=HTMLResponse, response_model=None
)
def buy_from_the_gallery(
    generation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    offer_id: Annotated[uuid.UUID, Form()],
    purchase_key: Annotated[str, Form(min_length=1, max_length=128)],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """License a listed image; then its own page, where the licensee downloads the clean file."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    if not form_is_genuine(request, csrf_token):
        context = _shown_image_context(session, user, generation_id)
        return refused(request, "gallery_image.html", user, FORGED_FORM, **context)
    try:
        with session.begin_nested():
            licensing.purchase_license(
                session,
                user,
                generation_id,
                offer_id,
                idempotency_key=f"page-{user.id}-{purchase_key}",
                payments=instance.payments,
                platform_fee_bps=instance.settings.platform_fee_bps,
            )
    except AppError as error:
        context = _shown_image_context(session, user, generation_id)
        return refused(request, "gallery_image.html", user, error, **context)
    return RedirectResponse(f"/images/{generation_id}/page", status_code=303)


@router.post("/styles/{style_id}/gallery", response_class=HTMLResponse, response_model=None)
def choose_gallery(
    style_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    preview: Annotated[list[uuid.UUID], Form(max_length=gallery.CHOICES_SHOWN)] = [],  # noqa: B006
    listed: Annotated[list[uuid.UUID], Form(max_length=gallery.CHOICES_SHOWN)] = [],  # noqa: B006
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """The owner's choice, from the model's page, of its previews and its listed images."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    style = styles.get_visible_style(session, user, style_id)
    context = create_page_context(session, user, style)
    if not form_is_genuine(request, csrf_token):
        return refused(request, "create.html", user, FORGED_FORM, **context)
    try:
        with session.begin_nested():
            gallery.set_gallery_choices(
                session, user, style_id, preview_ids=preview, listed_ids=listed
            )
    except AppError as error:
        return refused(
            request, "create.html", user, error, **create_page_context(session, user, style)
        )
    return RedirectResponse(f"/create?style={style_id}#gallery", status_code=303)


@router.get("/styles/{style_id}/usage", response_class=HTMLResponse, response_model=None)
def usage_page(
    style_id: uuid.UUID, request: Request, session: SessionDep, offset: PageOffset = 0
) -> Response:
    """Who used my model: each image, its maker and prompt, and who licensed it for what."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    style, entries, total = usage.usage_register(
        session, user, style_id, limit=REGISTER_PER_PAGE, offset=offset
    )
    context = {
        "style": style,
        "entries": entries,
        "total": total,
        "offset": offset,
        "previous": max(0, offset - REGISTER_PER_PAGE) if offset else None,
        "next": offset + REGISTER_PER_PAGE if offset + REGISTER_PER_PAGE < total else None,
    }
    return render(request, "usage.html", context, user=user)


@router.get("/styles/{style_id}/usage.csv", response_model=None)
def usage_csv_download(
    style_id: uuid.UUID, request: Request, session: SessionDep, offset: PageOffset = 0
) -> Response:
    """My model's register as CSV, from the page (the API's export, with the session cookie)."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    style, entries, total = usage.usage_register(
        session, user, style_id, limit=usage.MAX_EXPORT_IMAGES, offset=offset
    )
    return usage_csv_response(style, entries, total)
