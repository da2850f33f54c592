"""Use cases of artworks: register uploads under R1, caption them, opt them out, delete them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.artworks.facts import artwork_facts
from hallmark.artworks.images import inspect_image
from hallmark.artworks.models import Artwork
from hallmark.artworks.repository import ArtworkRepository
from hallmark.blob_lifecycle import delete_blob_when_unused, store_blob_for_row
from hallmark.db import utcnow
from hallmark.errors import AppError, Conflict, InvalidInput, NotFound
from hallmark.instance import Instance
from hallmark.provenance.service import declared_training_opt_out
from hallmark.similarity.repository import FingerprintRepository
from hallmark.similarity.service import NearCopy, PreparedImage, record_copy_claim

MAX_CAPTION_LENGTH = 2000


class UploadOutcome(StrEnum):
    """What happened to one uploaded file."""

    CREATED = "created"
    VARIANT = "variant"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@dataclass(frozen=True)
class UploadResult:
    """One file's result: the artwork it became, or why it was refused."""

    filename: str
    outcome: UploadOutcome
    artwork: Artwork | None = None
    error: AppError | None = None


def clean_filename(filename: str | None) -> str:
    """The last path component of a client-supplied name, so no path ever reaches storage."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    return name.strip()[:255]


def clean_caption(caption: str | None) -> str | None:
    """A caption trimmed of outer space; empty becomes None; too long is refused."""
    if caption is None:
        return None
    text = caption.strip()
    if len(text) > MAX_CAPTION_LENGTH:
        raise InvalidInput(f"A caption has at most {MAX_CAPTION_LENGTH} characters.")
    return text or None


def upload_artwork(
    session: Session,
    instance: Instance,
    owner: User,
    data: bytes,
    *,
    filename: str | None = None,
    caption: str | None = None,
    rights_attested: bool,
    training_opt_out: bool = False,
) -> UploadResult:
    """Register one uploaded work to its uploader (R1).

    The same bytes again give the same artwork; a near-copy of the uploader's own work is a linked
    variant; a match with another artist's work is refused and kept as a claim for review.
    """
    settings = instance.settings
    name = clean_filename(filename)
    ownership = rights.owner_of_upload(owner.id, rights_attested=rights_attested)
    if not ownership.allowed:
        raise InvalidInput(ownership.reason, rule=ownership.rule)
    text = clean_caption(caption)
    info = inspect_image(
        data,
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        min_side=settings.min_image_side,
    )
    # A file whose own credentials or XMP refuse AI training stays out of training (R2).
    training_opt_out = training_opt_out or declared_training_opt_out(data, info.mime)
    artworks = ArtworkRepository(session)
    existing = artworks.find_by_owner_and_sha256(owner.id, info.sha256)
    if existing is not None:
        return UploadResult(name, UploadOutcome.DUPLICATE, existing)

    prepared = PreparedImage.from_bytes(data)
    near = instance.copy_guard.near_copies_of(session, prepared, include_generations=True)
    exact = artworks.list_with_sha256(info.sha256)
    matches = [rights.RegisteredWork(work.id, work.owner_id) for work in exact] + [
        rights.RegisteredWork(match.work_id, match.owner_id) for match in near
    ]
    decision = rights.may_register_artwork(owner.id, matches)
    if not decision.allowed:
        other_exact = next((work for work in exact if work.owner_id != owner.id), None)
        if other_exact is not None:
            claimed = NearCopy.exact_artwork(other_exact.id, other_exact.owner_id)
        else:
            claimed = next(match for match in near if match.owner_id != owner.id)
        record_copy_claim(
            session,
            claimant_id=owner.id,
            upload_sha256=info.sha256,
            upload_filename=name,
            match=claimed,
        )
        error = Conflict(decision.reason, rule=decision.rule)
        return UploadResult(name, UploadOutcome.REFUSED, error=error)
    own_match = next(
        (m.artwork_id for m in near if m.owner_id == owner.id and m.artwork_id is not None), None
    )

    store_blob_for_row(session, instance.blobs, data)
    artwork = Artwork(
        owner_id=owner.id,
        sha256=info.sha256,
        size_bytes=info.size_bytes,
        mime=info.mime,
        width=info.width,
        height=info.height,
        original_filename=name,
        caption=text,
        rights_attested_at=utcnow(),
        training_opt_out=training_opt_out,
        variant_of_id=own_match,
    )
    try:
        with session.begin_nested():
            artworks.add(artwork)
    except IntegrityError:
        # The same owner uploaded the same bytes concurrently; theirs won, this becomes a repeat.
        winner = artworks.find_by_owner_and_sha256(owner.id, info.sha256)
        if winner is None:
            raise
        return UploadResult(name, UploadOutcome.DUPLICATE, winner)
    instance.copy_guard.record(
        session, prepared, owner_id=owner.id, sha256=info.sha256, artwork_id=artwork.id
    )
    outcome = UploadOutcome.VARIANT if own_match else UploadOutcome.CREATED
    return UploadResult(name, outcome, artwork)


def upload_artworks(
    session: Session,
    instance: Instance,
    owner: User,
    files: list[tuple[str, bytes]],
    *,
    caption: str | None = None,
    captions: Mapping[str, str] | None = None,
    rights_attested: bool,
    training_opt_out: bool = False,
) -> list[UploadResult]:
    """Register many files; each is accepted or refused on its own, with the reason.

    `captions` gives some files their own caption (by file name), over the shared `caption`.
    """
    results: list[UploadResult] = []
    for filename, data in files:
        try:
            with session.begin_nested():
                result = upload_artwork(
                    session,
                    instance,
                    owner,
                    data,
                    filename=filename,
                    caption=(captions or {}).get(filename, caption),
                    rights_attested=rights_attested,
                    training_opt_out=training_opt_out,
                )
        except AppError as error:
            result = UploadResult(clean_filename(filename), UploadOutcome.REFUSED, error=error)
        results.append(result)
    return results


def get_own_artwork(session: Session, user: User | None, artwork_id: uuid.UUID) -> Artwork:
    """An artwork its owner asks for; to anyone else it does not exist (R1)."""
    artwork = ArtworkRepository(session).get_or_none(artwork_id)
    if artwork is None or not rights.may_view_artwork_file(
        user.id if user else None, artwork_facts(artwork)
    ):
        raise NotFound("No such artwork.")
    return artwork


def list_own_artworks(
    session: Session, owner: User, *, limit: int = 50, offset: int = 0
) -> tuple[list[Artwork], int]:
    """A page of the owner's artworks and their total count."""
    repository = ArtworkRepository(session)
    return (
        repository.list_for_owner(owner.id, limit=limit, offset=offset),
        repository.count_for_owner(owner.id),
    )


def list_trainable_artworks(session: Session, owner: User, *, limit: int) -> list[Artwork]:
    """The owner's works a style may learn from: those not opted out of training, newest first."""
    return ArtworkRepository(session).list_trainable_for_owner(owner.id, limit=limit)


def update_artwork(
    session: Session,
    user: User,
    artwork_id: uuid.UUID,
    *,
    caption: str | None = None,
    clear_caption: bool = False,
    training_opt_out: bool | None = None,
) -> Artwork:
    """Change an artwork's caption or training opt-out; only its owner may."""
    artwork = get_own_artwork(session, user, artwork_id)
    if clear_caption:
        artwork.caption = None
    elif caption is not None:
        artwork.caption = clean_caption(caption)
    if training_opt_out is not None:
        artwork.training_opt_out = training_opt_out
    session.flush()
    return artwork


def delete_artwork(session: Session, instance: Instance, user: User, artwork_id: uuid.UUID) -> None:
    """Delete an owner's artwork; its file goes once the deletion commits and nothing uses it."""
    artwork = get_own_artwork(session, user, artwork_id)
    sha256 = artwork.sha256
    fingerprint_ids = FingerprintRepository(session).ids_for_artwork(artwork.id)
    try:
        with session.begin_nested():
            ArtworkRepository(session).delete(artwork)
    except IntegrityError as error:
        raise Conflict(
            "This work is in the training set of one of your styles; delete the style first."
        ) from error
    delete_blob_when_unused(session, instance.blobs, sha256)
    instance.copy_guard.unrecord_after_commit(session, fingerprint_ids)
