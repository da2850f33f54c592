"""Use cases of similarity: fingerprint every image, find near-copies (R1, R11), record claims."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
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
    aligned_match,
    fingerprint_of,
    hamming,
    load_working_image,
    local_features_of,
    query_hashes_of,
)
from hallmark.similarity.index import DescriptorIndex, HammingIndex
from hallmark.similarity.models import CopyClaim, ImageFingerprint
from hallmark.similarity.repository import FingerprintRepository, FingerprintRow
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
    phash_max_distance: int = 2
    # Candidates for the aligned local-feature check: the nearest by each hash, and the images
    # most of whose ORB descriptors the query shares (crops, which whole-image hashes miss).
    hash_candidates: int = 5
    orb_indexed_per_image: int = 300
    orb_candidates: int = 5
    orb_descriptor_distance: int = 64
    orb_min_votes: int = 16
    orb_min_inliers: int = 14
    orb_min_correlation: float = 0.9
    # A copy with a caption or banner over it: many more agreeing features, and the part that is
    # not covered correlates as well as a clean copy does.
    orb_occluded_min_inliers: int = 80
    orb_min_unoccluded_correlation: float = 0.9


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

    @functools.cached_property
    def features(self) -> LocalFeatures:
        """ORB features of the image as it is."""
        return local_features_of(self.image)

    @functools.cached_property
    def mirrored_features(self) -> LocalFeatures:
        """ORB features of the image mirrored: ORB itself is blind to mirroring."""
        return local_features_of(self.image.transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def judge_pair(
    prepared: PreparedImage,
    candidate: Fingerprint,
    candidate_features: Callable[[], LocalFeatures | None],
    limits: MatchThresholds,
    votes: Votes | None = None,
) -> tuple[MatchMethod, int] | None:
    """Whether one candidate is a near-copy of the query, by which method and how closely.

    Whole-image hashes decide first, when both images have enough structure to trust them; then
    the candidate is aligned on the query by local features (for crops, rotations, overlays), in
    each orientation of the query that shares enough descriptors with it (all, if votes unknown).
    """
    trustworthy = min(prepared.fingerprint.pdq_quality, candidate.pdq_quality) >= (
        limits.min_pdq_quality
    )
    pdq_distance = min(hamming(q, candidate.pdq) for q in prepared.queries.pdq)
    if trustworthy and pdq_distance <= limits.pdq_max_distance:
        return MatchMethod.PDQ, pdq_distance
    phash_distance = min(hamming(q, candidate.phash) for q in prepared.queries.phash)
    if trustworthy and phash_distance <= limits.phash_max_distance:
        return MatchMethod.PHASH, phash_distance
    orientations = [
        query
        for query, count in (
            (prepared.features, votes.straight if votes else None),
            (prepared.mirrored_features, votes.mirrored if votes else None),
        )
        if count is None or count >= limits.orb_min_votes
    ]
    features = candidate_features() if orientations else None
    if features is None:
        return None
    for query in orientations:
        match = aligned_match(query, features)
        clean_copy = (
            match.inliers >= limits.orb_min_inliers
            and match.correlation >= limits.orb_min_correlation
        )
        covered_copy = (
            match.inliers >= limits.orb_occluded_min_inliers
            and match.unoccluded_correlation >= limits.orb_min_unoccluded_correlation
        )
        if clean_copy or covered_copy:
            return MatchMethod.ORB, match.inliers
    return None


@dataclass(frozen=True)
class Votes:
    """How many ORB descriptors of the query, and of its mirror image, a registered image shares."""

    straight: int = 0
    mirrored: int = 0

    @property
    def best(self) -> int:
        """The stronger orientation's count."""
        return max(self.straight, self.mirrored)


@dataclass(frozen=True)
class Candidates:
    """Registered images worth judging, and the ORB votes each received."""

    ids: set[int]
    votes: dict[int, Votes]

    def votes_for(self, image_id: int) -> Votes:
        """An image's votes (none if its descriptors are not indexed or none were close)."""
        return self.votes.get(image_id, Votes())


class FingerprintIndexes:
    """PDQ, pHash and ORB-descriptor indexes in memory: where to look for an image's copies."""

    FILES = ("pdq.faiss", "phash.faiss", "orb.faiss")

    def __init__(
        self,
        pdq: HammingIndex | None = None,
        phash: HammingIndex | None = None,
        orb: DescriptorIndex | None = None,
        *,
        orb_per_image: int = MatchThresholds.orb_indexed_per_image,
    ) -> None:
        self.orb_per_image = orb_per_image
        self.pdq = pdq or HammingIndex(PDQ_BITS)
        self.phash = phash or HammingIndex(PHASH_BITS)
        self.orb = orb or DescriptorIndex()

    def __len__(self) -> int:
        return len(self.pdq)

    def add(self, image_id: int, fingerprint: Fingerprint, features: LocalFeatures | None) -> None:
        """Index one image; its local features only if it is an artwork (crops are of works)."""
        self.pdq.add([image_id], [fingerprint.pdq])
        self.phash.add([image_id], [fingerprint.phash])
        if features is not None:
            self.orb.add(image_id, features.descriptors[: self.orb_per_image])

    def remove(self, image_ids: Sequence[int]) -> None:
        """Take images out of every index."""
        self.pdq.remove(image_ids)
        self.phash.remove(image_ids)
        self.orb.remove(image_ids)

    def candidates(self, prepared: PreparedImage, limits: MatchThresholds) -> Candidates:
        """Images worth comparing with the query: the nearest by each hash, the most ORB votes."""
        found: set[int] = set()
        by_hash = ((self.pdq, prepared.queries.pdq), (self.phash, prepared.queries.phash))
        for index, queries in by_hash:
            nearest = index.search(queries, limits.hash_candidates)
            found |= set(sorted(nearest, key=nearest.__getitem__)[: limits.hash_candidates])
        distance = limits.orb_descriptor_distance
        straight = self.orb.vote(prepared.features.descriptors, distance)
        mirrored = self.orb.vote(prepared.mirrored_features.descriptors, distance)
        votes = {
            image_id: Votes(straight.get(image_id, 0), mirrored.get(image_id, 0))
            for image_id in straight.keys() | mirrored.keys()
        }
        ranked = sorted(votes, key=lambda image_id: -votes[image_id].best)
        found |= {
            image_id
            for image_id in ranked[: limits.orb_candidates]
            if votes[image_id].best >= limits.orb_min_votes
        }
        return Candidates(found, votes)

    def save(self, directory: Path) -> None:
        """Write the three indexes to a directory."""
        self.pdq.save(directory / "pdq.faiss")
        self.phash.save(directory / "phash.faiss")
        self.orb.save(directory / "orb.faiss")

    @classmethod
    def load(cls, directory: Path) -> FingerprintIndexes | None:
        """The saved indexes, or None if any is missing or unreadable (then they are rebuilt)."""
        pdq = HammingIndex.load(directory / "pdq.faiss", PDQ_BITS)
        phash = HammingIndex.load(directory / "phash.faiss", PHASH_BITS)
        orb = DescriptorIndex.load(directory / "orb.faiss")
        if pdq is None or phash is None or orb is None or len(pdq) != len(phash):
            return None
        return cls(pdq, phash, orb)


class CopyGuard:
    """The instance's fingerprint indexes: kept in step with the database, saved to disk."""

    FEATURE_CACHE_SIZE = 512
    SAVE_EVERY = 200
    SETTLE_SECONDS = 300.0  # longer than any transaction that writes a fingerprint

    def __init__(
        self, directory: Path, blobs: BlobStore, thresholds: MatchThresholds | None = None
    ) -> None:
        self.directory = directory
        self.blobs = blobs
        self.thresholds = thresholds or MatchThresholds()
        self._indexes = FingerprintIndexes.load(directory)
        self._lock = threading.RLock()
        self._features: OrderedDict[str, LocalFeatures] = OrderedDict()
        self._unsaved = 0
        # Every fingerprint with an id up to _settled_id is indexed; above it, _unsettled holds
        # the ids indexed so far. On PostgreSQL ids are handed out when rows are inserted, not
        # when they commit, so another process's row can appear below an id already seen.
        self._settled_id = 0
        self._unsettled: set[int] = set()
        self._marks: deque[tuple[float, int]] = deque()  # (when, the largest id indexed then)
        self.rebuilt = False

    # -------------------------------------------------------------- keeping the index in step

    def prepare(self, session: Session) -> None:
        """Load the saved index, add rows it lacks, rebuild it if it disagrees with the database."""
        with self._lock:
            repository = FingerprintRepository(session)
            if self._indexes is None:
                self._rebuild(repository)
                return
            self._settled_id, self._unsettled = self._indexes.pdq.max_id(), set()
            self._catch_up(repository)
            if (
                len(self._indexes) != repository.count()
                or len(self._indexes.orb.image_ids()) != repository.count_artworks()
            ):
                self._rebuild(repository)

    def _rebuild(self, repository: FingerprintRepository) -> None:
        self._indexes, self._settled_id, self._unsettled = FingerprintIndexes(), 0, set()
        self._catch_up(repository)
        self.rebuilt = True
        self.save()

    def _catch_up(self, repository: FingerprintRepository) -> None:
        """Add fingerprints written since the index last looked (by this or another process)."""
        assert self._indexes is not None
        for batch in repository.rows_after(self._settled_id, skip=self._unsettled):
            for row in batch:
                features = self._features_of_blob(row.sha256) if row.artwork_id else None
                self._indexes.add(row.id, _stored_fingerprint(row), features)
                self._unsettled.add(row.id)
        self._settle(time.monotonic())

    def _settle(self, now: float) -> None:
        """Advance the settled id to the largest id indexed SETTLE_SECONDS ago: by then every
        transaction that had inserted a smaller id has committed or rolled back."""
        largest = max(self._unsettled, default=self._settled_id)
        if not self._marks or self._marks[-1][1] != largest:
            self._marks.append((now, largest))
        while self._marks and self._marks[0][0] <= now - self.SETTLE_SECONDS:
            self._settled_id = max(self._settled_id, self._marks.popleft()[1])
        self._unsettled = {i for i in self._unsettled if i > self._settled_id}

    def save(self) -> None:
        """Write the indexes to the data directory."""
        with self._lock:
            if self._indexes is None:
                return
            self._indexes.save(self.directory)
            self._unsaved = 0

    def __len__(self) -> int:
        return len(self._indexes) if self._indexes is not None else 0

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
        features = prepared.features if artwork_id is not None else None
        with self._lock:
            # Catch up first: once the new row is flushed, catching up would index it twice.
            self._ensure_ready(session)
            assert self._indexes is not None
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
            self._indexes.add(row_id, prepared.fingerprint, features)
            self._unsettled.add(row_id)
        after_transaction(
            session, committed=self._note_saved_change, rolled_back=lambda: self.forget([row_id])
        )
        return fingerprint

    def forget(self, fingerprint_ids: Sequence[int]) -> None:
        """Take fingerprints out of the index (their rows were rolled back or deleted)."""
        with self._lock:
            if self._indexes is not None:
                self._indexes.remove(fingerprint_ids)

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
        if self._indexes is None:
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

        The indexes are searched over every registered artwork (and generation, if asked); the
        artworks named in `also_artworks` (a style's training set) are compared one by one.
        """
        with self._lock:
            self._ensure_ready(session)
            assert self._indexes is not None
            shortlist = self._indexes.candidates(prepared, self.thresholds)
        repository = FingerprintRepository(session)
        candidates = repository.get_many(shortlist.ids)
        for fp in repository.for_artworks(set(also_artworks)):
            candidates[fp.id] = fp
        excluded = set(exclude_fingerprint_ids)

        matches: list[NearCopy] = []
        for fp in candidates.values():
            if fp.id in excluded or (fp.generation_id is not None and not include_generations):
                continue
            found = judge_pair(
                prepared,
                _stored_fingerprint(fp),
                functools.partial(self._features_of_blob, fp.sha256),
                self.thresholds,
                shortlist.votes_for(fp.id),
            )
            if found is not None:
                method, distance = found
                matches.append(
                    NearCopy(fp.id, fp.artwork_id, fp.generation_id, fp.owner_id, method, distance)
                )
        order = {method: rank for rank, method in enumerate(MatchMethod)}
        return sorted(matches, key=lambda m: (order[m.method], m.distance))

    def _features_of_blob(self, sha256: str) -> LocalFeatures | None:
        """A stored image's local features, from a small cache or computed from its file."""
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


def _stored_fingerprint(row: ImageFingerprint | FingerprintRow) -> Fingerprint:
    """The hashes of a stored fingerprint row."""
    return Fingerprint(pdq=row.pdq, pdq_quality=row.pdq_quality, phash=row.phash)


def record_copy_claim(
    session: Session,
    *,
    claimant_id: uuid.UUID,
    upload_sha256: str,
    upload_filename: str,
    match: NearCopy,
) -> CopyClaim:
    """Keep an upload refused under R1 as a claim an operator can review (the dispute path)."""
    return FingerprintRepository(session).add(
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
