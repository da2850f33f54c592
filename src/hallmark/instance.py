"""The long-lived parts of one running studio, shared by every request, command and job."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hallmark.config import Settings
from hallmark.db import make_engine, make_session_factory, migrate, write_transaction
from hallmark.jobs.queue import JobQueues
from hallmark.licensing.certificates import CertificateSigner
from hallmark.licensing.payments import PaymentProvider, payment_provider_from
from hallmark.provenance.authority import SigningIdentity, configured_authority, own_authority
from hallmark.similarity.service import CopyGuard
from hallmark.storage import BlobStore, make_blob_store


class NotOpened(RuntimeError):
    """The instance was built without its database; open it with `Instance.open`."""


@dataclass
class Instance:
    """Settings, the database, the blob store and the fingerprint index of one instance."""

    settings: Settings
    blobs: BlobStore
    copy_guard: CopyGuard
    database: Engine | None = field(default=None, repr=False)
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Instance:
        """The instance's files and keys alone, with no database (checking a certificate...)."""
        blobs = make_blob_store(settings)
        return cls(settings, blobs, CopyGuard(settings.data_dir / "similarity", blobs))

    @classmethod
    @contextmanager
    def open(
        cls, settings: Settings, *, migrate_schema: bool = True, pool_size: int | None = None
    ) -> Iterator[Instance]:
        """The one way to open an instance: data directory, database (migrated), fingerprint
        index in step with it; on leaving, the index is saved and the connections closed."""
        settings.ensure_data_dir()
        database = make_engine(settings.resolved_database_url, pool_size=pool_size)
        try:
            if migrate_schema:
                migrate(database)
            instance = cls.from_settings(settings)
            instance.database = database
            instance._sessions = make_session_factory(database)
            with write_transaction(instance.sessions) as session:
                instance.prepare(session)
            try:
                yield instance
            finally:
                instance.close()
        finally:
            database.dispose()

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Where this instance's sessions come from."""
        if self._sessions is None:
            raise NotOpened("This instance has no database; open it with Instance.open(settings).")
        return self._sessions

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
