"""Precision and recall of each near-copy method on the sample artists' works and their edits.

Run: .venv/bin/python bench/near_copy_eval.py [--works 24] [--size 384]
Builds an evaluation set from hallmark.samples: every work is re-encoded, resized, cropped,
rotated, mirrored, colour-shifted and overlaid with text; each edit is paired with its original
(a copy) and with every other work (not a copy). For each method it prints precision and recall
per threshold, then the recall per edit and the overall precision of the product's decision
(`CopyGuard`) with the thresholds in `MatchThresholds`.
"""

from __future__ import annotations

import argparse
import io
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageEnhance

from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.similarity.fingerprints import (
    LocalFeatures,
    geometric_inliers,
    hamming,
    local_features_of,
)
from hallmark.similarity.service import MatchThresholds, PreparedImage

Edit = Callable[[Image.Image], Image.Image]


def _jpeg(image: Image.Image, quality: int = 60) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _crop(fraction: float) -> Edit:
    def crop(image: Image.Image) -> Image.Image:
        w, h = image.size
        dx, dy = int(w * fraction / 2), int(h * fraction / 2)
        return image.crop((dx, dy, w - dx, h - dy))

    return crop


def _corner_crop(fraction: float) -> Edit:
    def crop(image: Image.Image) -> Image.Image:
        w, h = image.size
        return image.crop((int(w * fraction), int(h * fraction), w, h))

    return crop


def _overlay_text(image: Image.Image) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    draw.rectangle((0, int(h * 0.8), w, h), fill=(20, 20, 20))
    draw.text((8, int(h * 0.83)), "@copycat  SALE  50% OFF", fill=(255, 255, 255))
    return out


EDITS: dict[str, Edit] = {
    "re-encode": lambda im: _jpeg(im, 60),
    "resize-50%": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "mirror": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "crop-5%": _crop(0.05),
    "crop-10%": _crop(0.10),
    "crop-20%": _corner_crop(0.20),
    "crop-30%": _corner_crop(0.30),
    "rotate-90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "rotate-5deg": lambda im: im.rotate(5, resample=Image.Resampling.BICUBIC, expand=False),
    "colour-shift": lambda im: ImageEnhance.Color(ImageEnhance.Brightness(im).enhance(1.15)).enhance(
        1.4
    ),
    "overlay-text": _overlay_text,
}
TARGET_EDITS = {"re-encode", "resize-50%", "mirror", "crop-5%", "crop-10%", "crop-20%"}


@dataclass
class Pair:
    """One (edited image, registered work) comparison and whether it is a real copy."""

    edit: str
    copy: bool
    pdq: int
    phash: int
    quality: int
    inliers: int | None = None


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    """Build the set, score every pair, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--works", type=int, default=24, help="works per sample artist")
    parser.add_argument("--size", type=int, default=384, help="side of each work in pixels")
    parser.add_argument("--orb-candidates", type=int, default=MatchThresholds().orb_candidates)
    args = parser.parse_args()
    started = time.perf_counter()
    limits = MatchThresholds()

    originals = [
        work.image()
        for artist in SAMPLE_ARTISTS.values()
        for work in sample_works(artist, count=args.works, size=args.size)
    ]
    registered = [PreparedImage.from_bytes(_encode(image)) for image in originals]
    features: list[LocalFeatures] = [local_features_of(p.image) for p in registered]
    print(f"{len(originals)} works from {len(SAMPLE_ARTISTS)} sample artists, {args.size}px")

    pairs: list[Pair] = []
    for index, original in enumerate(originals):
        for edit_name, edit in EDITS.items():
            query = PreparedImage.from_bytes(_encode(edit(original)))
            scored = []
            for other, candidate in enumerate(registered):
                pdq = min(hamming(q, candidate.fingerprint.pdq) for q in query.queries.pdq)
                phash = min(hamming(q, candidate.fingerprint.phash) for q in query.queries.phash)
                quality = min(query.fingerprint.pdq_quality, candidate.fingerprint.pdq_quality)
                scored.append(Pair(edit_name, other == index, pdq, phash, quality))
            # The product runs the local-feature check on the few nearest by PDQ only.
            nearest = sorted(range(len(scored)), key=lambda i: scored[i].pdq)
            mirror = query.image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            query_features = [local_features_of(query.image), local_features_of(mirror)]
            for other in nearest[: args.orb_candidates]:
                scored[other].inliers = max(
                    geometric_inliers(f, features[other]) for f in query_features
                )
            pairs.extend(scored)

    copies = [p for p in pairs if p.copy]
    print(f"{len(copies)} copy pairs, {len(pairs) - len(copies)} non-copy pairs\n")

    def sweep(name: str, value: Callable[[Pair], int | None], thresholds: list[int]) -> None:
        print(f"{name}: threshold, precision, recall on target edits (and on all edits)")
        for threshold in thresholds:
            hits = [p for p in pairs if (v := value(p)) is not None and v <= threshold]
            true = sum(p.copy for p in hits)
            precision = true / len(hits) if hits else 1.0
            target = [p for p in copies if p.edit in TARGET_EDITS]
            recall_target = sum(1 for p in target if p in hits) / len(target)
            recall_all = true / len(copies)
            print(f"  {threshold:>4}  {precision:.3f}  {recall_target:.3f}  ({recall_all:.3f})")

    sweep("PDQ bits (quality-gated)", lambda p: p.pdq if p.quality >= limits.min_pdq_quality else None,
          [16, 24, 31, 40, 48, 56, 64])
    sweep("pHash bits (quality-gated)",
          lambda p: p.phash if p.quality >= limits.min_pdq_quality else None, [4, 6, 8, 10, 12, 16])
    sweep("ORB inliers (negated: more is closer)",
          lambda p: -p.inliers if p.inliers is not None else None, [-60, -40, -30, -20, -15, -10])

    def decided(p: Pair) -> bool:
        trustworthy = p.quality >= limits.min_pdq_quality
        if trustworthy and p.pdq <= limits.pdq_max_distance:
            return True
        if trustworthy and p.phash <= limits.phash_max_distance:
            return True
        return (
            p.inliers is not None
            and p.pdq <= limits.orb_max_pdq_distance
            and p.inliers >= limits.orb_min_inliers
        )

    print(f"\nThe product's decision with {limits}:")
    flagged = [p for p in pairs if decided(p)]
    precision = sum(p.copy for p in flagged) / len(flagged) if flagged else 1.0
    by_edit: dict[str, list[bool]] = defaultdict(list)
    for p in copies:
        by_edit[p.edit].append(decided(p))
    print(f"  {'edit':<14} recall")
    for edit_name in EDITS:
        hits = by_edit[edit_name]
        mark = "  (target)" if edit_name in TARGET_EDITS else ""
        print(f"  {edit_name:<14} {sum(hits) / len(hits):.3f}{mark}")
    target_hits = [d for e, hs in by_edit.items() if e in TARGET_EDITS for d in hs]
    print(f"  recall on target edits: {sum(target_hits) / len(target_hits):.3f}")
    print(f"  precision over all {len(pairs)} pairs: {precision:.4f}")
    print(f"  false copies: {sum(not p.copy for p in flagged)}")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
