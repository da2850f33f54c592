"""Precision and recall of each near-copy method on the sample artists' works and their edits.

Run: .venv/bin/python bench/near_copy_eval.py [--works 24] [--size 384]
Builds an evaluation set from hallmark.samples: every work is re-encoded, resized, cropped,
rotated, mirrored, colour-shifted and overlaid with text; each edit is paired with its original
(a copy) and with every other work (not a copy). For each method it prints precision and recall
per threshold, then the recall per edit and the overall precision of the product's own decision
(`FingerprintIndexes.candidates` then `judge_pair`, as `CopyGuard` runs them) with the thresholds
in `MatchThresholds`.
"""

from __future__ import annotations

import argparse
import io
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS as EDITS
from hallmark.samples.edits import TARGET_EDITS
from hallmark.similarity.fingerprints import AlignedMatch, aligned_match
from hallmark.similarity.service import (
    FingerprintIndexes,
    MatchMethod,
    MatchThresholds,
    PreparedImage,
    judge_pair,
)


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _bits(codes: list[bytes]) -> NDArray[np.uint8]:
    """Hashes as rows of bits, to compare every query with every work in one step."""
    return np.unpackbits(np.frombuffer(b"".join(codes), np.uint8).reshape(len(codes), -1), axis=1)


def _min_hamming(queries: list[bytes], works: NDArray[np.uint8]) -> NDArray[np.int64]:
    """For each work, the smallest Hamming distance to any of the query's variants."""
    return np.asarray((_bits(queries)[:, None, :] != works[None, :, :]).sum(axis=2).min(axis=0))


@dataclass
class Query:
    """One edited work: its hashes' distances to every work, and what the product decided."""

    edit: str
    original: int
    pdq: NDArray[np.int64]
    phash: NDArray[np.int64]
    quality: NDArray[np.int64]
    aligned: dict[int, AlignedMatch]
    decided: dict[int, MatchMethod]


def _sweep(
    name: str,
    queries: list[Query],
    score: Callable[[Query], NDArray[np.float64]],
    levels: list[float],
) -> None:
    """Precision and recall (target edits, and all edits) of flagging pairs with score <= level."""
    print(f"{name}: threshold, precision, recall on target edits (all edits)")
    for level in levels:
        true = false = target_true = target_total = 0
        for query in queries:
            flagged = score(query) <= level
            true += int(flagged[query.original])
            false += int(flagged.sum() - flagged[query.original])
            if query.edit in TARGET_EDITS:
                target_true += int(flagged[query.original])
                target_total += 1
        precision = true / (true + false) if true + false else 1.0
        print(
            f"  {level:>6}  {precision:.3f}  {target_true / target_total:.3f}"
            f"  ({true / len(queries):.3f})"
        )


def main() -> None:
    """Build the set, let the product decide every query, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--works", type=int, default=24, help="works per sample artist")
    parser.add_argument("--size", type=int, default=384, help="side of each work in pixels")
    parser.add_argument(
        "--inverted", action="store_true", help="search ORB descriptors by inverted file (large)"
    )
    parser.add_argument(
        "--indexed",
        type=int,
        default=MatchThresholds.orb_indexed_per_image,
        help="ORB descriptors indexed per work",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    limits = replace(MatchThresholds(), orb_indexed_per_image=args.indexed)

    originals = [
        work.image()
        for artist in SAMPLE_ARTISTS.values()
        for work in sample_works(artist, count=args.works, size=args.size)
    ]
    registered = [PreparedImage.from_bytes(_encode(image)) for image in originals]
    indexes = FingerprintIndexes(orb_per_image=args.indexed)
    for image_id, work in enumerate(registered):
        indexes.add(image_id, work.fingerprint, work.features)
    if args.inverted:
        indexes.orb.become_inverted_file()
    print(
        f"ORB index: {len(indexes.orb):,} descriptors, "
        f"inverted file: {indexes.orb.is_inverted_file}"
    )
    pdq_bits = _bits([w.fingerprint.pdq for w in registered])
    phash_bits = _bits([w.fingerprint.phash for w in registered])
    qualities = np.array([w.fingerprint.pdq_quality for w in registered])
    print(f"{len(originals)} works from {len(SAMPLE_ARTISTS)} sample artists, {args.size}px")

    queries: list[Query] = []
    seconds: list[float] = []
    for original, image in enumerate(originals):
        for edit_name, edit in EDITS.items():
            clock = time.perf_counter()
            query = PreparedImage.from_bytes(_encode(edit(image)))
            decided = {}
            candidates = indexes.candidates(query, limits)
            for candidate in candidates.ids:
                work = registered[candidate]
                found = judge_pair(
                    query,
                    work.fingerprint,
                    lambda w=work: w.features,
                    limits,
                    candidates.votes_for(candidate),
                )
                if found is not None:
                    decided[candidate] = found[0]
            seconds.append(time.perf_counter() - clock)
            # For the sweep: the aligned check on the candidates the indexes offered.
            aligned = {
                candidate: max(
                    (
                        aligned_match(f, registered[candidate].features)
                        for f in (query.features, query.mirrored_features)
                    ),
                    key=lambda m: (m.correlation, m.unoccluded_correlation, m.inliers),
                )
                for candidate in candidates.ids
            }
            queries.append(
                Query(
                    edit_name,
                    original,
                    _min_hamming(query.queries.pdq, pdq_bits),
                    _min_hamming(query.queries.phash, phash_bits),
                    np.minimum(qualities, query.fingerprint.pdq_quality),
                    aligned,
                    decided,
                )
            )
    pairs = len(queries) * len(originals)
    print(f"{len(queries)} copy pairs, {pairs - len(queries)} non-copy pairs\n")

    never = np.inf
    gated = limits.min_pdq_quality
    _sweep(
        "PDQ bits (quality-gated)",
        queries,
        lambda q: np.where(q.quality >= gated, q.pdq, never),
        [16, 24, 31, 40, 48, 56, 64],
    )
    _sweep(
        "pHash bits (quality-gated)",
        queries,
        lambda q: np.where(q.quality >= gated, q.phash, never),
        [2, 4, 6, 8, 10, 12],
    )

    def aligned_score(q: Query) -> NDArray[np.float64]:
        score = np.full(len(originals), never)
        for candidate, match in q.aligned.items():
            if match.inliers >= limits.orb_min_inliers:
                score[candidate] = -match.correlation
        return score

    def unoccluded_score(q: Query) -> NDArray[np.float64]:
        score = np.full(len(originals), never)
        for candidate, match in q.aligned.items():
            if match.inliers >= limits.orb_occluded_min_inliers:
                score[candidate] = -match.unoccluded_correlation
        return score

    levels = [-0.98, -0.95, -0.9, -0.85, -0.8, -0.7, -0.6]
    _sweep(
        f"aligned ORB correlation (negated; >= {limits.orb_min_inliers} inliers)",
        queries,
        aligned_score,
        levels,
    )
    _sweep(
        "aligned ORB correlation of the best-agreeing 75% (negated; "
        f">= {limits.orb_occluded_min_inliers} inliers)",
        queries,
        unoccluded_score,
        levels,
    )

    print(f"\nThe product's decision with {limits}:")
    by_edit: dict[str, list[bool]] = defaultdict(list)
    false_by_method: dict[str, int] = defaultdict(int)
    for q in queries:
        by_edit[q.edit].append(q.original in q.decided)
        for candidate, method in q.decided.items():
            if candidate != q.original:
                false_by_method[f"{method.value} on {q.edit}"] += 1
    false_copies = sum(false_by_method.values())
    print(f"  {'edit':<14} recall")
    for edit_name in EDITS:
        hits = by_edit[edit_name]
        mark = "  (target)" if edit_name in TARGET_EDITS else ""
        print(f"  {edit_name:<14} {sum(hits) / len(hits):.3f}{mark}")
    target_hits = [d for e, hs in by_edit.items() if e in TARGET_EDITS for d in hs]
    true_copies = sum(sum(hs) for hs in by_edit.values())
    print(f"  recall on target edits: {sum(target_hits) / len(target_hits):.3f}")
    print(f"  precision over all {pairs} pairs: {true_copies / (true_copies + false_copies):.4f}")
    print(f"  false copies: {false_copies} {dict(false_by_method) or ''}")
    print(f"  median check per query: {1000 * float(np.median(seconds)):.0f} ms")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
