"""Request and response shapes of the licensing API."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hallmark.ledger.service import Payout
from hallmark.licensing.repository import EarningsRow, SaleRow
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
    """One model's sales in one month: gross, the platform's share, and net to the owner."""

    style_id: uuid.UUID
    style_name: str
    month: str
    currency: str
    sales: int
    gross_minor: int = Field(description="What buyers paid, in minor units")
    platform_share_minor: int = Field(
        description="The platform's fee on the licenses it sold (R7); none on the owner's (R6)"
    )
    net_minor: int = Field(description="What the owner earned: gross less the platform's share")

    @classmethod
    def from_row(cls, row: EarningsRow) -> EarningsRowPublic:
        """Build the response from the service's value."""
        return cls(**row._asdict())


class SalePublic(BaseModel):
    """One license sold on the owner's image, and how its price was split."""

    sold_at: datetime
    style_id: uuid.UUID
    style_name: str
    generation_id: uuid.UUID
    license_id: uuid.UUID
    buyer_username: str
    seller: str = Field(description="'owner' (R6) or 'platform' on the owner's behalf (R7)")
    gross_minor: int
    platform_share_minor: int
    net_minor: int
    currency: str

    @classmethod
    def from_row(cls, row: SaleRow) -> SalePublic:
        """Build the response from the service's value."""
        return cls(**row._asdict())


class PayoutPublic(BaseModel):
    """One transfer of earnings to the owner."""

    paid_at: datetime
    amount_minor: int
    currency: str
    reference: str

    @classmethod
    def from_payout(cls, payout: Payout) -> PayoutPublic:
        """Build the response from the ledger's value."""
        return cls(**asdict(payout))


class BalancePublic(BaseModel):
    """What the platform owes an owner in one currency, and what it has paid."""

    currency: str
    due_minor: int
    paid_minor: int


class EarningsPublic(BaseModel):
    """An owner's sales by model and month, a page of the sales one by one, the payouts made,
    and their balances."""

    rows: list[EarningsRowPublic]
    sales: list[SalePublic] = Field(description="Oldest first, one page (limit, offset)")
    sales_total: int
    payouts: list[PayoutPublic] = Field(description="Newest first, at most 100")
    balances: list[BalancePublic]


class CertificateCheckPublic(BaseModel):
    """The verdict on a license certificate."""

    valid: bool
    trusted: bool
    reason: str
    certificate: dict[str, Any] | None
