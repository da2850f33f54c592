"""HTTP routes of styles: define, read, list, publish and unpublish style models."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from hallmark.accounts.models import User
from hallmark.deps import CurrentUser, InstanceDep, OptionalUser, SessionDep
from hallmark.instance import Instance
from hallmark.schemas import ErrorResponse, Limit, Offset
from hallmark.serving import spooled_to_disk
from hallmark.styles import export, importing, service
from hallmark.styles.schemas import (
    OwnershipNoticePublic,
    StyleCreate,
    StylePage,
    StylePublic,
    StylePublish,
)

router = APIRouter(prefix="/api/styles", tags=["styles"])


@router.post("", response_model=StylePublic, status_code=status.HTTP_201_CREATED)
def create_style(body: StyleCreate, user: CurrentUser, session: SessionDep) -> StylePublic:
    """Define a style model on works you own or hold a training license for (R2)."""
    style = service.create_style(
        session,
        user,
        body.name,
        body.artwork_ids,
        engine=body.engine,
        base_model=body.base_model,
        description=body.description,
        hide_prompts=body.hide_prompts,
        allow_ai_training=body.allow_ai_training,
    )
    return StylePublic.from_model(style)


@router.post(
    "/import",
    response_model=StylePublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        413: {"model": ErrorResponse, "description": "Over HALLMARK_MAX_MODEL_BYTES"},
        422: {"model": ErrorResponse, "description": "Not a LoRA, another base, no attestation"},
    },
)
def import_style(
    user: CurrentUser,
    session: SessionDep,
    instance: InstanceDep,
    file: Annotated[UploadFile, File(description="A LoRA .safetensors (kohya or diffusers)")],
    name: Annotated[str, Form(min_length=1, max_length=100)],
    base_model: Annotated[
        str, Form(max_length=255, description="The base it was trained for, as styles name it")
    ],
    attest_trained_on_own_works: Annotated[
        bool, Form(description="It was trained on works I hold the rights to (R2)")
    ] = False,
    description: Annotated[str | None, Form(max_length=2000)] = None,
    trigger: Annotated[
        str | None, Form(max_length=100, description="Default: the file's trigger phrase")
    ] = None,
    device: Annotated[str, Form(pattern=r"^(cpu|mps|cuda(:\d+)?)$")] = "cpu",
    hide_prompts: Annotated[bool, Form()] = False,
    allow_ai_training: Annotated[bool, Form()] = False,
) -> StylePublic:
    """Bring a LoRA you trained elsewhere on your own works: a private style you own (R2)."""
    importing.check_import(
        session, user, name=name, base_model=base_model, attested=attest_trained_on_own_works
    )
    with spooled_to_disk(file, instance.settings.max_model_bytes, ".safetensors") as path:
        style = importing.import_style(
            session,
            instance,
            user,
            path,
            name=name,
            base_model=base_model,
            attested=attest_trained_on_own_works,
            description=description,
            trigger=trigger,
            device=device,
            hide_prompts=hide_prompts,
            allow_ai_training=allow_ai_training,
        )
    return StylePublic.from_model(style)


@router.get("", response_model=StylePage)
def list_my_styles(
    user: CurrentUser, session: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> StylePage:
    """Your style models."""
    items, total = service.list_own_styles(session, user, limit=limit, offset=offset)
    return StylePage(
        items=[StylePublic.from_model(s) for s in items], total=total, limit=limit, offset=offset
    )


@router.get("/public", response_model=StylePage)
def list_public_styles(
    session: SessionDep, user: OptionalUser, limit: Limit = 50, offset: Offset = 0
) -> StylePage:
    """Published style models anyone may browse, each with whose its images will be (R4)."""
    items, total = service.list_public_styles(session, limit=limit, offset=offset)
    notices = service.notices_for_viewer(session, user, items)
    return StylePage(
        items=[
            StylePublic.from_model(s, OwnershipNoticePublic.for_viewer(notices.get(s.id)))
            for s in items
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{style_id}", response_model=StylePublic)
def read_style(style_id: uuid.UUID, user: OptionalUser, session: SessionDep) -> StylePublic:
    """A style model you own, or a public one with whose its images will be (R4)."""
    style = service.get_visible_style(session, user, style_id)
    notice = OwnershipNoticePublic.for_viewer(service.notice_for_viewer(session, user, style))
    return StylePublic.from_model(style, notice)


@router.post("/{style_id}/publish", response_model=StylePublic)
def publish_style(
    style_id: uuid.UUID, body: StylePublish, user: CurrentUser, session: SessionDep
) -> StylePublic:
    """Publish your trained style so that other users may generate with it (R5)."""
    style = service.publish_style(
        session, user, style_id, accept_platform_license=body.accept_platform_license
    )
    return StylePublic.from_model(style)


@router.post("/{style_id}/unpublish", response_model=StylePublic)
def unpublish_style(style_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> StylePublic:
    """Make your style private again; images already made stay yours (R5)."""
    return StylePublic.from_model(service.unpublish_style(session, user, style_id))


def export_response(
    session: SessionDep, instance: Instance, user: User, style_id: uuid.UUID
) -> FileResponse:
    """The style's export as a zip written to a temporary file, streamed, then removed."""
    descriptor, name = tempfile.mkstemp(prefix="hallmark-export-", suffix=".zip")
    os.close(descriptor)
    try:
        filename = export.export_style(session, instance, user, style_id, Path(name))
    except BaseException:
        os.unlink(name)
        raise
    return FileResponse(
        name,
        media_type="application/zip",
        filename=filename,
        background=BackgroundTask(os.unlink, name),
    )


@router.get(
    "/{style_id}/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def export_style(
    style_id: uuid.UUID, user: CurrentUser, session: SessionDep, instance: InstanceDep
) -> FileResponse:
    """Your trained style as a zip: diffusers and kohya LoRA files, manifest, signed ownership."""
    return export_response(session, instance, user, style_id)
