"""Every slice's tables, imported once so that the metadata is complete (for Alembic and tests)."""

from hallmark.accounts.models import ApiToken, User
from hallmark.artworks.models import Artwork
from hallmark.db import Base
from hallmark.gallery.models import GalleryListing, StylePreview
from hallmark.generations.models import Generation
from hallmark.jobs.models import Job
from hallmark.ledger.models import LedgerEntry
from hallmark.licensing.models import License, LicenseOffer
from hallmark.similarity.models import CopyClaim, ImageFingerprint
from hallmark.styles.models import OwnershipAcknowledgement, StyleModel, StyleTrainingWork

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "Artwork",
    "CopyClaim",
    "GalleryListing",
    "Generation",
    "ImageFingerprint",
    "Job",
    "LedgerEntry",
    "License",
    "LicenseOffer",
    "OwnershipAcknowledgement",
    "StyleModel",
    "StylePreview",
    "StyleTrainingWork",
    "User",
    "metadata",
]
