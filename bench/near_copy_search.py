"""Near-copy search latency on one core: whole-image hashes and ORB descriptor votes.

Run: .venv/bin/python bench/near_copy_search.py [--sizes 10000 100000 1000000] [--queries 50]
         [--orb-works 1000 10000] [--orb-per-work 300]
Part 1, per index size, the median milliseconds of a PDQ query (the 8 rotations and mirrors of
one hash, k=5) in the FAISS Hamming index against a NumPy brute-force scan, and their ratio.
Part 2, per number of registered works, the median milliseconds of a descriptor vote (the
2,000 ORB descriptors of a query and its mirror) in `DescriptorIndex`, scanned exactly against
the inverted file it becomes when large, their ratio, and whether the inverted file still ranks
the original of the query first.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from hallmark.similarity.fingerprints import PDQ_BITS
from hallmark.similarity.index import DescriptorIndex, HammingIndex
from hallmark.similarity.service import MatchThresholds

VARIANTS = 8
K = 5
QUERY_DESCRIPTORS = 2000
DESCRIPTOR_BYTES = DescriptorIndex.DESCRIPTOR_BITS // 8


def brute_force(codes: NDArray[np.uint8], queries: NDArray[np.uint8], k: int) -> list[object]:
    """The k nearest rows of each query by Hamming distance, with NumPy only."""
    nearest = []
    for query in queries:
        distances = np.bitwise_count(np.bitwise_xor(codes, query)).sum(axis=1, dtype=np.uint16)
        nearest.append(np.argpartition(distances, k)[:k])
    return nearest


def median_ms(function: Callable[[Any], object], inputs: Sequence[Any]) -> float:
    """Median wall time of calling `function` on each input, in milliseconds."""
    times = []
    for argument in inputs:
        start = time.perf_counter()
        function(argument)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def flip_bits(code: NDArray[np.uint8], count: int, rng: np.random.Generator) -> NDArray[np.uint8]:
    """The code with `count` random bits flipped: a registered hash seen through an edit."""
    bits = np.unpackbits(code)
    bits[rng.choice(len(bits), count, replace=False)] ^= 1
    return np.packbits(bits)


def measure_hashes(sizes: list[int], queries: int, rng: np.random.Generator) -> None:
    """Part 1: the PDQ index against a NumPy scan."""
    width = PDQ_BITS // 8
    print(f"{'works':>10} {'faiss ms':>10} {'numpy ms':>10} {'numpy/faiss':>12}  recall@1")
    for size in sizes:
        codes = rng.integers(0, 256, size=(size, width), dtype=np.uint8)
        index = HammingIndex(PDQ_BITS)
        index.add(list(range(1, size + 1)), [row.tobytes() for row in codes])
        targets = rng.integers(0, size, size=queries)
        # Each query is a registered hash with 20 bits flipped, plus 7 unrelated variants.
        batches = []
        for target in targets:
            variants = rng.integers(0, 256, size=(VARIANTS, width), dtype=np.uint8)
            variants[0] = flip_bits(codes[target], 20, rng)
            batches.append(variants)
        as_bytes = [[v.tobytes() for v in batch] for batch in batches]

        found = sum(
            (int(target) + 1) in index.search(batch, K)
            for target, batch in zip(targets, as_bytes, strict=True)
        )
        faiss_ms = median_ms(functools.partial(index.search, k=K), as_bytes)
        numpy_ms = median_ms(
            functools.partial(brute_force, codes, k=K), batches[: min(queries, 10)]
        )
        print(
            f"{size:>10,} {faiss_ms:>10.2f} {numpy_ms:>10.2f} {numpy_ms / faiss_ms:>12.1f}"
            f"  {found / len(targets):.2f}"
        )


def share_ranked_first(
    index: DescriptorIndex,
    targets: NDArray[np.int64],
    batches: list[NDArray[np.uint8]],
    distance: int,
) -> float:
    """How often the query's original work gets the most votes."""
    hits = 0
    for target, batch in zip(targets, batches, strict=True):
        votes = index.vote(batch, distance)
        hits += bool(votes) and max(votes, key=votes.__getitem__) == int(target) + 1
    return hits / len(targets)


def measure_descriptor_votes(
    works: list[int], per_work: int, queries: int, rng: np.random.Generator
) -> None:
    """Part 2: ORB descriptor votes, exact scan against the inverted file."""
    limits = MatchThresholds()
    print(
        f"\n{'works':>10} {'descriptors':>12} {'exact ms':>10} {'ivf ms':>10} "
        f"{'exact/ivf':>10} {'ivf build s':>12}  original ranked first (exact, ivf)"
    )
    for count in works:
        descriptors = rng.integers(0, 256, size=(count, per_work, DESCRIPTOR_BYTES), dtype=np.uint8)
        exact = DescriptorIndex(ivf_after=10**12)
        for image_id in range(count):
            exact.add(image_id + 1, descriptors[image_id])
        targets = rng.integers(0, count, size=queries)
        # A query shares a third of its descriptors with its original (each a few bits off),
        # as a cropped copy does; the rest are new.
        batches = []
        for target in targets:
            batch = rng.integers(0, 256, size=(QUERY_DESCRIPTORS, DESCRIPTOR_BYTES), dtype=np.uint8)
            shared = min(per_work, QUERY_DESCRIPTORS // 3)
            for row in range(shared):
                batch[row] = flip_bits(descriptors[target, row], 12, rng)
            batches.append(batch)
        distance = limits.orb_descriptor_distance
        vote = functools.partial(exact.vote, max_distance=distance)
        exact_ms = median_ms(vote, batches)
        exact_first = share_ranked_first(exact, targets, batches, distance)
        started = time.perf_counter()
        exact.become_inverted_file()
        build_s = time.perf_counter() - started
        ivf_ms = median_ms(vote, batches)
        ivf_first = share_ranked_first(exact, targets, batches, distance)
        print(
            f"{count:>10,} {count * per_work:>12,} {exact_ms:>10.1f} {ivf_ms:>10.1f} "
            f"{exact_ms / ivf_ms:>10.1f} {build_s:>12.1f}  {exact_first:.2f}, {ivf_first:.2f}"
        )


def main() -> None:
    """Measure both parts and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--orb-works", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--orb-per-work", type=int, default=MatchThresholds.orb_indexed_per_image)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    measure_hashes(args.sizes, args.queries, rng)
    measure_descriptor_votes(args.orb_works, args.orb_per_work, min(args.queries, 20), rng)


if __name__ == "__main__":
    main()
