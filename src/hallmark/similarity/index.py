"""A FAISS index of binary hashes under integer ids, searched by Hamming distance, kept on disk."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray


class HammingIndex:
    """Exact nearest neighbours of fixed-width binary hashes (FAISS IndexBinaryFlat with ids)."""

    def __init__(self, bits: int, index: faiss.IndexBinaryIDMap2 | None = None) -> None:
        if bits % 8:
            raise ValueError("a hash has a whole number of bytes")
        self.bits = bits
        self._index = index or _flat_with_ids(bits)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def max_id(self) -> int:
        """The largest id indexed, or 0 when empty."""
        if not len(self):
            return 0
        return int(faiss.vector_to_array(self._index.id_map).max())

    def add(self, ids: Sequence[int], codes: Sequence[bytes]) -> None:
        """Add hashes under their ids (ids are the fingerprint rows' primary keys)."""
        if not ids:
            return
        self._index.add_with_ids(self._matrix(codes), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Sequence[int]) -> None:
        """Drop hashes by id (a deleted artwork's fingerprint)."""
        if ids:
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))

    def search(self, queries: Sequence[bytes], k: int) -> dict[int, int]:
        """The k nearest ids of each query, merged: id -> smallest distance to any query."""
        if not len(self) or not queries:
            return {}
        distances, ids = self._index.search(self._matrix(queries), min(k, len(self)))
        best: dict[int, int] = {}
        for row_ids, row_distances in zip(ids, distances, strict=True):
            for found, distance in zip(row_ids.tolist(), row_distances.tolist(), strict=True):
                if found >= 0 and distance < best.get(found, self.bits + 1):
                    best[found] = int(distance)
        return best

    def _matrix(self, codes: Sequence[bytes]) -> NDArray[np.uint8]:
        """Hashes as a matrix of bytes, one row each, as FAISS takes them."""
        return np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), self.bits // 8)

    def save(self, path: Path) -> None:
        """Write the index atomically."""
        _write_binary_index(self._index, path)

    @classmethod
    def load(cls, path: Path, bits: int) -> HammingIndex | None:
        """The index saved at `path`, or None if it is missing, unreadable or of another width."""
        index = _read_binary_index(path, bits)
        return cls(bits, index) if isinstance(index, faiss.IndexBinaryIDMap2) else None


class DescriptorIndex:
    """ORB descriptors of many images in one FAISS binary index, to find which image a crop is of.

    A descriptor's id is its image's fingerprint id shifted left by `SLOT_BITS`, plus its number
    within the image, so an image's descriptors are removed together by one id range. Small
    collections are scanned exactly; once they pass `ivf_after` descriptors the index is rebuilt
    as an inverted file (k-means cells, `nprobe` of them searched), which keeps a query in tens
    of milliseconds at millions of descriptors.
    """

    SLOT_BITS = 10
    DESCRIPTOR_BITS = 256
    IVF_AFTER = 50_000
    NPROBE = 16
    TRAINING_POINTS_PER_CELL = 40

    def __init__(
        self, index: faiss.IndexBinary | None = None, *, ivf_after: int = IVF_AFTER
    ) -> None:
        self._index = index or _flat_with_ids(self.DESCRIPTOR_BITS)
        self.ivf_after = ivf_after
        self._images = self._indexed_image_ids()

    @property
    def is_inverted_file(self) -> bool:
        """Whether the index is the approximate inverted file rather than the exact scan."""
        return isinstance(self._index, faiss.IndexBinaryIVF)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def image_ids(self) -> set[int]:
        """The fingerprint ids of the images whose descriptors are indexed."""
        return set(self._images)

    def add(self, image_id: int, descriptors: NDArray[np.uint8]) -> None:
        """Index one image's descriptors (at most 2**SLOT_BITS of them)."""
        count = min(len(descriptors), 1 << self.SLOT_BITS)
        if not count:
            return
        ids = (np.int64(image_id) << self.SLOT_BITS) + np.arange(count, dtype=np.int64)
        self._index.add_with_ids(np.ascontiguousarray(descriptors[:count]), ids)
        self._images.add(int(image_id))
        if not self.is_inverted_file and len(self) >= self.ivf_after:
            self.become_inverted_file()

    def remove(self, image_ids: Sequence[int]) -> None:
        """Drop every descriptor of the given images."""
        for image_id in image_ids:
            first = int(image_id) << self.SLOT_BITS
            self._index.remove_ids(faiss.IDSelectorRange(first, first + (1 << self.SLOT_BITS)))
            self._images.discard(int(image_id))

    def vote(self, descriptors: NDArray[np.uint8], max_distance: int) -> dict[int, int]:
        """For each indexed image, how many query descriptors have a close neighbour in it."""
        if not len(self) or not len(descriptors):
            return {}
        distances, ids = self._index.search(np.ascontiguousarray(descriptors), min(2, len(self)))
        close = (distances <= max_distance) & (ids >= 0)
        votes: dict[int, int] = {}
        for row_ids, row_close in zip(ids, close, strict=True):
            # One vote per query descriptor and image, however many of its neighbours are there.
            for image_id in {int(found) >> self.SLOT_BITS for found in row_ids[row_close]}:
                votes[image_id] = votes.get(image_id, 0) + 1
        return votes

    def become_inverted_file(self) -> None:
        """Rebuild the exact index as an inverted file trained on the descriptors it holds."""
        codes, ids = self._all_codes_and_ids()
        cells = max(1, int(np.sqrt(len(codes))))
        quantizer = faiss.IndexBinaryFlat(self.DESCRIPTOR_BITS)
        inverted = faiss.IndexBinaryIVF(quantizer, self.DESCRIPTOR_BITS, cells)
        sample = np.random.default_rng(0).permutation(len(codes))[
            : cells * self.TRAINING_POINTS_PER_CELL
        ]
        inverted.train(codes[sample])
        inverted.add_with_ids(codes, ids)
        inverted.nprobe = self.NPROBE
        self._index = inverted

    def _all_codes_and_ids(self) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
        """Every stored descriptor and its id (from the exact index)."""
        assert isinstance(self._index, faiss.IndexBinaryIDMap2)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        codes = np.asarray(self._index.index.reconstruct_n(0, len(self)), dtype=np.uint8)
        return codes, ids

    def _indexed_image_ids(self) -> set[int]:
        """The image ids present in a (possibly loaded) index."""
        if isinstance(self._index, faiss.IndexBinaryIVF):
            lists = self._index.invlists
            found = [
                faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).copy()
                for cell in range(self._index.nlist)
                if lists.list_size(cell)
            ]
            ids = np.concatenate(found) if found else np.zeros(0, np.int64)
        elif isinstance(self._index, faiss.IndexBinaryIDMap2) and len(self):
            ids = faiss.vector_to_array(self._index.id_map)
        else:
            ids = np.zeros(0, np.int64)
        return {int(found) for found in np.unique(ids >> self.SLOT_BITS)}

    def save(self, path: Path) -> None:
        """Write the index atomically."""
        _write_binary_index(self._index, path)

    @classmethod
    def load(cls, path: Path) -> DescriptorIndex | None:
        """The index saved at `path`, or None if it is missing or unreadable."""
        index = _read_binary_index(path, cls.DESCRIPTOR_BITS, faiss.IndexBinaryIVF)
        if isinstance(index, faiss.IndexBinaryIVF):
            index.nprobe = cls.NPROBE
        return cls(index) if index is not None else None


def _flat_with_ids(bits: int) -> faiss.IndexBinaryIDMap2:
    """An exact binary index whose vectors keep caller-chosen ids."""
    return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(bits))


def _write_binary_index(index: faiss.IndexBinary, path: Path) -> None:
    """Write through a temporary file and rename, so a reader never sees half an index (the
    temporary name is the process's own: API processes on one host share the directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f"{path.suffix}.{os.getpid()}.{threading.get_ident()}.tmp")
    faiss.write_index_binary(index, str(temporary))
    os.replace(temporary, path)


def _read_binary_index(
    path: Path, bits: int, *also: type[faiss.IndexBinary]
) -> faiss.IndexBinary | None:
    """A saved index of `bits`-wide codes with ids, or None if missing, unreadable or different."""
    if not path.is_file():
        return None
    try:
        index = faiss.read_index_binary(str(path))
    except RuntimeError:
        return None
    if index.d != bits or not isinstance(index, (faiss.IndexBinaryIDMap2, *also)):
        return None
    return index
