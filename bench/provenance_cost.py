"""What content credentials and the copy guard add to one generated image, on one core.

Run: .venv/bin/python bench/provenance_cost.py [--side 512] [--repeats 20]
Baseline, measured in the same run: encoding the engine's image as PNG, which any product must do.
Prints the median milliseconds of signing (XMP + C2PA manifest), of verifying the signed file,
and of the copy guard's check against 96 registered sample works, each as a ratio to the baseline.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hallmark.provenance.authority import own_authority
from hallmark.provenance.manifests import GenerationCredentials
from hallmark.provenance.service import read_credentials, sign_generated_image
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.similarity.service import (
    FingerprintIndexes,
    MatchThresholds,
    PreparedImage,
    judge_pair,
)

FACTS = GenerationCredentials(
    "bench", "m", "Washes", "studio", "world-v1", "o", "ana", "R3", "ana", "a boat", 1, "/lic"
)


def median_ms(function: Callable[[], object], repeats: int) -> float:
    """Median wall time of `function` in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Measure each step and print it against the PNG baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    picture = sample_works(SAMPLE_ARTISTS["ana"], count=1, size=args.side, seed=99)[0].image()

    def encode() -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return buffer.getvalue()

    png = encode()
    identity = own_authority(Path(tempfile.mkdtemp()) / "keys")
    signed = sign_generated_image(identity, png, "image/png", FACTS)

    registered = [
        PreparedImage.from_bytes(work.png)
        for artist in SAMPLE_ARTISTS.values()
        for work in sample_works(artist, count=24, size=384)
    ]
    indexes = FingerprintIndexes()
    for image_id, work in enumerate(registered):
        indexes.add(image_id, work.fingerprint, work.features)
    limits = MatchThresholds()

    def check() -> None:
        query = PreparedImage.from_bytes(signed)
        candidates = indexes.candidates(query, limits)
        for image_id in candidates.ids:
            work = registered[image_id]
            judge_pair(
                query,
                work.fingerprint,
                lambda w=work: w.features,
                limits,
                candidates.votes_for(image_id),
            )

    baseline = median_ms(encode, args.repeats)
    rows = [
        ("encode PNG (baseline)", baseline),
        (
            "sign: XMP + C2PA",
            median_ms(
                lambda: sign_generated_image(identity, png, "image/png", FACTS), args.repeats
            ),
        ),
        (
            "verify signed file",
            median_ms(lambda: read_credentials(identity, signed, "image/png"), args.repeats),
        ),
        ("copy guard, 96 works", median_ms(check, args.repeats)),
    ]
    print(
        f"{args.side}x{args.side} PNG of {len(png) / 1024:.0f} KB; "
        f"signed {len(signed) / 1024:.0f} KB"
    )
    print(f"{'step':<24} {'ms':>8} {'x baseline':>11}")
    for name, ms in rows:
        print(f"{name:<24} {ms:>8.1f} {ms / baseline:>11.2f}")


if __name__ == "__main__":
    main()
