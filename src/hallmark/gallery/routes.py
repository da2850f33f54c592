"""HTTP routes of the gallery: browse it, choose a model's previews, list images, previews."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from hallmark.deps import BlobStoreDep, CurrentUser, OptionalUser, SessionDep, SettingsDep
from hallmark.gallery import service
from hallmark.gallery.schemas import (
    GalleryModelPage,
    GalleryModelPublic,
    GalleryPage,
    ListedImagePublic,
    ListingPublic,
    PreviewPublic,
    PreviewsChoice,
    StylePreviews,
)
from hallmark.gallery.watermark import PREVIEW_MIME, PreviewCache
from hallmark.schemas import Limit, Offset

router = APIRouter(tags=["gallery"])
Search = Annotated[
    str | None,
    Query(max_length=service.MAX_SEARCH_LENGTH, description="Words in the style's name or text"),
]
# Seconds a browser may reuse a preview: an image the owner takes out of the gallery stops
# being shown within this time.
PREVIEW_MAX_AGE = 300


@router.get("/api/gallery", response_model=GalleryPage)
def browse_gallery(
    session: SessionDep,
    q: Search = None,
    style_id: uuid.UUID | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> GalleryPage:
    """Images their owners list for licensing, of public models, searchable by style."""
    items, total = service.browse_listed(session, q, style_id, limit=limit, offset=offset)
    return GalleryPage(
        items=[ListedImagePublic.of(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/api/gallery/styles", response_model=GalleryModelPage)
def browse_gallery_models(
    session: SessionDep, q: Search = None, limit: Limit = 50, offset: Offset = 0
) -> GalleryModelPage:
    """Public models with the previews their owners chose, searchable by name and text."""
    items, total = service.browse_models(session, q, limit=limit, offset=offset)
    return GalleryModelPage(
        items=[GalleryModelPublic.of(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/api/styles/{style_id}/previews", response_model=StylePreviews)
def read_previews(style_id: uuid.UUID, user: OptionalUser, session: SessionDep) -> StylePreviews:
    """A model's chosen previews: for anyone who may see the model (R5)."""
    chosen = service.previews_of(session, user, style_id)
    return StylePreviews(style_id=style_id, previews=[PreviewPublic.of(g) for g in chosen])


@router.put("/api/styles/{style_id}/previews", response_model=StylePreviews)
def choose_previews(
    style_id: uuid.UUID, body: PreviewsChoice, user: CurrentUser, session: SessionDep
) -> StylePreviews:
    """Choose up to six of your own images of your model to show on its card (R3)."""
    chosen = service.choose_previews(session, user, style_id, body.generation_ids)
    return StylePreviews(style_id=style_id, previews=[PreviewPublic.of(g) for g in chosen])


@router.put("/api/generations/{generation_id}/listing", response_model=ListingPublic)
def list_generation(
    generation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> ListingPublic:
    """List your image of a public model for licensing in the gallery (R7)."""
    return ListingPublic.model_validate(service.list_generation(session, user, generation_id))


@router.delete("/api/generations/{generation_id}/listing", status_code=status.HTTP_204_NO_CONTENT)
def unlist_generation(generation_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Take your image out of the gallery; licenses already sold stay valid."""
    service.unlist_generation(session, user, generation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/generations/{generation_id}/preview", response_class=Response)
def read_preview(
    generation_id: uuid.UUID,
    user: OptionalUser,
    session: SessionDep,
    blobs: BlobStoreDep,
    settings: SettingsDep,
) -> Response:
    """The watermarked preview of an image shown in the gallery, for anyone; the clean file is
    at /api/generations/{id}/file for its owner and licensees (R4/R8)."""
    cache = PreviewCache(settings.data_dir / "previews")
    preview = service.preview_bytes(session, blobs, cache, user, generation_id)
    headers = {
        "ETag": f'"{hashlib.sha256(preview).hexdigest()}"',
        "Cache-Control": f"private, max-age={PREVIEW_MAX_AGE}",
    }
    return Response(preview, media_type=PREVIEW_MIME, headers=headers)
