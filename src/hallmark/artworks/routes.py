"""HTTP routes of artworks: upload one or many, list, read, caption, opt out, delete."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse

from hallmark.artworks import service
from hallmark.artworks.schemas import (
    ArtworkPage,
    ArtworkPublic,
    ArtworkUpdate,
    ArtworkUploadResult,
)
from hallmark.deps import BlobStoreDep, CurrentUser, InstanceDep, SessionDep, blob_response
from hallmark.schemas import ErrorBody, ErrorResponse, Limit, Offset
from hallmark.serving import read_limited

router = APIRouter(prefix="/api/artworks", tags=["artworks"])


def _result_body(result: service.UploadResult) -> ArtworkUploadResult:
    return ArtworkUploadResult(
        filename=result.filename,
        outcome=result.outcome.value,
        artwork=ArtworkPublic.model_validate(result.artwork) if result.artwork else None,
        error=ErrorBody(**result.error.as_dict()) if result.error else None,
    )


@router.post(
    "",
    response_model=ArtworkUploadResult,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorResponse, "description": "Another artist's work (R1)"}},
)
def upload_artwork(
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    instance: InstanceDep,
    file: Annotated[UploadFile, File(description="A PNG, JPEG or WebP image")],
    attest_rights: Annotated[bool, Form(description="I hold the rights to this work")] = False,
    caption: Annotated[str | None, Form(max_length=2000)] = None,
    training_opt_out: Annotated[bool, Form()] = False,
) -> ArtworkUploadResult | JSONResponse:
    """Upload one work; the same file again returns the existing artwork with status 200."""
    data = read_limited(file, instance.settings.max_upload_bytes)
    result = service.upload_artwork(
        session,
        instance,
        user,
        data,
        filename=file.filename,
        caption=caption,
        rights_attested=attest_rights,
        training_opt_out=training_opt_out,
    )
    if result.error is not None:
        # Returned, not raised: the request's transaction still commits the claim it recorded.
        return JSONResponse(
            status_code=result.error.status_code, content={"error": result.error.as_dict()}
        )
    if result.outcome is service.UploadOutcome.DUPLICATE:
        response.status_code = status.HTTP_200_OK
    return _result_body(result)


@router.post("/batch", response_model=list[ArtworkUploadResult])
def upload_artworks(
    user: CurrentUser,
    session: SessionDep,
    instance: InstanceDep,
    files: Annotated[list[UploadFile], File(description="Several images")],
    attest_rights: Annotated[bool, Form(description="I hold the rights to these works")] = False,
    caption: Annotated[str | None, Form(max_length=2000)] = None,
    training_opt_out: Annotated[bool, Form()] = False,
) -> list[ArtworkUploadResult]:
    """Upload many works at once; each file reports created, variant, duplicate or refused."""
    max_bytes = instance.settings.max_upload_bytes
    payloads = [(file.filename or "", read_limited(file, max_bytes)) for file in files]
    results = service.upload_artworks(
        session,
        instance,
        user,
        payloads,
        caption=caption,
        rights_attested=attest_rights,
        training_opt_out=training_opt_out,
    )
    return [_result_body(result) for result in results]


@router.get("", response_model=ArtworkPage)
def list_artworks(
    user: CurrentUser,
    session: SessionDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ArtworkPage:
    """Your artworks, newest first."""
    items, total = service.list_own_artworks(session, user, limit=limit, offset=offset)
    return ArtworkPage(
        items=[ArtworkPublic.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{artwork_id}", response_model=ArtworkPublic)
def read_artwork(artwork_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ArtworkPublic:
    """One of your artworks."""
    return ArtworkPublic.model_validate(service.get_own_artwork(session, user, artwork_id))


@router.get("/{artwork_id}/file", response_class=FileResponse)
def read_artwork_file(
    artwork_id: uuid.UUID, user: CurrentUser, session: SessionDep, blobs: BlobStoreDep
) -> Response:
    """The full-resolution file of one of your artworks (R1: owner only)."""
    artwork = service.get_own_artwork(session, user, artwork_id)
    return blob_response(blobs, artwork.sha256, artwork.mime)


@router.patch("/{artwork_id}", response_model=ArtworkPublic)
def update_artwork(
    artwork_id: uuid.UUID, body: ArtworkUpdate, user: CurrentUser, session: SessionDep
) -> ArtworkPublic:
    """Change the caption or the training opt-out of one of your artworks."""
    artwork = service.update_artwork(
        session,
        user,
        artwork_id,
        caption=body.caption,
        clear_caption=body.clear_caption,
        training_opt_out=body.training_opt_out,
    )
    return ArtworkPublic.model_validate(artwork)


@router.delete("/{artwork_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_artwork(
    artwork_id: uuid.UUID, user: CurrentUser, session: SessionDep, instance: InstanceDep
) -> None:
    """Delete one of your artworks (refused while a style's training set uses it)."""
    service.delete_artwork(session, instance, user, artwork_id)
