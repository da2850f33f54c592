"""HTTP routes of generations: list, read and download the images you made or own."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from hallmark.deps import BlobStoreDep, CurrentUser, SessionDep, blob_response
from hallmark.generations import service
from hallmark.generations.repository import GenerationRole
from hallmark.generations.schemas import GenerationPage, GenerationPublic
from hallmark.schemas import Limit, Offset

router = APIRouter(prefix="/api/generations", tags=["generations"])


@router.get("", response_model=GenerationPage)
def list_generations(
    user: CurrentUser,
    session: SessionDep,
    role: GenerationRole = GenerationRole.ALL,
    limit: Limit = 50,
    offset: Offset = 0,
) -> GenerationPage:
    """Images you made, images you own (made with your models), or both."""
    items, total = service.list_generations(session, user, role, limit=limit, offset=offset)
    return GenerationPage(
        items=[GenerationPublic.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{generation_id}", response_model=GenerationPublic)
def read_generation(
    generation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> GenerationPublic:
    """An image you made, own or hold a license for."""
    return GenerationPublic.model_validate(
        service.get_visible_generation(session, user, generation_id)
    )


@router.get("/{generation_id}/file", response_class=FileResponse)
def download_generation(
    generation_id: uuid.UUID, user: CurrentUser, session: SessionDep, blobs: BlobStoreDep
) -> Response:
    """The image file: for its owner, or for a maker who licensed it (R4/R8)."""
    generation = service.download_generation(session, user, generation_id)
    return blob_response(blobs, generation.sha256, generation.mime)
