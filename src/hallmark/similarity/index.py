"""A FAISS index of binary hashes under integer ids, searched by Hamming distance, kept on disk."""

from __future__ import annotations

import os
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
        self._index = index or faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(bits))

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
        """Write the index atomically: a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        faiss.write_index_binary(self._index, str(temporary))
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path, bits: int) -> HammingIndex | None:
        """The index saved at `path`, or None if it is missing, unreadable or of another width."""
        if not path.is_file():
            return None
        try:
            index = faiss.read_index_binary(str(path))
        except RuntimeError:
            return None
        if index.d != bits or not isinstance(index, faiss.IndexBinaryIDMap2):
            return None
        return cls(bits, index)
