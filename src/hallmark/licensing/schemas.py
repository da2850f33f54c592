"""Request and response shapes of the licensing API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hallmark.licensing.repository import EarningsRow
from hallmark.licensing.service import ApplicableOffer
from hallmark.schemas import MAX_DB_INT


class OfferCreate(BaseModel):
    """Offer licenses on one of your images, or on every image of one of your models."""

    template: str = Field(max_length=32, examples=["standard", "extended", "cc-by"])
    price_minor: int = Field(
        ge=0, le=MAX_DB_INT, description="Price in minor units (cents): 1500 is 15.00"
    )
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    exclusive: bool = False
    style_id: uuid.UUID | None = None
    generation_id: uuid.UUID | None = None
    overrides: dict[str, Any] | None = Field(
        default=None, description="Terms that differ from the template, e.g. {'max_copies': 1000}"
    )


class OfferPublic(BaseModel):
    """An offer as its owner and buyers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    style_id: uuid.UUID | None
    generation_id: uuid.UUID | None
    template: str
    terms: dict[str, Any]
    price_minor: int
    currency: str
    exclusive: bool
    created_at: datetime
    withdrawn_at: datetime | None


class OpenOffer(BaseModel):
    """An offer a buyer can take for one image, and who sells it."""

    offer: OfferPublic
    sold_by: str

    @classmethod
    def from_applicable(cls, found: ApplicableOffer) -> OpenOffer:
        """Build the response from the service's value."""
        return cls(offer=OfferPublic.model_validate(found.offer), sold_by=found.channel.value)


class PurchaseCreate(BaseModel):
    """License an image under one of its open offers."""

    offer_id: uuid.UUID


class LicensePublic(BaseModel):
    """A license as its two parties see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    offer_id: uuid.UUID
    generation_id: uuid.UUID
    licensor_id: uuid.UUID
    licensee_id: uuid.UUID
    channel: str
    terms: dict[str, Any]
    price_minor: int
    owner_share_minor: int
    platform_share_minor: int
    currency: str
    exclusive: bool
    created_at: datetime
    expires_at: datetime | None


class EarningsRowPublic(BaseModel):
    """One model's sales in one month."""

    style_id: uuid.UUID
    style_name: str
    month: str
    currency: str
    sales: int
    gross_minor: int
    earned_minor: int

    @classmethod
    def from_row(cls, row: EarningsRow) -> EarningsRowPublic:
        """Build the response from the service's value."""
        return cls(**row._asdict())


class BalancePublic(BaseModel):
    """What the platform owes an owner in one currency, and what it has paid."""

    currency: str
    due_minor: int
    paid_minor: int


class EarningsPublic(BaseModel):
    """An owner's sales by model and month, and their balances."""

    rows: list[EarningsRowPublic]
    balances: list[BalancePublic]


class CertificateCheckPublic(BaseModel):
    """The verdict on a license certificate."""

    valid: bool
    trusted: bool
    reason: str
    certificate: dict[str, Any] | None
