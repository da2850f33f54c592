"""Artworks use cases: R1 registration, refused uploads leave nothing, and files follow commits."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks.models import Artwork
from hallmark.artworks.repository import ArtworkRepository
from hallmark.artworks.service import (
    MAX_CAPTION_LENGTH,
    UploadOutcome,
    UploadResult,
    delete_artwork,
    get_own_artwork,
    list_own_artworks,
    update_artwork,
    upload_artwork,
    upload_artworks,
)
from hallmark.config import Settings
from hallmark.db import make_session_factory, transaction
from hallmark.errors import (
    AppError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from hallmark.generations.models import Generation
from hallmark.instance import Instance
from hallmark.similarity.models import CopyClaim
from hallmark.storage import LocalBlobStore
from hallmark.styles.models import StyleModel, StyleTrainingWork
from tests.conftest import migrated_engine
from tests.helpers import jpeg_bytes, png_bytes

# ----------------------------------------------------------------------------------- helpers


def sha256_of(data: bytes) -> str:
    """The content hash the store and the table use."""
    return hashlib.sha256(data).hexdigest()


def blob_files(blobs: LocalBlobStore) -> list[Path]:
    """Every file under the blob store's root, temp files included."""
    if not blobs.root.exists():
        return []
    return sorted(path for path in blobs.root.rglob("*") if path.is_file())


def artwork_count(session: Session) -> int:
    """How many artwork rows exist, whoever owns them."""
    session.flush()
    return session.scalar(select(func.count()).select_from(Artwork)) or 0


def encode(image: Image.Image, image_format: str) -> bytes:
    """The image saved in the given format, in memory."""
    out = io.BytesIO()
    image.save(out, format=image_format)
    return out.getvalue()


def gif_bytes() -> bytes:
    """A small, valid GIF: a real image in a format Hallmark does not accept."""
    return encode(Image.new("P", (64, 64), 3), "GIF")


def noisy_png(seed: int, size: tuple[int, int] = (40, 40)) -> bytes:
    """A PNG of deterministic noise: it barely compresses, so its length is predictable."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    return encode(Image.frombytes("RGB", size, pixels), "PNG")


def truncated_png() -> bytes:
    """A real PNG with the second half of its bytes cut off."""
    data = noisy_png(0)
    return data[: len(data) // 2]


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR (with a valid CRC) declares other dimensions: a decompression bomb."""
    data = bytearray(encode(Image.new("L", (40, 40)), "PNG"))
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def upload(
    session: Session,
    instance: Instance,
    owner: User,
    data: bytes,
    *,
    filename: str | None = None,
    caption: str | None = None,
    rights_attested: bool = True,
    training_opt_out: bool = False,
) -> UploadResult:
    """upload_artwork with the rights attested unless the test says otherwise."""
    return upload_artwork(
        session,
        instance,
        owner,
        data,
        filename=filename,
        caption=caption,
        rights_attested=rights_attested,
        training_opt_out=training_opt_out,
    )


def reloaded(session: Session, artwork_id: uuid.UUID) -> Artwork:
    """The artwork as the database has it now, not as the session remembers it."""
    session.flush()
    session.expire_all()
    artwork = session.get(Artwork, artwork_id)
    assert artwork is not None
    return artwork


# ------------------------------------------------------------------------------------ upload


def test_upload_registers_the_work_to_its_uploader_with_its_file(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner = make_user()
    data = png_bytes(1, size=(80, 48))

    result = upload(session, instance, owner, data, filename="sunset.png", caption=" Dusk ")

    assert result.outcome is UploadOutcome.CREATED
    assert result.error is None
    artwork = result.artwork
    assert artwork is not None
    stored = reloaded(session, artwork.id)
    assert stored.owner_id == owner.id
    assert stored.sha256 == sha256_of(data)
    assert stored.mime == "image/png"
    assert stored.size_bytes == len(data)
    assert (stored.width, stored.height) == (80, 48)
    assert stored.original_filename == "sunset.png"
    assert stored.caption == "Dusk"
    assert stored.rights_attested_at is not None
    assert stored.training_opt_out is False
    assert blobs.get(stored.sha256) == data
    assert blob_files(blobs) == [blobs.path_for(stored.sha256)]


def test_upload_of_a_jpeg_records_its_media_type_and_opt_out(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    data = jpeg_bytes(2, size=(40, 60))

    result = upload(session, instance, make_user(), data, training_opt_out=True)

    assert result.artwork is not None
    assert result.artwork.mime == "image/jpeg"
    assert (result.artwork.width, result.artwork.height) == (40, 60)
    assert result.artwork.training_opt_out is True


def test_upload_without_rights_attestation_is_refused_under_r1_and_stores_nothing(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    with pytest.raises(InvalidInput, match="hold the rights") as refusal:
        upload(session, instance, make_user(), png_bytes(1), rights_attested=False)

    assert refusal.value.rule == "R1"
    assert artwork_count(session) == 0
    assert blob_files(blobs) == []


def test_the_same_file_twice_by_the_same_user_is_one_artwork(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner = make_user()
    data = png_bytes(3)
    first = upload(session, instance, owner, data, filename="a.png")

    second = upload(session, instance, owner, data, filename="copy of a.png")

    assert first.outcome is UploadOutcome.CREATED
    assert second.outcome is UploadOutcome.DUPLICATE
    assert second.artwork is not None and first.artwork is not None
    assert second.artwork.id == first.artwork.id
    assert second.artwork.original_filename == "a.png"
    assert artwork_count(session) == 1
    assert len(blob_files(blobs)) == 1


def test_the_same_file_by_another_user_is_a_conflict_pointing_to_a_dispute(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    first_owner, second_owner = make_user(), make_user()
    data = png_bytes(4)
    upload(session, instance, first_owner, data)
    files_before = blob_files(blobs)

    refusal = upload(session, instance, second_owner, data)

    assert refusal.outcome is UploadOutcome.REFUSED
    assert isinstance(refusal.error, Conflict)
    assert refusal.error.rule == "R1"
    assert "dispute" in refusal.error.message
    claims = session.scalars(select(CopyClaim)).all()
    assert [(c.claimant_id, c.matched_owner_id, c.method) for c in claims] == [
        (second_owner.id, first_owner.id, "sha256")
    ]
    assert artwork_count(session) == 1
    assert ArtworkRepository(session).count_for_owner(second_owner.id) == 0
    assert blob_files(blobs) == files_before


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"just some notes, not a picture\n" * 20, UnsupportedMediaType, "not an image"),
        (truncated_png(), InvalidInput, "truncated or corrupt"),
        (png_declaring(400, 400), PayloadTooLarge, r"400x400 .*100,000 pixels"),
        (b"", InvalidInput, "empty"),
        (gif_bytes(), UnsupportedMediaType, "GIF images are not accepted"),
        (
            noisy_png(1, size=(64, 64)),
            PayloadTooLarge,
            r"^the file is [\d.]+ KB; the limit is [\d.]+ KB",
        ),
    ],
    ids=["not-an-image", "truncated-png", "decompression-bomb", "empty", "gif", "too-many-bytes"],
)
def test_bad_files_are_refused_with_their_error_and_leave_nothing(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
    data: bytes,
    error: type[AppError],
    message: str,
) -> None:
    limits = settings.model_copy(update={"max_image_pixels": 100_000, "max_upload_bytes": 4096})

    with pytest.raises(error, match=message) as refusal:
        upload(session, replace(instance, settings=limits), make_user(), data, filename="bad.png")

    assert type(refusal.value) is error
    assert artwork_count(session) == 0
    assert blob_files(blobs) == []


def test_a_batch_keeps_the_good_files_and_refuses_the_bad_in_order(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner, rival = make_user(), make_user()
    theirs = png_bytes(20)
    upload(session, instance, rival, theirs)
    good_one, good_two = png_bytes(21), jpeg_bytes(22)
    files = [
        ("one.png", good_one),
        ("notes.png", b"not an image at all" * 10),
        ("one-again.png", good_one),
        ("dir/two.jpg", good_two),
        ("anim.gif", gif_bytes()),
        ("empty.png", b""),
        ("half.png", truncated_png()),
        ("theirs.png", theirs),
    ]

    results = upload_artworks(
        session, instance, owner, files, caption="  batch  ", rights_attested=True
    )

    assert [(r.filename, r.outcome) for r in results] == [
        ("one.png", UploadOutcome.CREATED),
        ("notes.png", UploadOutcome.REFUSED),
        ("one-again.png", UploadOutcome.DUPLICATE),
        ("two.jpg", UploadOutcome.CREATED),
        ("anim.gif", UploadOutcome.REFUSED),
        ("empty.png", UploadOutcome.REFUSED),
        ("half.png", UploadOutcome.REFUSED),
        ("theirs.png", UploadOutcome.REFUSED),
    ]
    assert [type(r.error) for r in results] == [
        type(None),
        UnsupportedMediaType,
        type(None),
        type(None),
        UnsupportedMediaType,
        InvalidInput,
        InvalidInput,
        Conflict,
    ]
    assert all(r.artwork is None for r in results if r.outcome is UploadOutcome.REFUSED)
    assert results[0].artwork is not None and results[2].artwork is not None
    assert results[2].artwork.id == results[0].artwork.id
    works, total = list_own_artworks(session, owner)
    assert total == 2
    assert {w.sha256 for w in works} == {sha256_of(good_one), sha256_of(good_two)}
    assert {w.caption for w in works} == {"batch"}
    assert artwork_count(session) == 3  # the rival's work is untouched
    assert {path.name for path in blob_files(blobs)} == {
        sha256_of(theirs),
        sha256_of(good_one),
        sha256_of(good_two),
    }


def test_a_batch_without_attestation_refuses_every_file(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    results = upload_artworks(
        session,
        instance,
        make_user(),
        [("a.png", png_bytes(1)), ("b.png", png_bytes(2))],
        rights_attested=False,
    )

    assert [r.outcome for r in results] == [UploadOutcome.REFUSED] * 2
    assert all(r.error is not None and r.error.rule == "R1" for r in results)
    assert artwork_count(session) == 0
    assert blob_files(blobs) == []


@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\x\\y.png", "y.png"),
        ("/abs/path/z.png", "z.png"),
        ("  plain.png  ", "plain.png"),
        (None, ""),
    ],
)
def test_filenames_are_stored_as_their_last_component_only(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
    filename: str | None,
    stored: str,
) -> None:
    result = upload(session, instance, make_user(), png_bytes(6), filename=filename)

    assert result.filename == stored
    assert result.artwork is not None
    assert reloaded(session, result.artwork.id).original_filename == stored


def test_batch_filenames_are_cleaned_for_refused_files_too(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    results = upload_artworks(
        session,
        instance,
        make_user(),
        [("..\\..\\secret\\x.png", b"nope")],
        rights_attested=True,
    )

    assert results[0].filename == "x.png"
    assert results[0].outcome is UploadOutcome.REFUSED


@pytest.mark.parametrize(
    ("caption", "stored"),
    [("  a quiet harbour \n", "a quiet harbour"), ("   ", None), (None, None)],
)
def test_captions_are_trimmed_and_blank_ones_dropped(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
    caption: str | None,
    stored: str | None,
) -> None:
    result = upload(session, instance, make_user(), png_bytes(7), caption=caption)

    assert result.artwork is not None
    assert result.artwork.caption == stored


def test_a_caption_of_the_maximum_length_is_kept(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    caption = "c" * MAX_CAPTION_LENGTH

    result = upload(session, instance, make_user(), png_bytes(8), caption=f" {caption} ")

    assert result.artwork is not None
    assert result.artwork.caption == caption


def test_a_caption_over_the_maximum_length_is_refused_and_stores_nothing(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    with pytest.raises(InvalidInput, match="at most 2000 characters"):
        upload(session, instance, make_user(), png_bytes(9), caption="c" * 2001)

    assert artwork_count(session) == 0
    assert blob_files(blobs) == []


# -------------------------------------------------------------------------- read and update


def test_only_the_owner_gets_their_artwork(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner, other = make_user(), make_user()
    artwork = upload(session, instance, owner, png_bytes(10)).artwork
    assert artwork is not None

    assert get_own_artwork(session, owner, artwork.id).id == artwork.id
    with pytest.raises(NotFound, match="No such artwork") as by_other:
        get_own_artwork(session, other, artwork.id)
    with pytest.raises(NotFound, match="No such artwork") as by_anonymous:
        get_own_artwork(session, None, artwork.id)
    with pytest.raises(NotFound, match="No such artwork") as missing:
        get_own_artwork(session, owner, uuid.uuid4())

    # Someone else's work and a missing one look the same.
    assert by_other.value.as_dict() == missing.value.as_dict() == by_anonymous.value.as_dict()


def test_update_artwork_changes_opt_out_and_caption(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner = make_user()
    artwork = upload(session, instance, owner, png_bytes(11), caption="first").artwork
    assert artwork is not None

    update_artwork(session, owner, artwork.id, training_opt_out=True, caption="  second ")
    stored = reloaded(session, artwork.id)
    assert (stored.training_opt_out, stored.caption) == (True, "second")

    update_artwork(session, owner, artwork.id)  # nothing given: nothing changes
    stored = reloaded(session, artwork.id)
    assert (stored.training_opt_out, stored.caption) == (True, "second")

    update_artwork(session, owner, artwork.id, caption="   ")  # a blank caption clears it
    assert reloaded(session, artwork.id).caption is None

    update_artwork(session, owner, artwork.id, caption="third")
    updated = update_artwork(session, owner, artwork.id, training_opt_out=False, clear_caption=True)
    stored = reloaded(session, artwork.id)
    assert (stored.training_opt_out, stored.caption) == (False, None)
    assert updated.id == artwork.id


def test_update_artwork_refuses_a_long_caption_and_keeps_the_old_one(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner = make_user()
    artwork = upload(session, instance, owner, png_bytes(12), caption="kept").artwork
    assert artwork is not None

    with pytest.raises(InvalidInput, match="at most 2000"):
        update_artwork(session, owner, artwork.id, caption="x" * 2001)

    assert reloaded(session, artwork.id).caption == "kept"


def test_update_artwork_by_another_user_is_not_found_and_changes_nothing(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner, other = make_user(), make_user()
    artwork = upload(session, instance, owner, png_bytes(13), caption="mine").artwork
    assert artwork is not None

    with pytest.raises(NotFound):
        update_artwork(session, other, artwork.id, training_opt_out=True, clear_caption=True)

    stored = reloaded(session, artwork.id)
    assert (stored.training_opt_out, stored.caption) == (False, "mine")


def test_list_own_artworks_pages_and_counts_only_the_owners_works(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner, other = make_user(), make_user()
    mine = {upload(session, instance, owner, png_bytes(30 + i)).artwork for i in range(5)}
    upload(session, instance, other, png_bytes(40))
    upload(session, instance, other, png_bytes(41))

    first, total = list_own_artworks(session, owner, limit=2, offset=0)
    second, _ = list_own_artworks(session, owner, limit=2, offset=2)
    third, _ = list_own_artworks(session, owner, limit=2, offset=4)
    beyond, total_beyond = list_own_artworks(session, owner, limit=2, offset=6)

    assert total == total_beyond == 5
    assert [len(first), len(second), len(third), len(beyond)] == [2, 2, 1, 0]
    seen = [artwork.id for artwork in first + second + third]
    assert len(set(seen)) == 5
    assert set(seen) == {artwork.id for artwork in mine if artwork is not None}
    created = [artwork.created_at for artwork in first + second + third]
    assert created == sorted(created, reverse=True)
    theirs, their_total = list_own_artworks(session, other)
    assert their_total == 2
    assert {artwork.owner_id for artwork in theirs} == {other.id}


def test_list_own_artworks_of_a_user_without_works_is_empty(
    session: Session, make_user: Callable[..., User]
) -> None:
    assert list_own_artworks(session, make_user()) == ([], 0)


def test_delete_artwork_by_another_user_is_not_found(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner, other = make_user(), make_user()
    artwork = upload(session, instance, owner, png_bytes(14)).artwork
    assert artwork is not None

    with pytest.raises(NotFound):
        delete_artwork(session, instance, other, artwork.id)

    assert artwork_count(session) == 1
    assert blobs.exists(artwork.sha256)


def test_delete_artwork_in_a_training_set_is_a_conflict_and_keeps_it(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    owner = make_user()
    artwork = upload(session, instance, owner, png_bytes(15)).artwork
    assert artwork is not None
    style = StyleModel(owner_id=owner.id, name="harbours", engine="studio")
    style.training_works.append(
        StyleTrainingWork(artwork_id=artwork.id, artwork_sha256=artwork.sha256)
    )
    session.add(style)
    session.flush()

    with pytest.raises(Conflict, match="training set"):
        delete_artwork(session, instance, owner, artwork.id)

    assert artwork_count(session) == 1
    assert get_own_artwork(session, owner, artwork.id).id == artwork.id
    assert blobs.exists(artwork.sha256)


def test_a_race_lost_to_the_same_owner_keeps_the_winners_file(
    instance: Instance,
    session: Session,
    blobs: LocalBlobStore,
    settings: Settings,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests upload the same bytes: the loser wrote the file first, the winner's row won."""
    owner = make_user()
    data = png_bytes(16)
    winner = ArtworkRepository(session).add(
        Artwork(
            owner_id=owner.id,
            sha256=sha256_of(data),
            size_bytes=len(data),
            mime="image/png",
            width=64,
            height=64,
            rights_attested_at=owner.created_at,
        )
    )
    real_find = ArtworkRepository.find_by_owner_and_sha256
    calls: list[str] = []

    def find_after_the_race(
        self: ArtworkRepository, owner_id: uuid.UUID, sha256: str
    ) -> Artwork | None:
        calls.append(sha256)
        return None if len(calls) == 1 else real_find(self, owner_id, sha256)

    monkeypatch.setattr(ArtworkRepository, "find_by_owner_and_sha256", find_after_the_race)

    result = upload(session, instance, owner, data)

    assert result.outcome is UploadOutcome.DUPLICATE
    assert result.artwork is not None and result.artwork.id == winner.id
    assert artwork_count(session) == 1
    assert blobs.get(winner.sha256) == data


# ------------------------------------------------------ consistency of rows and files on commit


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated SQLite file, for tests that need real commits and rollbacks."""
    with contextmanager(migrated_engine)("sqlite", tmp_path) as engine:
        yield make_session_factory(engine)


@pytest.fixture
def committed_user(factory: sessionmaker[Session]) -> Callable[[str], uuid.UUID]:
    """Create and commit a user; returns its id."""

    def _make(username: str) -> uuid.UUID:
        with transaction(factory) as session:
            user = UserRepository(session).add(
                User(username=username, display_name=username, password_hash="x")
            )
            return user.id

    return _make


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def committed_count(factory: sessionmaker[Session]) -> int:
    """How many artwork rows are committed."""
    with factory() as session:
        return artwork_count(session)


def load_user(session: Session, user_id: uuid.UUID) -> User:
    """The user with this id in this session."""
    user = session.get(User, user_id)
    assert user is not None
    return user


def test_rolling_back_after_an_upload_removes_the_file_it_wrote(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("rolled")
    data = png_bytes(50)

    with pytest.raises(Boom):
        with transaction(factory) as session:
            result = upload(session, instance, load_user(session, owner_id), data)
            assert result.outcome is UploadOutcome.CREATED
            assert blobs.exists(sha256_of(data))
            raise Boom

    assert committed_count(factory) == 0
    assert not blobs.exists(sha256_of(data))
    assert blob_files(blobs) == []


def test_rolling_back_after_a_batch_removes_the_files_it_wrote(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("batcher")

    with pytest.raises(Boom):
        with transaction(factory) as session:
            results = upload_artworks(
                session,
                instance,
                load_user(session, owner_id),
                [("a.png", png_bytes(51)), ("b.png", png_bytes(52))],
                rights_attested=True,
            )
            assert [r.outcome for r in results] == [UploadOutcome.CREATED] * 2
            raise Boom

    assert committed_count(factory) == 0
    assert blob_files(blobs) == []


def test_a_committed_upload_keeps_its_row_and_file(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("keeper")
    data = png_bytes(53)

    with transaction(factory) as session:
        upload(session, instance, load_user(session, owner_id), data)

    assert committed_count(factory) == 1
    assert blobs.get(sha256_of(data)) == data


def test_rolling_back_an_upload_keeps_a_file_that_was_stored_before(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("prestored")
    data = png_bytes(54)
    assert blobs.put(data).created

    with pytest.raises(Boom):
        with transaction(factory) as session:
            result = upload(session, instance, load_user(session, owner_id), data)
            assert result.outcome is UploadOutcome.CREATED
            raise Boom

    assert committed_count(factory) == 0
    assert blobs.get(sha256_of(data)) == data


def test_rolling_back_a_repeat_upload_keeps_the_committed_work_and_file(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("repeater")
    data = png_bytes(55)
    with transaction(factory) as session:
        upload(session, instance, load_user(session, owner_id), data)

    with pytest.raises(Boom):
        with transaction(factory) as session:
            result = upload(session, instance, load_user(session, owner_id), data)
            assert result.outcome is UploadOutcome.DUPLICATE
            raise Boom

    assert committed_count(factory) == 1
    assert blobs.get(sha256_of(data)) == data


def committed_upload(
    factory: sessionmaker[Session],
    instance: Instance,
    owner_id: uuid.UUID,
    data: bytes,
) -> uuid.UUID:
    """Upload and commit; returns the artwork id."""
    with transaction(factory) as session:
        artwork = upload(session, instance, load_user(session, owner_id), data).artwork
        assert artwork is not None
        return artwork.id


def test_delete_removes_the_file_only_once_the_deletion_commits(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("deleter")
    data = png_bytes(56)
    artwork_id = committed_upload(factory, instance, owner_id, data)

    with transaction(factory) as session:
        delete_artwork(session, instance, load_user(session, owner_id), artwork_id)
        assert blobs.exists(sha256_of(data))  # not before the commit

    assert committed_count(factory) == 0
    assert not blobs.exists(sha256_of(data))
    assert blob_files(blobs) == []


def test_rolling_back_a_deletion_keeps_row_and_file(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("regretful")
    data = png_bytes(57)
    artwork_id = committed_upload(factory, instance, owner_id, data)

    with pytest.raises(Boom):
        with transaction(factory) as session:
            delete_artwork(session, instance, load_user(session, owner_id), artwork_id)
            raise Boom

    with factory() as session:
        assert session.get(Artwork, artwork_id) is not None
    assert blobs.get(sha256_of(data)) == data


def test_delete_keeps_a_file_another_artwork_still_uses(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    """Settled disputes may leave two owners with the same bytes; one delete keeps the file."""
    owner_id, other_id = committed_user("first-holder"), committed_user("second-holder")
    data = png_bytes(58)
    artwork_id = committed_upload(factory, instance, owner_id, data)
    with transaction(factory) as session:
        ArtworkRepository(session).add(
            Artwork(
                owner_id=other_id,
                sha256=sha256_of(data),
                size_bytes=len(data),
                mime="image/png",
                width=64,
                height=64,
                rights_attested_at=load_user(session, other_id).created_at,
            )
        )

    with transaction(factory) as session:
        delete_artwork(session, instance, load_user(session, owner_id), artwork_id)

    assert committed_count(factory) == 1
    assert blobs.get(sha256_of(data)) == data


def test_delete_keeps_a_file_a_generation_still_uses(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("generator")
    data = png_bytes(59)
    artwork_id = committed_upload(factory, instance, owner_id, data)
    with transaction(factory) as session:
        style = StyleModel(owner_id=owner_id, name="s", engine="studio")
        session.add(style)
        session.flush()
        session.add(
            Generation(
                style_id=style.id,
                maker_id=owner_id,
                owner_id=owner_id,
                ownership_rule="R3",
                prompt="a harbour",
                seed=0,
                sha256=sha256_of(data),
                mime="image/png",
                width=64,
                height=64,
            )
        )

    with transaction(factory) as session:
        delete_artwork(session, instance, load_user(session, owner_id), artwork_id)

    assert committed_count(factory) == 0
    assert blobs.get(sha256_of(data)) == data


def test_rolling_back_two_deletions_keeps_both_files(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("double")
    first, second = png_bytes(60), png_bytes(61)
    first_id = committed_upload(factory, instance, owner_id, first)
    second_id = committed_upload(factory, instance, owner_id, second)

    with pytest.raises(Boom):
        with transaction(factory) as session:
            owner = load_user(session, owner_id)
            delete_artwork(session, instance, owner, first_id)
            delete_artwork(session, instance, owner, second_id)
            raise Boom

    assert committed_count(factory) == 2
    assert blobs.exists(sha256_of(first))
    assert blobs.exists(sha256_of(second))


def test_a_committed_deletion_removes_the_file_even_after_a_refused_upload(
    instance: Instance,
    factory: sessionmaker[Session],
    committed_user: Callable[[str], uuid.UUID],
    blobs: LocalBlobStore,
    settings: Settings,
) -> None:
    owner_id = committed_user("tidy")
    data = png_bytes(62)
    artwork_id = committed_upload(factory, instance, owner_id, data)

    with transaction(factory) as session:
        owner = load_user(session, owner_id)
        delete_artwork(session, instance, owner, artwork_id)
        results = upload_artworks(
            session, instance, owner, [("bad.png", b"nope")], rights_attested=True
        )
        assert results[0].outcome is UploadOutcome.REFUSED

    assert committed_count(factory) == 0
    assert not blobs.exists(sha256_of(data))
