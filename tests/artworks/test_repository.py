"""ArtworkRepository: lookups by owner and content hash, counts, and the database's uniqueness."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.artworks.models import Artwork
from hallmark.artworks.repository import ArtworkRepository
from hallmark.db import utcnow


def fake_sha256(label: str) -> str:
    """A valid content hash that stands for some bytes in these tests."""
    return hashlib.sha256(label.encode()).hexdigest()


def add_artwork(session: Session, owner: User, sha256: str, **fields: object) -> Artwork:
    """Insert an artwork row directly, bypassing the service's rules."""
    artwork = Artwork(
        owner_id=owner.id,
        sha256=sha256,
        size_bytes=1234,
        mime="image/png",
        width=64,
        height=48,
        rights_attested_at=utcnow(),
        **fields,
    )
    return ArtworkRepository(session).add(artwork)


def test_add_flushes_and_get_reads_back(session: Session, make_user: Callable[..., User]) -> None:
    owner = make_user()
    artwork = add_artwork(session, owner, fake_sha256("a"), caption="hello")
    session.expire_all()

    stored = ArtworkRepository(session).get(artwork.id)

    assert stored is not None
    assert (stored.owner_id, stored.sha256, stored.caption) == (owner.id, fake_sha256("a"), "hello")
    assert stored.training_opt_out is False
    assert stored.original_filename == ""
    assert ArtworkRepository(session).get_or_none(uuid.uuid4()) is None


def test_find_by_owner_and_sha256_matches_both(
    session: Session, make_user: Callable[..., User]
) -> None:
    owner, other = make_user(), make_user()
    mine = add_artwork(session, owner, fake_sha256("a"))
    add_artwork(session, other, fake_sha256("b"))
    repository = ArtworkRepository(session)

    found = repository.find_by_owner_and_sha256(owner.id, fake_sha256("a"))

    assert found is not None and found.id == mine.id
    assert repository.find_by_owner_and_sha256(owner.id, fake_sha256("b")) is None
    assert repository.find_by_owner_and_sha256(other.id, fake_sha256("a")) is None
    assert repository.find_by_owner_and_sha256(owner.id, fake_sha256("c")) is None


def test_list_with_sha256_finds_the_work_across_owners(
    session: Session, make_user: Callable[..., User]
) -> None:
    first, second, third = make_user(), make_user(), make_user()
    shared = fake_sha256("shared")
    a = add_artwork(session, first, shared)
    b = add_artwork(session, second, shared)
    add_artwork(session, third, fake_sha256("other"))
    repository = ArtworkRepository(session)

    found = repository.list_with_sha256(shared)

    assert {artwork.id for artwork in found} == {a.id, b.id}
    assert {artwork.owner_id for artwork in found} == {first.id, second.id}
    assert repository.list_with_sha256(fake_sha256("nobody")) == []
    assert repository.count_with_sha256(shared) == 2
    assert repository.count_with_sha256(fake_sha256("nobody")) == 0


def test_count_for_owner_counts_only_that_owner(
    session: Session, make_user: Callable[..., User]
) -> None:
    owner, other, idle = make_user(), make_user(), make_user()
    for label in "abc":
        add_artwork(session, owner, fake_sha256(label))
    add_artwork(session, other, fake_sha256("a"))
    repository = ArtworkRepository(session)

    assert repository.count_for_owner(owner.id) == 3
    assert repository.count_for_owner(other.id) == 1
    assert repository.count_for_owner(idle.id) == 0
    assert repository.count_for_owner(uuid.uuid4()) == 0


def test_list_for_owner_pages_through_only_that_owner(
    session: Session, make_user: Callable[..., User]
) -> None:
    owner, other = make_user(), make_user()
    mine = {add_artwork(session, owner, fake_sha256(f"w{i}")).id for i in range(5)}
    add_artwork(session, other, fake_sha256("x"))
    repository = ArtworkRepository(session)

    pages = [repository.list_for_owner(owner.id, limit=2, offset=offset) for offset in (0, 2, 4)]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert {artwork.id for page in pages for artwork in page} == mine


def test_get_many_returns_the_found_ids_and_skips_missing_ones(
    session: Session, make_user: Callable[..., User]
) -> None:
    owner = make_user()
    a = add_artwork(session, owner, fake_sha256("a"))
    b = add_artwork(session, owner, fake_sha256("b"))
    add_artwork(session, owner, fake_sha256("c"))
    missing = uuid.uuid4()
    repository = ArtworkRepository(session)

    found = repository.get_many([a.id, missing, b.id])

    assert set(found) == {a.id, b.id}
    assert found[a.id].sha256 == fake_sha256("a")
    assert found[b.id].sha256 == fake_sha256("b")
    assert repository.get_many([]) == {}
    assert repository.get_many({missing}) == {}


def test_the_database_refuses_the_same_bytes_twice_for_one_owner(
    session: Session, make_user: Callable[..., User]
) -> None:
    owner, other = make_user(), make_user()
    first = add_artwork(session, owner, fake_sha256("a"))

    with pytest.raises(IntegrityError):
        with session.begin_nested():
            add_artwork(session, owner, fake_sha256("a"))

    # The savepoint rolled back only the duplicate; the session goes on working.
    repository = ArtworkRepository(session)
    assert repository.count_for_owner(owner.id) == 1
    assert [artwork.id for artwork in repository.list_with_sha256(fake_sha256("a"))] == [first.id]
    # The constraint is per owner: another owner's row with the same hash is accepted.
    add_artwork(session, other, fake_sha256("a"))
    assert repository.count_with_sha256(fake_sha256("a")) == 2


def test_delete_removes_the_row(session: Session, make_user: Callable[..., User]) -> None:
    owner = make_user()
    artwork = add_artwork(session, owner, fake_sha256("a"))
    kept = add_artwork(session, owner, fake_sha256("b"))
    repository = ArtworkRepository(session)

    repository.delete(artwork)
    session.expire_all()

    assert repository.get_or_none(artwork.id) is None
    assert repository.get_or_none(kept.id) is not None
    assert repository.count_for_owner(owner.id) == 1
