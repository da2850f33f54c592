"""The copy guard on real pictures: every edit a copier makes is caught, other works are not."""

from __future__ import annotations

import functools
import io

import pytest
from PIL import Image

from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS, overlay_banner
from hallmark.similarity.fingerprints import LocalFeatures, aligned_match, local_features_of
from hallmark.similarity.service import (
    FingerprintIndexes,
    MatchMethod,
    MatchThresholds,
    PreparedImage,
    judge_pair,
)

SIZE = 384
LIMITS = MatchThresholds()


def encode(image: Image.Image) -> bytes:
    """PNG bytes of an image."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def originals() -> list[Image.Image]:
    """Two works by each sample artist: eight pictures in four very different styles."""
    return [
        work.image()
        for artist in SAMPLE_ARTISTS.values()
        for work in sample_works(artist, count=2, size=SIZE)
    ]


@pytest.fixture(scope="module")
def registered(originals: list[Image.Image]) -> list[PreparedImage]:
    """The works as the guard stores them."""
    return [PreparedImage.from_bytes(encode(image)) for image in originals]


@pytest.fixture(scope="module")
def indexes(registered: list[PreparedImage]) -> FingerprintIndexes:
    """The works indexed by PDQ, pHash and ORB descriptors, ids 0..7."""
    built = FingerprintIndexes()
    for image_id, work in enumerate(registered):
        built.add(image_id, work.fingerprint, work.features)
    return built


def features_of(work: PreparedImage) -> LocalFeatures:
    """A registered work's local features."""
    return work.features


def decide(
    query: PreparedImage, indexes: FingerprintIndexes, registered: list[PreparedImage]
) -> dict[int, MatchMethod]:
    """What the guard decides for a query: matched work id -> method, as CopyGuard runs it."""
    decided = {}
    candidates = indexes.candidates(query, LIMITS)
    for candidate in candidates.ids:
        work = registered[candidate]
        features = functools.partial(features_of, work)
        found = judge_pair(
            query, work.fingerprint, features, LIMITS, candidates.votes_for(candidate)
        )
        if found is not None:
            decided[candidate] = found[0]
    return decided


@pytest.mark.parametrize("edit_name", list(COPY_EDITS))
def test_each_edit_of_a_work_matches_that_work_and_no_other(
    edit_name: str,
    originals: list[Image.Image],
    registered: list[PreparedImage],
    indexes: FingerprintIndexes,
) -> None:
    # One work of each artist (the second of each pair) is edited and looked up.
    for original in range(1, len(originals), 2):
        query = PreparedImage.from_bytes(encode(COPY_EDITS[edit_name](originals[original])))

        decided = decide(query, indexes, registered)

        assert set(decided) == {original}, f"{edit_name} of work {original}: {decided}"


def test_an_unedited_work_matches_itself_by_its_whole_image_hash(
    registered: list[PreparedImage], indexes: FingerprintIndexes
) -> None:
    decided = decide(registered[0], indexes, registered)

    assert decided == {0: MatchMethod.PDQ}


def test_new_works_by_the_same_artists_match_nothing(
    registered: list[PreparedImage], indexes: FingerprintIndexes
) -> None:
    # Same painters, same textures and palettes, different pictures: not copies.
    newer = [
        work
        for artist in SAMPLE_ARTISTS.values()
        for work in sample_works(artist, count=2, size=SIZE, seed=7)
    ]
    for work in newer:
        query = PreparedImage.from_bytes(work.png)

        assert decide(query, indexes, registered) == {}, work.filename


def test_a_crop_is_found_only_by_local_features(
    originals: list[Image.Image], registered: list[PreparedImage]
) -> None:
    query = PreparedImage.from_bytes(encode(COPY_EDITS["crop-30%"](originals[2])))
    candidate = registered[2]

    found = judge_pair(query, candidate.fingerprint, lambda: candidate.features, LIMITS)
    without_features = judge_pair(query, candidate.fingerprint, lambda: None, LIMITS)

    assert found is not None and found[0] is MatchMethod.ORB
    assert found[1] >= LIMITS.orb_min_inliers
    assert without_features is None


def test_a_banner_lowers_the_plain_correlation_but_not_the_unoccluded_one(
    originals: list[Image.Image],
) -> None:
    work = local_features_of(originals[3])
    clean = aligned_match(local_features_of(COPY_EDITS["crop-10%"](originals[3])), work)
    covered = aligned_match(local_features_of(overlay_banner(originals[3])), work)

    assert clean.correlation >= LIMITS.orb_min_correlation
    assert covered.correlation < clean.correlation
    assert covered.inliers >= LIMITS.orb_occluded_min_inliers
    assert covered.unoccluded_correlation >= LIMITS.orb_min_unoccluded_correlation


def test_a_low_detail_image_is_not_judged_by_its_unreliable_hash() -> None:
    # Two plain images have near-identical hashes; PDQ's quality score says not to trust them.
    red = PreparedImage.from_bytes(encode(Image.new("RGB", (256, 256), (200, 30, 30))))
    blue = PreparedImage.from_bytes(encode(Image.new("RGB", (256, 256), (30, 30, 200))))

    assert red.fingerprint.pdq_quality < LIMITS.min_pdq_quality
    assert judge_pair(red, blue.fingerprint, lambda: blue.features, LIMITS) is None
