"""The long-lived parts of one running studio, shared by every request, command and job."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hallmark.config import Settings
from hallmark.jobs.queue import JobQueues
from hallmark.licensing.certificates import CertificateSigner
from hallmark.licensing.payments import PaymentProvider, payment_provider_from
from hallmark.provenance.authority import SigningIdentity, configured_authority, own_authority
from hallmark.similarity.service import CopyGuard
from hallmark.storage import BlobStore, make_blob_store


@dataclass
class Instance:
    """Settings, the blob store and the fingerprint index of one instance."""

    settings: Settings
    blobs: BlobStore
    copy_guard: CopyGuard

    @classmethod
    def from_settings(cls, settings: Settings) -> Instance:
        """The instance whose files live in the settings' data directory."""
        blobs = make_blob_store(settings)
        return cls(settings, blobs, CopyGuard(settings.data_dir / "similarity", blobs))

    @functools.cached_property
    def payments(self) -> PaymentProvider:
        """How buyers pay for licenses, as the settings choose."""
        return payment_provider_from(self.settings)

    @functools.cached_property
    def certificate_signer(self) -> CertificateSigner:
        """The key that signs license certificates, created in the data directory on first use."""
        return CertificateSigner.from_key_dir(self.settings.key_dir)

    @functools.cached_property
    def queues(self) -> JobQueues:
        """The training and generation queues this instance submits jobs to."""
        return JobQueues(self.settings)

    @functools.cached_property
    def signing_identity(self) -> SigningIdentity:
        """Who signs content credentials: the operator's certificate, or the instance's own CA."""
        settings = self.settings
        if settings.c2pa_cert_chain and settings.c2pa_private_key:
            return configured_authority(
                settings.c2pa_cert_chain, settings.c2pa_private_key, settings.c2pa_trust_anchors
            )
        return own_authority(settings.key_dir, settings.organisation)

    def prepare(self, session: Session) -> None:
        """Bring derived state (the fingerprint index) in step with the database."""
        self.copy_guard.prepare(session)

    def close(self) -> None:
        """Save what is kept in memory."""
        self.copy_guard.save()
