"""HTTP routes of the usage register: a model's owner reads who used it, as JSON or CSV."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from hallmark.deps import CurrentUser, SessionDep
from hallmark.schemas import Limit, Offset
from hallmark.styles.models import StyleModel
from hallmark.usage import service
from hallmark.usage.export import usage_csv
from hallmark.usage.repository import UsageEntry
from hallmark.usage.schemas import UsageEntryPublic, UsagePage

router = APIRouter(prefix="/api/styles", tags=["usage"])
ExportLimit = Annotated[
    int,
    Query(ge=1, le=service.MAX_EXPORT_IMAGES, description="How many images this part holds"),
]


@router.get("/{style_id}/usage", response_model=UsagePage)
def read_usage(
    style_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> UsagePage:
    """Who generated what with your model, when, and who licensed which image for what."""
    style, entries, total = service.usage_register(
        session, user, style_id, limit=limit, offset=offset
    )
    return UsagePage(
        style_id=style.id,
        style_name=style.name,
        items=[UsageEntryPublic.model_validate(entry) for entry in entries],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{style_id}/usage.csv", response_class=Response)
def export_usage(
    style_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    limit: ExportLimit = service.MAX_EXPORT_IMAGES,
    offset: Offset = 0,
) -> Response:
    """Your model's register as CSV, one row per license (or per unlicensed image); a register
    of more images than one part holds is fetched in parts with `offset`."""
    style, entries, total = service.usage_register(
        session, user, style_id, limit=limit, offset=offset
    )
    return usage_csv_response(style, entries, total)


def usage_csv_response(style: StyleModel, entries: list[UsageEntry], total: int) -> Response:
    """A part of a model's register as a CSV download; the header says how many images in all."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", style.name).strip("-").lower() or "model"
    headers = {
        "Content-Disposition": f'attachment; filename="usage-{slug}.csv"',
        "X-Total-Count": str(total),
    }
    return Response(usage_csv(entries), media_type="text/csv; charset=utf-8", headers=headers)
