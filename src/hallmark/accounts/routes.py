"""HTTP routes of accounts: sign up, get a token, who am I."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from hallmark.accounts import service
from hallmark.accounts.schemas import TokenCreate, TokenIssued, UserCreate, UserPublic
from hallmark.deps import CurrentUser, SessionDep, SettingsDep, sign_in_attempt_key
from hallmark.errors import TooManyRequests
from hallmark.rate_limits import RateLimiter

router = APIRouter(prefix="/api", tags=["accounts"])


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def register(body: UserCreate, session: SessionDep) -> UserPublic:
    """Create an account."""
    user = service.register_user(session, body.username, body.password, body.display_name)
    return UserPublic.model_validate(user)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenIssued)
def create_token(
    request: Request, body: TokenCreate, session: SessionDep, settings: SettingsDep
) -> TokenIssued:
    """Exchange a username and password for a bearer API token (attempts are rate-limited)."""
    limiter: RateLimiter = request.app.state.login_limiter
    wait = limiter.check(sign_in_attempt_key(request, body.username))
    if wait:
        raise TooManyRequests(
            f"Too many sign-in attempts; try again in {int(wait) + 1} s.", retry_after=wait
        )
    user = service.authenticate(session, body.username, body.password)
    issued = service.issue_api_token(session, user, body.name, valid_days=settings.api_token_days)
    return TokenIssued(id=issued.record.id, token=issued.token, expires_at=issued.record.expires_at)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    """Revoke one of your API tokens."""
    service.revoke_api_token(session, user, token_id)


@router.get("/users/me", response_model=UserPublic)
def read_me(user: CurrentUser) -> UserPublic:
    """The signed-in account."""
    return UserPublic.model_validate(user)
