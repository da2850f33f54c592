"""Near-copy search latency: the FAISS Hamming index against a NumPy brute-force scan, one core.

Run: .venv/bin/python bench/near_copy_search.py [--sizes 10000 100000 1000000] [--queries 50]
Prints, per index size, the median milliseconds per query of each method and their ratio.
A "query" is what one upload costs: the 8 rotations and mirrors of a PDQ hash, searched at once.
"""

from __future__ import annotations

import argparse
import statistics
import time

import faiss
import numpy as np

from hallmark.similarity.fingerprints import PDQ_BITS
from hallmark.similarity.index import HammingIndex

VARIANTS = 8
K = 5


def brute_force(codes: np.ndarray, queries: np.ndarray, k: int) -> list[np.ndarray]:
    """The k nearest rows of each query by Hamming distance, with NumPy only."""
    nearest = []
    for query in queries:
        distances = np.bitwise_count(np.bitwise_xor(codes, query)).sum(axis=1, dtype=np.uint16)
        nearest.append(np.argpartition(distances, k)[:k])
    return nearest


def median_ms(function: object, repeats: int) -> float:
    """Median wall time of calling `function` in milliseconds."""
    assert callable(function)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Measure both methods at each size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    width = PDQ_BITS // 8

    print(f"{'works':>10} {'faiss ms':>10} {'numpy ms':>10} {'numpy/faiss':>12}  recall@1")
    for size in args.sizes:
        codes = rng.integers(0, 256, size=(size, width), dtype=np.uint8)
        index = HammingIndex(PDQ_BITS)
        index.add(list(range(1, size + 1)), [row.tobytes() for row in codes])
        targets = rng.integers(0, size, size=args.queries)
        # Each query is a registered hash with 20 bits flipped, plus 7 unrelated variants.
        batches = []
        for target in targets:
            variants = rng.integers(0, 256, size=(VARIANTS, width), dtype=np.uint8)
            bits = np.unpackbits(codes[target])
            flip = rng.choice(PDQ_BITS, 20, replace=False)
            bits[flip] ^= 1
            variants[0] = np.packbits(bits)
            batches.append(variants)

        found = sum(
            (int(target) + 1) in index.search([v.tobytes() for v in batch], K)
            for target, batch in zip(targets, batches, strict=True)
        )
        batch_iter = iter(batches * 3)
        faiss_ms = median_ms(
            lambda: index.search([v.tobytes() for v in next(batch_iter)], K), args.queries
        )
        numpy_iter = iter(batches * 3)
        numpy_ms = median_ms(
            lambda: brute_force(codes, next(numpy_iter), K), min(args.queries, 10)
        )
        print(
            f"{size:>10,} {faiss_ms:>10.2f} {numpy_ms:>10.2f} {numpy_ms / faiss_ms:>12.1f}"
            f"  {found / len(targets):.2f}"
        )


if __name__ == "__main__":
    main()
