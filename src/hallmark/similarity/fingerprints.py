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
ORB_FEATURES = 500
ORB_RATIO = 0.75
RANSAC_REPROJECTION_PX = 5.0
MIN_MATCHES_FOR_HOMOGRAPHY = 8


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
    """ORB keypoints (x, y) and their binary descriptors, for matching crops and partial copies."""

    points: NDArray[np.float32]
    descriptors: NDArray[np.uint8]


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
    """ORB keypoints and descriptors of the image's grey levels."""
    grey = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY)
    detector = cv2.ORB_create(nfeatures=ORB_FEATURES)  # type: ignore[attr-defined]
    keypoints, descriptors = detector.detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32)
    return LocalFeatures(points, np.asarray(descriptors, dtype=np.uint8))


def geometric_inliers(query: LocalFeatures, candidate: LocalFeatures) -> int:
    """Matches that agree on one homography (RANSAC): high for crops and edits of one image."""
    if len(query.descriptors) < 2 or len(candidate.descriptors) < 2:
        return 0
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(query.descriptors, candidate.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ORB_RATIO * p[1].distance]
    if len(good) < MIN_MATCHES_FOR_HOMOGRAPHY:
        return 0
    source = query.points[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    target = candidate.points[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    _homography, mask = cv2.findHomography(source, target, cv2.RANSAC, RANSAC_REPROJECTION_PX)
    return int(mask.sum()) if mask is not None else 0
