"""All SQL of the accounts slice."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import or_, select, update

from hallmark.accounts.models import ApiToken, User
from hallmark.repository import Repository


class UserRepository(Repository[User]):
    """Reads and writes users."""

    model = User
    not_found = "No such user."

    def get_by_username(self, username: str) -> User | None:
        """The user with this (normalised) username, if any."""
        return self.session.scalar(select(User).where(User.username == username))


class ApiTokenRepository(Repository[ApiToken]):
    """Reads and writes API tokens."""

    model = ApiToken
    not_found = "No such token."

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
