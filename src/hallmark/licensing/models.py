"""Tables of the licensing slice: offers owners make, and licenses buyers hold."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hallmark.db import Base, CreatedAtMixin, IdMixin


class LicenseOffer(IdMixin, CreatedAtMixin, Base):
    """An owner's standing offer: these terms at this price, for one image or a model's images.

    A model-wide offer is sold by the platform on the owner's behalf (R7, public models only); an
    offer on one image is the owner's own sale (R6).
    """

    __tablename__ = "license_offers"
    __table_args__ = (
        CheckConstraint("(style_id IS NULL) <> (generation_id IS NULL)", name="one_subject"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    style_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("style_models.id"), index=True)
    generation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generations.id"), index=True
    )
    template: Mapped[str] = mapped_column(String(32))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    exclusive: Mapped[bool] = mapped_column(default=False)
    withdrawn_at: Mapped[datetime | None]


class License(IdMixin, CreatedAtMixin, Base):
    """A license a buyer holds on one image: the terms as sold, the price paid, the proof."""

    __tablename__ = "licenses"
    __table_args__ = (
        # A retried purchase finds the first one instead of charging again.
        UniqueConstraint("licensee_id", "idempotency_key", name="uq_licenses_idempotency"),
    )

    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("license_offers.id"), index=True)
    generation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generations.id"), index=True)
    licensor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    licensee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    owner_share_minor: Mapped[int] = mapped_column(BigInteger)
    platform_share_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    exclusive: Mapped[bool] = mapped_column(default=False)
    # Set to the image's id only for an exclusive license: the unique constraint lets one exist.
    exclusive_generation_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    payment_reference: Mapped[str | None] = mapped_column(String(128))
    ledger_transaction_id: Mapped[uuid.UUID | None]
    starts_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
