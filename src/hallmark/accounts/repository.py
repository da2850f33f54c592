"""All SQL of the accounts slice."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hallmark.accounts.models import ApiToken, User


class UserRepository:
    """Reads and writes users."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        """Stage a new user and flush so its id and constraints are checked now."""
        self.session.add(user)
        self.session.flush()
        return user

    def get(self, user_id: uuid.UUID) -> User | None:
        """The user with this id, if any."""
        return self.session.get(User, user_id)

    def get_by_username(self, username: str) -> User | None:
        """The user with this (normalised) username, if any."""
        return self.session.scalar(select(User).where(User.username == username))

    def list_by_ids(self, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
        """Users by id, for showing owner names beside many records at once."""
        if not user_ids:
            return {}
        users = self.session.scalars(select(User).where(User.id.in_(user_ids)))
        return {user.id: user for user in users}


class ApiTokenRepository:
    """Reads and writes API tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: ApiToken) -> ApiToken:
        """Stage a new token."""
        self.session.add(token)
        self.session.flush()
        return token

    def find_active(self, token_hash: str, at: datetime) -> tuple[ApiToken, User] | None:
        """The unrevoked, unexpired token with this hash and its user."""
        row = self.session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        token, user = row
        if token.expires_at is not None and token.expires_at <= at:
            return None
        return token, user

    def list_for_user(self, user_id: uuid.UUID) -> list[ApiToken]:
        """A user's tokens, newest first."""
        return list(
            self.session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == user_id)
                .order_by(ApiToken.created_at.desc())
            )
        )

    def record_uses(self, uses: Mapping[uuid.UUID, datetime]) -> int:
        """Set each token's last use to the given time unless a later one is already there."""
        changed = 0
        for token_id, used_at in sorted(uses.items()):
            result = self.session.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token_id,
                    or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < used_at),
                )
                .values(last_used_at=used_at)
                .execution_options(synchronize_session=False)
            )
            changed += int(result.rowcount)  # type: ignore[attr-defined]
        return changed
