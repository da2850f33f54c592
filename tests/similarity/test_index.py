"""The FAISS indexes: exact Hamming search, descriptor votes, the inverted file, files on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from hallmark.similarity.index import DescriptorIndex, HammingIndex

DESCRIPTOR_BYTES = DescriptorIndex.DESCRIPTOR_BITS // 8


def random_descriptors(rng: np.random.Generator, count: int) -> NDArray[np.uint8]:
    """Random 256-bit ORB-like descriptors."""
    return rng.integers(0, 256, size=(count, DESCRIPTOR_BYTES), dtype=np.uint8)


def near(descriptors: NDArray[np.uint8], rng: np.random.Generator, bits: int) -> NDArray[np.uint8]:
    """The descriptors with `bits` random bits of each flipped, as an edit shifts them."""
    unpacked = np.unpackbits(descriptors, axis=1)
    for row in unpacked:
        row[rng.choice(unpacked.shape[1], bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def test_hamming_index_finds_the_nearest_id_and_its_distance() -> None:
    index = HammingIndex(64)
    index.add([10, 20], [bytes(8), b"\xff" * 8])

    found = index.search([b"\x01" + bytes(7)], k=1)

    assert found == {10: 1}
    assert index.max_id() == 20


def test_hamming_index_remove_and_reload(tmp_path: Path) -> None:
    index = HammingIndex(64)
    index.add([1, 2, 3], [bytes(8), b"\x0f" * 8, b"\xff" * 8])
    index.remove([2])
    index.save(tmp_path / "h.faiss")

    loaded = HammingIndex.load(tmp_path / "h.faiss", 64)

    assert loaded is not None and len(loaded) == 2
    assert set(loaded.search([b"\x0f" * 8], k=5)) == {1, 3}
    assert HammingIndex.load(tmp_path / "h.faiss", 256) is None  # another width is not this one


@pytest.mark.parametrize("content", [b"", b"not a faiss index at all"])
def test_an_unreadable_index_file_loads_as_missing(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.faiss"
    path.write_bytes(content)

    assert HammingIndex.load(path, 64) is None
    assert DescriptorIndex.load(path) is None
    assert DescriptorIndex.load(tmp_path / "absent.faiss") is None


@pytest.fixture
def works() -> dict[int, NDArray[np.uint8]]:
    """Forty images' descriptors, 200 each, under fingerprint ids 101..140."""
    rng = np.random.default_rng(1)
    return {image_id: random_descriptors(rng, 200) for image_id in range(101, 141)}


def filled(
    works: dict[int, NDArray[np.uint8]], ivf_after: int = DescriptorIndex.IVF_AFTER
) -> DescriptorIndex:
    """A descriptor index holding every work."""
    index = DescriptorIndex(ivf_after=ivf_after)
    for image_id, descriptors in works.items():
        index.add(image_id, descriptors)
    return index


def crop_of(work: NDArray[np.uint8], seed: int = 2) -> NDArray[np.uint8]:
    """A query sharing a third of the work's descriptors, slightly changed, plus new ones."""
    rng = np.random.default_rng(seed)
    return np.concatenate([near(work[:70], rng, 10), random_descriptors(rng, 140)])


def test_votes_go_to_the_image_the_query_shares_descriptors_with(
    works: dict[int, NDArray[np.uint8]],
) -> None:
    index = filled(works)

    votes = index.vote(crop_of(works[117]), max_distance=64)

    assert max(votes, key=votes.__getitem__) == 117
    assert votes[117] >= 60
    assert all(count < 10 for image_id, count in votes.items() if image_id != 117)
    assert index.image_ids() == set(works)


def test_removing_an_image_removes_all_its_descriptors_and_no_other(
    works: dict[int, NDArray[np.uint8]],
) -> None:
    index = filled(works)

    index.remove([117])

    assert len(index) == 200 * 39
    assert 117 not in index.image_ids()
    assert 117 not in index.vote(works[117], max_distance=0)
    assert index.vote(works[118], max_distance=0) == {118: 200}


def test_a_large_index_becomes_an_inverted_file_that_still_finds_the_original(
    works: dict[int, NDArray[np.uint8]],
) -> None:
    index = filled(works, ivf_after=5_000)

    assert index.is_inverted_file
    votes = index.vote(crop_of(works[130]), max_distance=64)
    assert max(votes, key=votes.__getitem__) == 130

    index.remove([130])
    index.add(999, works[130])  # the same picture registered again under a new id
    votes = index.vote(crop_of(works[130]), max_distance=64)
    assert max(votes, key=votes.__getitem__) == 999
    assert 130 not in votes


@pytest.mark.parametrize("ivf_after", [DescriptorIndex.IVF_AFTER, 5_000])
def test_a_saved_descriptor_index_loads_with_the_same_images_and_votes(
    tmp_path: Path, works: dict[int, NDArray[np.uint8]], ivf_after: int
) -> None:
    index = filled(works, ivf_after=ivf_after)
    query = crop_of(works[105])
    index.save(tmp_path / "orb.faiss")

    loaded = DescriptorIndex.load(tmp_path / "orb.faiss")

    assert loaded is not None
    assert loaded.is_inverted_file == index.is_inverted_file
    assert loaded.image_ids() == set(works)
    assert loaded.vote(query, 64) == index.vote(query, 64)
