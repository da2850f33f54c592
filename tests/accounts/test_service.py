"""Accounts use cases: registration, password sign-in, and API tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hallmark.accounts.models import ApiToken, User
from hallmark.accounts.service import (
    authenticate,
    authenticate_token,
    issue_api_token,
    record_token_uses,
    register_user,
    revoke_api_token,
    user_for_token,
    username_of,
    usernames_of,
)
from hallmark.db import utcnow
from hallmark.errors import Conflict, InvalidInput, NotAuthenticated, NotFound

PASSWORD = "correct horse battery"


def api_token_rows(session: Session) -> list[dict[str, object]]:
    """Every row of api_tokens as plain column values, read with SQL rather than the ORM."""
    session.flush()
    return [dict(row) for row in session.execute(text("SELECT * FROM api_tokens")).mappings()]


# ---------------------------------------------------------------------------------- register


def test_register_user_stores_the_name_in_lower_case(session: Session) -> None:
    user = register_user(session, "  Ada-Lovelace ", PASSWORD)

    assert user.username == "ada-lovelace"
    assert user.display_name == "ada-lovelace"
    session.expire_all()
    stored = session.scalar(select(User).where(User.id == user.id))
    assert stored is not None
    assert stored.username == "ada-lovelace"


def test_register_user_keeps_a_given_display_name(session: Session) -> None:
    user = register_user(session, "grace", PASSWORD, display_name="  Grace Hopper ")

    assert user.display_name == "Grace Hopper"


@pytest.mark.parametrize("second", ["ada", "ADA", "  Ada  "])
def test_a_taken_username_is_a_conflict_whatever_its_case(session: Session, second: str) -> None:
    register_user(session, "Ada", PASSWORD)

    with pytest.raises(Conflict, match="'ada' is taken"):
        register_user(session, second, "another password 123")

    assert session.scalar(text("SELECT count(*) FROM users")) == 1


@pytest.mark.parametrize(
    "username",
    ["", "ab", "x" * 33, "has space", "-leading-dash", "_leading", "dot.ted", "émile", "a/b"],
)
def test_malformed_usernames_are_invalid(session: Session, username: str) -> None:
    with pytest.raises(InvalidInput, match="A username has 3 to 32 characters") as refusal:
        register_user(session, username, PASSWORD)

    assert type(refusal.value) is InvalidInput
    assert session.scalar(text("SELECT count(*) FROM users")) == 0


def test_username_length_bounds_are_accepted(session: Session) -> None:
    assert register_user(session, "abc", PASSWORD).username == "abc"
    assert register_user(session, "z" * 32, PASSWORD).username == "z" * 32


@pytest.mark.parametrize("password", ["", "short", "123456789", "x" * 257])
def test_passwords_outside_the_allowed_length_are_invalid(session: Session, password: str) -> None:
    with pytest.raises(InvalidInput, match="A password has 10 to 256 characters"):
        register_user(session, "someone", password)

    assert session.scalar(text("SELECT count(*) FROM users")) == 0


def test_a_ten_character_password_is_accepted(session: Session) -> None:
    assert register_user(session, "someone", "0123456789").username == "someone"


def test_the_password_is_stored_as_an_argon2id_hash_never_plain(session: Session) -> None:
    user = register_user(session, "hasher", PASSWORD)
    session.flush()

    stored = session.execute(
        text("SELECT password_hash FROM users WHERE username = 'hasher'")
    ).scalar_one()
    row = session.execute(text("SELECT * FROM users WHERE username = 'hasher'")).mappings().one()

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert all(PASSWORD not in str(value) for value in row.values())
    assert PasswordHasher().verify(stored, PASSWORD)
    assert user.password_hash == stored


def test_two_users_with_the_same_password_get_different_hashes(session: Session) -> None:
    first = register_user(session, "first", PASSWORD)
    second = register_user(session, "second", PASSWORD)

    assert first.password_hash != second.password_hash


# ------------------------------------------------------------------------------ authenticate


def test_authenticate_with_the_right_password_returns_the_user(session: Session) -> None:
    user = register_user(session, "Signer", PASSWORD)

    assert authenticate(session, "signer", PASSWORD).id == user.id
    assert authenticate(session, " SIGNER ", PASSWORD).id == user.id


def test_wrong_password_and_unknown_user_are_refused_alike(session: Session) -> None:
    register_user(session, "signer", PASSWORD)

    with pytest.raises(NotAuthenticated) as wrong_password:
        authenticate(session, "signer", PASSWORD + "!")
    with pytest.raises(NotAuthenticated) as unknown_user:
        authenticate(session, "nobody-here", PASSWORD)

    assert wrong_password.value.message == "Wrong username or password."
    assert unknown_user.value.message == wrong_password.value.message
    assert unknown_user.value.code == wrong_password.value.code == "not_authenticated"


# ------------------------------------------------------------------------------- API tokens


def test_an_issued_token_authenticates_its_user(
    session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    make_user()  # another account, so the right one has to be picked

    issued = issue_api_token(session, user, "  laptop  ", valid_days=30)

    assert issued.token.startswith("hm_")
    assert issued.record.name == "laptop"
    assert issued.record.user_id == user.id
    assert user_for_token(session, issued.token).id == user.id


def test_the_plain_token_is_never_stored_only_its_sha256(
    session: Session, make_user: Callable[..., User]
) -> None:
    issued = issue_api_token(session, make_user(), "ci", valid_days=30)

    rows = api_token_rows(session)

    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(issued.token.encode()).hexdigest()
    for value in rows[0].values():
        assert issued.token not in str(value)
    # The display prefix is only a short, non-secret part of the token.
    assert len(str(rows[0]["prefix"])) <= 12
    assert issued.token.startswith(str(rows[0]["prefix"]))


def test_an_unknown_token_is_refused(session: Session, make_user: Callable[..., User]) -> None:
    issue_api_token(session, make_user(), "ci", valid_days=30)

    with pytest.raises(NotAuthenticated, match="unknown, expired or revoked"):
        user_for_token(session, "hm_" + "A" * 43)


def test_an_expired_token_is_refused(session: Session, make_user: Callable[..., User]) -> None:
    issued = issue_api_token(session, make_user(), "ci", valid_days=30)
    issued.record.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    session.expire_all()

    with pytest.raises(NotAuthenticated, match="unknown, expired or revoked"):
        user_for_token(session, issued.token)


def test_a_token_without_expiry_stays_valid(
    session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    issued = issue_api_token(session, user, "ci", valid_days=30)
    issued.record.expires_at = None
    session.flush()

    assert user_for_token(session, issued.token).id == user.id


def test_a_revoked_token_is_refused(session: Session, make_user: Callable[..., User]) -> None:
    user = make_user()
    issued = issue_api_token(session, user, "ci", valid_days=30)
    assert user_for_token(session, issued.token).id == user.id

    revoke_api_token(session, user, issued.record.id)
    session.expire_all()

    with pytest.raises(NotAuthenticated, match="unknown, expired or revoked"):
        user_for_token(session, issued.token)
    assert api_token_rows(session)[0]["revoked_at"] is not None


def test_authenticating_only_reads_and_the_use_is_recorded_apart(
    session: Session, make_user: Callable[..., User]
) -> None:
    issued = issue_api_token(session, make_user(), "ci", valid_days=30)
    assert api_token_rows(session)[0]["last_used_at"] is None
    before = utcnow()

    holder = authenticate_token(session, issued.token)

    assert holder.use_is_news and holder.token_id == issued.record.id
    assert not session.dirty, "authenticating must not stage a write in the request"
    assert record_token_uses(session, {holder.token_id: holder.used_at}) == 1
    session.expire_all()
    record = session.get(ApiToken, issued.record.id)
    assert record is not None and record.last_used_at is not None
    assert before <= record.last_used_at <= utcnow()
    # A use within the resolution is not news, and an older time never moves the record back.
    assert not authenticate_token(session, issued.token).use_is_news
    assert record_token_uses(session, {holder.token_id: before - timedelta(hours=1)}) == 0


def test_revoking_another_users_token_is_not_found_and_leaves_it_working(
    session: Session, make_user: Callable[..., User]
) -> None:
    holder, other = make_user(), make_user()
    issued = issue_api_token(session, holder, "ci", valid_days=30)

    with pytest.raises(NotFound):
        revoke_api_token(session, other, issued.record.id)

    assert api_token_rows(session)[0]["revoked_at"] is None
    assert user_for_token(session, issued.token).id == holder.id


def test_revoking_an_unknown_or_already_revoked_token_is_not_found(
    session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    issued = issue_api_token(session, user, "ci", valid_days=30)
    revoke_api_token(session, user, issued.record.id)

    with pytest.raises(NotFound):
        revoke_api_token(session, user, issued.record.id)
    with pytest.raises(NotFound):
        revoke_api_token(session, user, uuid.uuid4())


# ---------------------------------------------------------------------------------- names


def test_usernames_are_read_by_id_and_a_missing_id_has_none(
    session: Session, make_user: Callable[..., User]
) -> None:
    ada, bo = make_user("ada"), make_user("bo")
    missing = uuid.uuid4()

    assert username_of(session, ada.id) == "ada"
    assert username_of(session, missing) is None
    assert usernames_of(session, {ada.id, bo.id, missing}) == {ada.id: "ada", bo.id: "bo"}
    assert usernames_of(session, set()) == {}
