"""HTTP routes of provenance: anyone may verify a file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from hallmark.artworks.routes import read_limited, refuse_oversized_request
from hallmark.deps import InstanceDep, SessionDep
from hallmark.provenance.schemas import VerificationPublic
from hallmark.provenance.service import verify_file

router = APIRouter(tags=["provenance"])


@router.post("/api/verify", response_model=VerificationPublic)
async def verify(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    file: Annotated[UploadFile, File(description="Any PNG, JPEG or WebP image")],
) -> VerificationPublic:
    """Signed or not, intact or altered, trusted signer or not, and what the credentials say."""
    max_bytes = instance.settings.max_upload_bytes
    refuse_oversized_request(request, max_bytes, 1)
    data = await read_limited(file, max_bytes)
    report = verify_file(session, instance, data)
    return VerificationPublic(**report.as_dict(), summary=report.in_plain_words())
