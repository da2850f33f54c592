"""Use cases of similarity: fingerprint every image, find near-copies (R1, R11), record claims."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL import Image
from sqlalchemy.orm import Session

from hallmark.db import after_transaction
from hallmark.similarity.fingerprints import (
    PDQ_BITS,
    PHASH_BITS,
    Fingerprint,
    LocalFeatures,
    QueryHashes,
    fingerprint_of,
    geometric_inliers,
    hamming,
    load_working_image,
    local_features_of,
    query_hashes_of,
)
from hallmark.similarity.index import HammingIndex
from hallmark.similarity.models import CopyClaim, ImageFingerprint
from hallmark.similarity.repository import FingerprintRepository
from hallmark.storage import BlobStore


class MatchMethod(StrEnum):
    """Which check found a copy."""

    SHA256 = "sha256"
    PDQ = "pdq"
    PHASH = "phash"
    ORB = "orb"


@dataclass(frozen=True)
class MatchThresholds:
    """When two images count as one work: measured by bench/near_copy_eval.py, see docs."""

    pdq_max_distance: int = 31
    min_pdq_quality: int = 50
    phash_max_distance: int = 8
    # The nearest few by PDQ get the (slower) local-feature check for crops and partial copies.
    orb_candidates: int = 5
    orb_max_pdq_distance: int = 110
    orb_min_inliers: int = 20


@dataclass(frozen=True)
class NearCopy:
    """A registered image the query matches, how, and how closely."""

    fingerprint_id: int  # 0 for a byte-for-byte copy found by its hash
    artwork_id: uuid.UUID | None
    generation_id: uuid.UUID | None
    owner_id: uuid.UUID
    method: MatchMethod
    distance: int

    @classmethod
    def exact_artwork(cls, artwork_id: uuid.UUID, owner_id: uuid.UUID) -> NearCopy:
        """A byte-for-byte copy of a registered artwork."""
        return cls(0, artwork_id, None, owner_id, MatchMethod.SHA256, 0)

    @property
    def work_id(self) -> uuid.UUID:
        """The matched artwork's or generation's id."""
        found = self.artwork_id or self.generation_id
        assert found is not None
        return found


@dataclass(frozen=True)
class PreparedImage:
    """An image readied for checks: its working copy, stored hashes and query variants."""

    image: Image.Image
    fingerprint: Fingerprint
    queries: QueryHashes

    @classmethod
    def from_bytes(cls, data: bytes) -> PreparedImage:
        """Decode and hash an image once, for both the check and the stored fingerprint."""
        image = load_working_image(data)
        return cls(image, fingerprint_of(image), query_hashes_of(image))


class CopyGuard:
    """The instance's fingerprint indexes: kept in step with the database, saved to disk."""

    FEATURE_CACHE_SIZE = 2048
    SAVE_EVERY = 200

    def __init__(
        self, directory: Path, blobs: BlobStore, thresholds: MatchThresholds | None = None
    ) -> None:
        self.directory = directory
        self.blobs = blobs
        self.thresholds = thresholds or MatchThresholds()
        self._pdq = HammingIndex.load(directory / "pdq.faiss", PDQ_BITS)
        self._phash = HammingIndex.load(directory / "phash.faiss", PHASH_BITS)
        self._lock = threading.RLock()
        self._features: OrderedDict[str, LocalFeatures] = OrderedDict()
        self._unsaved = 0
        self._max_id = 0
        self.rebuilt = False

    # -------------------------------------------------------------- keeping the index in step

    def prepare(self, session: Session) -> None:
        """Load the saved index, add rows it lacks, rebuild it if it disagrees with the database."""
        with self._lock:
            repository = FingerprintRepository(session)
            if self._pdq is None or self._phash is None or len(self._pdq) != len(self._phash):
                self._rebuild(repository)
                return
            self._max_id = self._pdq.max_id()
            self._catch_up(repository)
            if len(self._pdq) != repository.count():
                self._rebuild(repository)

    def _rebuild(self, repository: FingerprintRepository) -> None:
        self._pdq, self._phash, self._max_id = HammingIndex(PDQ_BITS), HammingIndex(PHASH_BITS), 0
        self._catch_up(repository)
        self.rebuilt = True
        self.save()

    def _catch_up(self, repository: FingerprintRepository) -> None:
        """Add fingerprints written since the index last looked (by this or another process)."""
        assert self._pdq is not None and self._phash is not None
        for batch in repository.hashes_after(self._max_id):
            ids = [row[0] for row in batch]
            self._pdq.add(ids, [row[1] for row in batch])
            self._phash.add(ids, [row[2] for row in batch])
            self._max_id = max(self._max_id, ids[-1])

    def save(self) -> None:
        """Write both indexes to the data directory."""
        with self._lock:
            if self._pdq is None or self._phash is None:
                return
            self._pdq.save(self.directory / "pdq.faiss")
            self._phash.save(self.directory / "phash.faiss")
            self._unsaved = 0

    def __len__(self) -> int:
        return len(self._pdq) if self._pdq is not None else 0

    # ------------------------------------------------------------------------------ recording

    def record(
        self,
        session: Session,
        prepared: PreparedImage,
        *,
        owner_id: uuid.UUID,
        sha256: str,
        artwork_id: uuid.UUID | None = None,
        generation_id: uuid.UUID | None = None,
    ) -> ImageFingerprint:
        """Store an image's fingerprint and index it; a rollback takes it out of the index again."""
        fingerprint = FingerprintRepository(session).add(
            ImageFingerprint(
                artwork_id=artwork_id,
                generation_id=generation_id,
                owner_id=owner_id,
                sha256=sha256,
                pdq=prepared.fingerprint.pdq,
                pdq_quality=prepared.fingerprint.pdq_quality,
                phash=prepared.fingerprint.phash,
            )
        )
        row_id = fingerprint.id
        with self._lock:
            self._ensure_ready(session)
            assert self._pdq is not None and self._phash is not None
            self._pdq.add([row_id], [fingerprint.pdq])
            self._phash.add([row_id], [fingerprint.phash])
            self._max_id = max(self._max_id, row_id)
        after_transaction(
            session, committed=self._note_saved_change, rolled_back=lambda: self.forget([row_id])
        )
        return fingerprint

    def forget(self, fingerprint_ids: Sequence[int]) -> None:
        """Take fingerprints out of the index (their rows were rolled back or deleted)."""
        with self._lock:
            if self._pdq is not None and self._phash is not None:
                self._pdq.remove(fingerprint_ids)
                self._phash.remove(fingerprint_ids)

    def unrecord_after_commit(self, session: Session, fingerprint_ids: Sequence[int]) -> None:
        """Take fingerprints out of the index once the deletion of their rows commits."""
        ids = list(fingerprint_ids)
        if ids:
            after_transaction(session, committed=lambda: self.forget(ids))

    def _note_saved_change(self) -> None:
        with self._lock:
            self._unsaved += 1
            if self._unsaved >= self.SAVE_EVERY:
                self.save()

    def _ensure_ready(self, session: Session) -> None:
        if self._pdq is None or self._phash is None:
            self.prepare(session)
        else:
            self._catch_up(FingerprintRepository(session))

    # ------------------------------------------------------------------------------- checking

    def near_copies_of(
        self,
        session: Session,
        prepared: PreparedImage,
        *,
        include_generations: bool,
        also_artworks: Sequence[uuid.UUID] = (),
        exclude_fingerprint_ids: Sequence[int] = (),
    ) -> list[NearCopy]:
        """Registered images the query matches, closest first.

        The index is searched over every registered artwork (and generation, if asked); the
        artworks named in `also_artworks` (a style's training set) are compared one by one.
        """
        limits = self.thresholds
        with self._lock:
            self._ensure_ready(session)
            assert self._pdq is not None and self._phash is not None
            pdq_near = self._pdq.search(prepared.queries.pdq, limits.orb_candidates)
            phash_near = self._phash.search(prepared.queries.phash, limits.orb_candidates)
        repository = FingerprintRepository(session)
        candidates = {fp.id: fp for fp in repository.get_many(set(pdq_near) | set(phash_near))}
        for fp in repository.for_artworks(set(also_artworks)):
            candidates[fp.id] = fp
        excluded = set(exclude_fingerprint_ids)

        matches: list[NearCopy] = []
        for fp in candidates.values():
            if fp.id in excluded or (fp.generation_id is not None and not include_generations):
                continue
            found = self._compare(prepared, fp)
            if found is not None:
                method, distance = found
                matches.append(
                    NearCopy(fp.id, fp.artwork_id, fp.generation_id, fp.owner_id, method, distance)
                )
        order = {method: rank for rank, method in enumerate(MatchMethod)}
        return sorted(matches, key=lambda m: (order[m.method], m.distance))

    def _compare(
        self, prepared: PreparedImage, candidate: ImageFingerprint
    ) -> tuple[MatchMethod, int] | None:
        """Whether one candidate is a near-copy of the query, and by which method."""
        limits = self.thresholds
        pdq_distance = min(hamming(q, candidate.pdq) for q in prepared.queries.pdq)
        # Whole-image hashes of nearly flat images say little: every plain canvas looks alike.
        trustworthy = min(prepared.fingerprint.pdq_quality, candidate.pdq_quality) >= (
            limits.min_pdq_quality
        )
        if trustworthy and pdq_distance <= limits.pdq_max_distance:
            return MatchMethod.PDQ, pdq_distance
        phash_distance = min(hamming(q, candidate.phash) for q in prepared.queries.phash)
        if trustworthy and phash_distance <= limits.phash_max_distance:
            return MatchMethod.PHASH, phash_distance
        if pdq_distance <= limits.orb_max_pdq_distance:
            inliers = self._inliers(prepared.image, candidate.sha256)
            if inliers >= limits.orb_min_inliers:
                return MatchMethod.ORB, inliers
        return None

    def _inliers(self, image: Image.Image, candidate_sha256: str) -> int:
        """RANSAC inliers between the query (and its mirror) and a candidate's stored image."""
        candidate = self._features_of_blob(candidate_sha256)
        if candidate is None:
            return 0
        straight = geometric_inliers(local_features_of(image), candidate)
        mirror = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return max(straight, geometric_inliers(local_features_of(mirror), candidate))

    def _features_of_blob(self, sha256: str) -> LocalFeatures | None:
        with self._lock:
            cached = self._features.get(sha256)
            if cached is not None:
                self._features.move_to_end(sha256)
                return cached
        if not self.blobs.exists(sha256):
            return None
        features = local_features_of(load_working_image(self.blobs.get(sha256)))
        with self._lock:
            self._features[sha256] = features
            while len(self._features) > self.FEATURE_CACHE_SIZE:
                self._features.popitem(last=False)
        return features


def record_copy_claim(
    session: Session,
    *,
    claimant_id: uuid.UUID,
    upload_sha256: str,
    upload_filename: str,
    match: NearCopy,
) -> CopyClaim:
    """Keep an upload refused under R1 as a claim an operator can review (the dispute path)."""
    return FingerprintRepository(session).add_claim(
        CopyClaim(
            claimant_id=claimant_id,
            upload_sha256=upload_sha256,
            upload_filename=upload_filename,
            matched_artwork_id=match.artwork_id,
            matched_generation_id=match.generation_id,
            matched_owner_id=match.owner_id,
            method=match.method.value,
            distance=match.distance,
        )
    )
