"""HTTP routes of provenance: anyone may verify a file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from hallmark.deps import InstanceDep, SessionDep, client_address
from hallmark.errors import TooManyRequests
from hallmark.provenance.schemas import VerificationPublic
from hallmark.provenance.service import verify_file
from hallmark.rate_limits import RateLimiter
from hallmark.serving import read_limited

router = APIRouter(tags=["provenance"])


@router.post("/api/verify", response_model=VerificationPublic)
def verify(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    file: Annotated[UploadFile, File(description="Any PNG, JPEG or WebP image")],
) -> VerificationPublic:
    """Signed or not, intact or altered, trusted signer or not, and what the credentials say."""
    limiter: RateLimiter = request.app.state.verification_limiter
    wait = limiter.check(client_address(request))
    if wait:
        raise TooManyRequests(
            f"Too many verifications from your address; try again in {int(wait) + 1} s.",
            retry_after=wait,
        )
    data = read_limited(file, instance.settings.max_upload_bytes)
    report = verify_file(session, instance, data)
    return VerificationPublic(**report.as_dict(), summary=report.in_plain_words())
