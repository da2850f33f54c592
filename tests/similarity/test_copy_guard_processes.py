"""Several processes, one database: each process's copy guard sees every committed work."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks.service import UploadOutcome, upload_artwork
from hallmark.config import Settings
from hallmark.db import end_session, make_session_factory, open_session, transaction
from hallmark.instance import Instance
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS
from hallmark.similarity.service import CopyGuard
from hallmark.storage import LocalBlobStore
from tests.conftest import migrated_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a fresh PostgreSQL schema whose transactions really commit."""
    engines: Iterator[Engine] = migrated_engine("postgresql", tmp_path)
    engine = next(engines)
    yield make_session_factory(engine)
    next(engines, None)


def process(tmp_path: Path, blobs: LocalBlobStore, name: str) -> Instance:
    """One API process: its own copy guard and index files, the shared blob store."""
    settings = Settings(data_dir=tmp_path / name)
    return Instance(settings, blobs, CopyGuard(settings.data_dir / "similarity", blobs))


def png(image: Image.Image) -> bytes:
    """PNG bytes of an image."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def add_user(session: Session, username: str) -> User:
    """A user with an unusable password."""
    return UserRepository(session).add(
        User(username=username, display_name=username, password_hash="x")
    )


def test_a_work_committed_after_a_later_one_is_still_guarded_by_every_process(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    a, b, c = (process(tmp_path, blobs, name) for name in "abc")
    works = sample_works(SAMPLE_ARTISTS["bo"], count=2, size=256)
    unrelated = sample_works(SAMPLE_ARTISTS["cleo"], count=1, size=256)[0]
    with transaction(factory) as session:
        ana, ben = add_user(session, "ana"), add_user(session, "ben")

    def upload(instance: Instance, session: Session, user: User, data: bytes) -> UploadOutcome:
        result = upload_artwork(
            session, instance, user, data, filename="w.png", rights_attested=True
        )
        return result.outcome

    # Process A inserts ana's first work and has not committed yet, when process C inserts a
    # later id and commits, and process B looks at the database (seeing only C's row).
    slow = open_session(factory)
    assert upload(a, slow, ana, works[0].png) is UploadOutcome.CREATED
    with transaction(factory) as session:
        assert upload(c, session, ana, works[1].png) is UploadOutcome.CREATED
    with transaction(factory) as session:
        assert upload(b, session, ben, unrelated.png) is UploadOutcome.CREATED
    end_session(slow, succeeded=True)

    # B now refuses ben's crop of A's work at once, though its id is below one B has seen.
    with transaction(factory) as session:
        crop = png(COPY_EDITS["crop-20%"](works[0].image()))
        assert upload(b, session, ben, crop) is UploadOutcome.REFUSED
