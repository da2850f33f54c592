"""The copy guard at work: uploads under R1, generations under R11, the index across restarts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.artworks.models import Artwork
from hallmark.artworks.service import UploadOutcome, UploadResult, upload_artwork
from hallmark.errors import Conflict
from hallmark.generations.facts import generation_facts
from hallmark.generations.service import clear_near_copy, record_generation
from hallmark.instance import Instance
from hallmark.samples import SAMPLE_ARTISTS, SampleWork, sample_works
from hallmark.samples.edits import COPY_EDITS
from hallmark.similarity.models import CopyClaim
from hallmark.similarity.service import (
    CopyGuard,
    FingerprintIndexes,
    MatchMethod,
    PreparedImage,
)
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import create_style, set_style_status


def encode(image: Image.Image) -> bytes:
    """PNG bytes of an image."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def works() -> list[SampleWork]:
    """Three of Bo's flat poster works and one of Cleo's pointillist ones, 384 px."""
    return sample_works(SAMPLE_ARTISTS["bo"], count=3, size=384) + sample_works(
        SAMPLE_ARTISTS["cleo"], count=1, size=384
    )


def edited(work: SampleWork, edit: str) -> bytes:
    """The work after one of a copier's edits, as PNG bytes."""
    return encode(COPY_EDITS[edit](work.image()))


def upload(session: Session, instance: Instance, owner: User, data: bytes) -> UploadResult:
    """Upload one file with the rights attested."""
    return upload_artwork(session, instance, owner, data, filename="w.png", rights_attested=True)


@pytest.fixture
def artist(owner: User) -> User:
    """The artist whose works are registered."""
    return owner


@pytest.fixture
def copier(stranger: User) -> User:
    """Someone who uploads another's work as theirs."""
    return stranger


@pytest.fixture
def registered(
    session: Session, instance: Instance, artist: User, works: list[SampleWork]
) -> list[Artwork]:
    """The artist's works, uploaded."""
    artworks = []
    for work in works:
        result = upload(session, instance, artist, work.png)
        assert result.outcome is UploadOutcome.CREATED and result.artwork is not None
        artworks.append(result.artwork)
    return artworks


@pytest.mark.parametrize("edit", ["re-encode", "mirror", "crop-20%"])
def test_a_copy_of_another_artists_work_is_refused_and_kept_as_a_claim_r1(
    session: Session,
    instance: Instance,
    copier: User,
    artist: User,
    works: list[SampleWork],
    registered: list[Artwork],
    edit: str,
) -> None:
    result = upload(session, instance, copier, edited(works[1], edit))

    assert result.outcome is UploadOutcome.REFUSED
    assert isinstance(result.error, Conflict)
    assert result.error.rule == rights.Rule.R1
    assert "dispute" in result.error.message
    claims = session.scalars(select(CopyClaim)).all()
    assert [(c.claimant_id, c.matched_artwork_id, c.matched_owner_id) for c in claims] == [
        (copier.id, registered[1].id, artist.id)
    ]
    expected = MatchMethod.ORB if edit.startswith("crop") else MatchMethod.PDQ
    assert claims[0].method == expected.value
    assert session.scalars(select(Artwork).where(Artwork.owner_id == copier.id)).all() == []


def test_an_unrelated_work_by_someone_else_is_accepted(
    session: Session, instance: Instance, copier: User, registered: list[Artwork]
) -> None:
    own_work = sample_works(SAMPLE_ARTISTS["dmitri"], count=1, size=384, seed=3)[0]

    result = upload(session, instance, copier, own_work.png)

    assert result.outcome is UploadOutcome.CREATED
    assert result.artwork is not None and result.artwork.variant_of_id is None
    assert session.scalars(select(CopyClaim)).all() == []


def test_the_artists_own_crop_of_their_work_is_a_linked_variant(
    session: Session,
    instance: Instance,
    artist: User,
    works: list[SampleWork],
    registered: list[Artwork],
) -> None:
    result = upload(session, instance, artist, edited(works[2], "crop-10%"))

    assert result.outcome is UploadOutcome.VARIANT
    assert result.artwork is not None
    assert result.artwork.variant_of_id == registered[2].id
    assert result.artwork.owner_id == artist.id


@pytest.fixture
def style(session: Session, artist: User, registered: list[Artwork]) -> StyleModel:
    """The artist's trained style on their registered works."""
    created = create_style(session, artist, "posters", [work.id for work in registered])
    return set_style_status(session, created, StyleStatus.READY)


def test_a_generation_that_copies_a_training_work_is_flagged_and_cannot_be_licensed_r11(
    session: Session,
    instance: Instance,
    artist: User,
    works: list[SampleWork],
    registered: list[Artwork],
    style: StyleModel,
) -> None:
    generation = record_generation(
        session,
        instance,
        artist,
        style,
        prompt="a poster",
        seed=1,
        image=edited(works[0], "crop-5%"),
    )

    assert generation.near_copy is True
    assert generation.near_copy_artwork_id == registered[0].id
    assert generation.near_copy_method in {MatchMethod.PDQ.value, MatchMethod.ORB.value}
    facts = generation_facts(generation)
    assert rights.may_license_generation(facts).rule == rights.Rule.R11
    assert not rights.may_license_generation(facts).allowed
    assert not rights.may_publish_generation(artist.id, facts).allowed

    clear_near_copy(session, artist, generation.id, "a study the artist made on purpose")

    cleared = generation_facts(generation)
    assert rights.may_license_generation(cleared).allowed
    assert rights.may_publish_generation(artist.id, cleared).allowed


def test_a_new_picture_in_the_style_is_not_flagged(
    session: Session, instance: Instance, artist: User, style: StyleModel
) -> None:
    fresh = sample_works(SAMPLE_ARTISTS["bo"], count=1, size=384, seed=11)[0]

    generation = record_generation(
        session, instance, artist, style, prompt="a poster", seed=2, image=fresh.png
    )

    assert generation.near_copy is False
    assert generation.near_copy_artwork_id is None


def fresh_guard(instance: Instance, session: Session) -> CopyGuard:
    """A guard as a restarted process makes it: from the files on disk and the database."""
    instance.copy_guard.save()
    guard = CopyGuard(instance.copy_guard.directory, instance.blobs)
    guard.prepare(session)
    return guard


def finds(guard: CopyGuard, session: Session, data: bytes) -> set[object]:
    """The artworks the guard matches an image with."""
    prepared = PreparedImage.from_bytes(data)
    return {m.artwork_id for m in guard.near_copies_of(session, prepared, include_generations=True)}


def test_the_index_survives_a_restart_without_a_rebuild(
    session: Session, instance: Instance, works: list[SampleWork], registered: list[Artwork]
) -> None:
    assert len(instance.copy_guard) == len(registered)  # each image indexed once

    guard = fresh_guard(instance, session)

    assert guard.rebuilt is False
    assert len(guard) == len(registered)
    assert finds(guard, session, edited(works[1], "crop-20%")) == {registered[1].id}


@pytest.mark.parametrize("lost", ["pdq.faiss", "phash.faiss", "orb.faiss"])
def test_a_missing_index_file_is_rebuilt_from_the_database(
    session: Session,
    instance: Instance,
    works: list[SampleWork],
    registered: list[Artwork],
    lost: str,
) -> None:
    instance.copy_guard.save()
    (instance.copy_guard.directory / lost).unlink()

    guard = CopyGuard(instance.copy_guard.directory, instance.blobs)
    guard.prepare(session)

    assert guard.rebuilt is True
    assert len(guard) == len(registered)
    assert finds(guard, session, edited(works[2], "crop-20%")) == {registered[2].id}
    assert (instance.copy_guard.directory / lost).is_file()


def test_an_index_saved_before_later_uploads_catches_up_from_the_database(
    session: Session,
    instance: Instance,
    artist: User,
    works: list[SampleWork],
    tmp_path: Path,
) -> None:
    first = upload(session, instance, artist, works[0].png)
    instance.copy_guard.save()
    saved = {
        name: (instance.copy_guard.directory / name).read_bytes()
        for name in FingerprintIndexes.FILES
    }
    later = upload(session, instance, artist, works[3].png)
    for name, content in saved.items():  # the files as they were before the later upload
        (instance.copy_guard.directory / name).write_bytes(content)

    guard = CopyGuard(instance.copy_guard.directory, instance.blobs)
    guard.prepare(session)

    assert guard.rebuilt is False
    assert first.artwork is not None and later.artwork is not None
    assert finds(guard, session, edited(works[3], "crop-20%")) == {later.artwork.id}
