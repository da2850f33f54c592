"""Use cases of accounts: register, authenticate with a password or a token, issue tokens."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallmark.accounts.models import ApiToken, User
from hallmark.accounts.passwords import (
    hash_api_token,
    hash_password,
    needs_rehash,
    new_api_token,
    verify_password,
)
from hallmark.accounts.repository import ApiTokenRepository, UserRepository
from hallmark.db import utcnow
from hallmark.errors import Conflict, InvalidInput, NotAuthenticated, NotFound

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{2,31}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# Recording every use would make each read a write; a minute's precision is enough.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
WEB_SESSION_NAME = "web session"  # the name of the tokens behind page sign-ins

# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: the record and the plain token, which is shown to its holder only once."""

    record: ApiToken
    token: str


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    return username.strip().lower()


def register_user(
    session: Session, username: str, password: str, display_name: str | None = None
) -> User:
    """Create an account; refuse malformed names, weak passwords and taken names."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            "A username has 3 to 32 characters: letters, digits, '_' or '-', "
            "starting with a letter or digit."
        )
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"A password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
        )
    users = UserRepository(session)
    if users.get_by_username(name) is not None:
        raise Conflict(f"The username '{name}' is taken.")
    user = User(
        username=name,
        display_name=(display_name or name).strip()[:100] or name,
        password_hash=hash_password(password),
    )
    try:
        with session.begin_nested():
            users.add(user)
    except IntegrityError as error:
        raise Conflict(f"The username '{name}' is taken.") from error
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """The user whose password this is; one vague error for any mismatch."""
    user = UserRepository(session).get_by_username(normalise_username(username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise NotAuthenticated("Wrong username or password.")
    if not verify_password(user.password_hash, password):
        raise NotAuthenticated("Wrong username or password.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def issue_api_token(session: Session, user: User, name: str, *, valid_days: int) -> IssuedToken:
    """A new bearer token for the user, valid for `valid_days`."""
    token = new_api_token()
    record = ApiToken(
        user_id=user.id,
        name=name.strip()[:100] or "api",
        token_hash=hash_api_token(token),
        prefix=token[:10],
        expires_at=utcnow() + timedelta(days=valid_days),
    )
    ApiTokenRepository(session).add(record)
    return IssuedToken(record=record, token=token)


@dataclass(frozen=True)
class TokenHolder:
    """Who a presented token belongs to, and whether its last use is worth recording."""

    user: User
    token_id: uuid.UUID
    used_at: datetime
    use_is_news: bool


def authenticate_token(session: Session, token: str) -> TokenHolder:
    """The holder of an active bearer token; it only reads, so any request may ask it."""
    now = utcnow()
    found = ApiTokenRepository(session).find_active(hash_api_token(token), now)
    if found is None:
        raise NotAuthenticated("The API token is unknown, expired or revoked.")
    record, user = found
    news = record.last_used_at is None or now - record.last_used_at > TOKEN_USE_RESOLUTION
    return TokenHolder(user=user, token_id=record.id, used_at=now, use_is_news=news)


def user_for_token(session: Session, token: str) -> User:
    """The user a bearer token belongs to, if it is active."""
    return authenticate_token(session, token).user


def record_token_uses(session: Session, uses: Mapping[uuid.UUID, datetime]) -> int:
    """Note when tokens were last used, never moving a time back; returns the rows changed."""
    return ApiTokenRepository(session).record_uses(uses)


def start_web_session(session: Session, user: User, *, valid_hours: int) -> IssuedToken:
    """A short-lived token for the pages' session cookie; revocable like any API token."""
    issued = issue_api_token(session, user, WEB_SESSION_NAME, valid_days=0)
    issued.record.expires_at = utcnow() + timedelta(hours=valid_hours)
    session.flush()
    return issued


def end_web_session(session: Session, token: str) -> None:
    """Revoke the session a cookie holds (logging out); an unknown token needs nothing."""
    found = ApiTokenRepository(session).find_active(hash_api_token(token), utcnow())
    if found is not None:
        found[0].revoked_at = utcnow()
        session.flush()


def revoke_api_token(session: Session, user: User, token_id: uuid.UUID) -> None:
    """Revoke one of the user's own tokens."""
    for record in ApiTokenRepository(session).list_for_user(user.id):
        if record.id == token_id and record.revoked_at is None:
            record.revoked_at = utcnow()
            session.flush()
            return
    raise NotFound("No such active token of yours.")


def get_user_by_username(session: Session, username: str) -> User:
    """The account with this username, for local operator commands."""
    user = UserRepository(session).get_by_username(normalise_username(username))
    if user is None:
        raise InvalidInput(f"No user named '{normalise_username(username)}'.")
    return user


def username_of(session: Session, user_id: uuid.UUID) -> str | None:
    """A user's username, to name an owner or maker beside a record; None if there is none."""
    user = UserRepository(session).get_or_none(user_id)
    return user.username if user else None


def usernames_of(session: Session, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Usernames by id in one query, to name the owners beside many records at once."""
    return {
        user_id: user.username
        for user_id, user in UserRepository(session).get_many(user_ids).items()
    }
