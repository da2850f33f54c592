"""Perceptual fingerprints: PDQ and pHash for whole-image matches, ORB for partial copies."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
import pdqhash
from numpy.typing import NDArray
from PIL import Image, ImageOps

PDQ_BITS = 256
PHASH_BITS = 64
# Hashing and feature detection see at most this many pixels per side: enough detail for both,
# and a fixed cost whatever the upload's resolution.
WORKING_SIDE = 512
ORB_FEATURES = 1000
ORB_RATIO = 0.75
RANSAC_REPROJECTION_PX = 5.0
MIN_MATCHES_FOR_TRANSFORM = 8
# The aligned comparison looks at coarse structure, not texture, and needs a real overlap.
CORRELATION_SIDE = 64
MIN_OVERLAP = 0.25
# A caption, banner or watermark over a copy hides part of it: the unoccluded correlation is
# measured on the share of the overlap where the two images agree best.
UNOCCLUDED_SHARE = 0.75
UNOCCLUDED_ROUNDS = 3


@dataclass(frozen=True)
class Fingerprint:
    """The stored hashes of one image: PDQ (256 bits) with its quality, and pHash (64 bits)."""

    pdq: bytes
    pdq_quality: int
    phash: bytes


@dataclass(frozen=True)
class QueryHashes:
    """The hashes of an image under its eight rotations and mirrors, to find turned copies."""

    pdq: list[bytes]
    phash: list[bytes]


@dataclass(frozen=True)
class LocalFeatures:
    """ORB keypoints (x, y) strongest first, their descriptors, and the grey image they are of."""

    points: NDArray[np.float32]
    descriptors: NDArray[np.uint8]
    grey: NDArray[np.uint8]


@dataclass(frozen=True)
class AlignedMatch:
    """Features that agree on one placement of a candidate, and how alike the aligned pixels are."""

    inliers: int
    correlation: float
    unoccluded_correlation: float = 0.0


def load_working_image(data: bytes) -> Image.Image:
    """The image as RGB, upright per its EXIF, reduced to the working size."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
    return image


def _pack(bits: NDArray[np.generic]) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1)).tobytes()


def _phash(image: Image.Image) -> bytes:
    return _pack(imagehash.phash(image).hash)


def fingerprint_of(image: Image.Image) -> Fingerprint:
    """PDQ and pHash of an image, as stored for every artwork and generation."""
    bits, quality = pdqhash.compute(np.asarray(image))
    return Fingerprint(pdq=_pack(bits), pdq_quality=int(quality), phash=_phash(image))


_DIHEDRAL = [
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
]


def query_hashes_of(image: Image.Image) -> QueryHashes:
    """PDQ and pHash of all eight rotations and mirrors (PDQ's dihedral variants)."""
    pdq_variants, _qualities = pdqhash.compute_dihedral(np.asarray(image))
    phashes = [_phash(image if turn is None else image.transpose(turn)) for turn in _DIHEDRAL]
    return QueryHashes(pdq=[_pack(bits) for bits in pdq_variants], phash=phashes)


def hamming(a: bytes, b: bytes) -> int:
    """Bits that differ between two equal-length hashes."""
    return int(np.unpackbits(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).sum())


def local_features_of(image: Image.Image) -> LocalFeatures:
    """ORB keypoints and descriptors of the image's grey levels, and the grey image itself."""
    grey = np.asarray(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    # Small patches and a low corner threshold find features in the flat, painterly areas and
    # near the borders that the defaults skip: crops keep enough of them to be matched.
    detector = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=ORB_FEATURES, fastThreshold=8, edgeThreshold=15, patchSize=15
    )
    keypoints, descriptors = detector.detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), grey)
    strongest_first = np.argsort([-kp.response for kp in keypoints], kind="stable")
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32)[strongest_first]
    return LocalFeatures(points, np.asarray(descriptors, dtype=np.uint8)[strongest_first], grey)


def aligned_match(query: LocalFeatures, candidate: LocalFeatures) -> AlignedMatch:
    """How well the candidate, moved onto the query by its matched features, looks like it.

    Ratio-tested ORB matches fix one rotation, scale and shift (RANSAC); the candidate is warped
    into the query's frame and the two are compared pixel by pixel where they overlap. A crop or
    turned copy of one image lines up almost perfectly; two works that merely share motifs or
    texture match a few features but not the picture.
    """
    if len(query.descriptors) < 2 or len(candidate.descriptors) < 2:
        return AlignedMatch(0, 0.0)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(query.descriptors, candidate.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ORB_RATIO * p[1].distance]
    if len(good) < MIN_MATCHES_FOR_TRANSFORM:
        return AlignedMatch(0, 0.0)
    source = query.points[[m.queryIdx for m in good]]
    target = candidate.points[[m.trainIdx for m in good]]
    transform, mask = cv2.estimateAffinePartial2D(
        source,
        target,
        method=cv2.RANSAC,
        ransacReprojThreshold=RANSAC_REPROJECTION_PX,
        maxIters=2000,
        confidence=0.995,
    )
    if transform is None or mask is None:
        return AlignedMatch(0, 0.0)
    inliers = int(mask.sum())
    placement = np.asarray(transform, dtype=np.float64)
    overlap = _aligned_overlap(query.grey, candidate.grey, placement)
    if overlap is None:
        return AlignedMatch(inliers, 0.0, 0.0)
    return AlignedMatch(inliers, _correlation(*overlap), _unoccluded_correlation(*overlap))


def _aligned_overlap(
    query: NDArray[np.uint8], candidate: NDArray[np.uint8], transform: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Coarse grey levels of the query and the warped candidate where both exist, if enough do."""
    height, width = query.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(candidate, transform, (width, height), flags=flags)
    valid = cv2.warpAffine(
        np.full(candidate.shape, 255, np.uint8), transform, (width, height), flags=flags
    )
    side = (CORRELATION_SIDE, CORRELATION_SIDE)
    small_query = cv2.resize(query, side, interpolation=cv2.INTER_AREA).astype(np.float64)
    small_warped = cv2.resize(warped, side, interpolation=cv2.INTER_AREA).astype(np.float64)
    inside = cv2.resize(valid, side, interpolation=cv2.INTER_AREA) >= 250
    if inside.mean() < MIN_OVERLAP:
        return None
    return small_query[inside], small_warped[inside]


def _correlation(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Zero-mean normalised correlation of two equally long pixel vectors."""
    a = a - a.mean()
    b = b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 0 else 0.0


def _unoccluded_correlation(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Correlation on the pixels that agree best, re-chosen a few times as the fit settles."""
    keep = np.ones(len(a), dtype=bool)
    for _ in range(UNOCCLUDED_ROUNDS):
        za = (a - a[keep].mean()) / (a[keep].std() + 1e-9)
        zb = (b - b[keep].mean()) / (b[keep].std() + 1e-9)
        residual = np.abs(za - zb)
        keep = residual <= np.quantile(residual, UNOCCLUDED_SHARE)
    return _correlation(a[keep], b[keep])
