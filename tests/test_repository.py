"""The base repository: reads by primary key, the slice's 404, batch reads, adds, pages, counts."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.errors import NotFound
from hallmark.ledger.models import LedgerEntry
from hallmark.ledger.repository import LedgerRepository
from hallmark.repository import Repository
from hallmark.styles.repository import StyleRepository


def test_get_reads_by_id_and_get_or_none_says_none(
    session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user("ada")
    users = UserRepository(session)

    assert users.get(user.id) is user
    assert users.get_or_none(user.id) is user
    assert users.get_or_none(uuid.uuid4()) is None
    assert users.get(user.id, for_update=True) is user


def test_get_of_a_missing_id_is_the_slices_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="No such style."):
        StyleRepository(session).get(uuid.uuid4())
    with pytest.raises(NotFound, match="No such user."):
        UserRepository(session).get(uuid.uuid4())


def test_get_many_reads_in_one_query_and_skips_missing_ids(
    session: Session, make_user: Callable[..., User]
) -> None:
    a, b = make_user(), make_user()
    users = UserRepository(session)

    assert users.get_many({a.id, b.id, uuid.uuid4()}) == {a.id: a, b.id: b}
    assert users.get_many([]) == {}


def test_add_flushes_so_the_row_has_its_id(session: Session) -> None:
    user = User(username="bo", display_name="Bo", password_hash="x")

    added = UserRepository(session).add(user)

    assert added is user
    assert session.scalar(select(User.id).where(User.username == "bo")) == user.id


def test_add_all_flushes_every_row(session: Session) -> None:
    transaction_id = uuid.uuid4()
    entries = [
        LedgerEntry(
            transaction_id=transaction_id,
            account=account,
            amount_minor=amount,
            currency="EUR",
            kind="sale",
            reference="test:add_all",
        )
        for account, amount in (("cash", 500), ("owner:x", -500))
    ]
    ledger = LedgerRepository(session)

    assert ledger.add_all(entries) == entries
    assert all(entry.id is not None for entry in entries)
    assert ledger.get_many([entry.id for entry in entries]) == {e.id: e for e in entries}


class _Users(Repository[User]):
    """A repository with one page and one count, to test the helpers subclasses use."""

    model = User

    def page_by_name(self, *, limit: int, offset: int) -> list[User]:
        return self._paginate(select(User).order_by(User.username), limit=limit, offset=offset)

    def count_named(self, prefix: str) -> int:
        return self._count(User.username.startswith(prefix))


def test_paginate_and_count_for_subclasses(
    session: Session, make_user: Callable[..., User]
) -> None:
    made = sorted(make_user(f"page-{i}").username for i in range(5))
    users = _Users(session)

    pages = [users.page_by_name(limit=2, offset=offset) for offset in (0, 2, 4)]

    named = [u.username for page in pages for u in page if u.username.startswith("page-")]
    assert named == made
    assert users.count_named("page-") == 5
    assert users.count_named("nobody-") == 0
    with pytest.raises(NotFound, match="No such record."):
        users.get(uuid.uuid4())
