"""All SQL of the licensing slice."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select

from hallmark.accounts.models import User
from hallmark.generations.models import Generation
from hallmark.licensing.models import License, LicenseOffer
from hallmark.repository import Repository
from hallmark.styles.models import StyleModel


class EarningsRow(NamedTuple):
    """One model's sales in one calendar month (UTC) and currency, totalled by the database:
    what buyers paid, the platform's share of it, and the rest, owed to the owner."""

    style_id: uuid.UUID
    style_name: str
    month: str
    currency: str
    sales: int
    gross_minor: int
    platform_share_minor: int
    net_minor: int


class SaleRow(NamedTuple):
    """One license sold on an owner's image: when, what, to whom, by whom, and the split."""

    sold_at: datetime
    style_id: uuid.UUID
    style_name: str
    generation_id: uuid.UUID
    license_id: uuid.UUID
    buyer_username: str
    seller: str
    gross_minor: int
    platform_share_minor: int
    net_minor: int
    currency: str


@dataclass(frozen=True)
class SalesPeriod:
    """Sales from `starts` (included) to `ends` (excluded); None leaves that side open."""

    starts: datetime | None = None
    ends: datetime | None = None

    def criteria(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions that keep a license's sale inside the period."""
        found: list[ColumnElement[bool]] = []
        if self.starts is not None:
            found.append(License.created_at >= self.starts)
        if self.ends is not None:
            found.append(License.created_at < self.ends)
        return found


class LicensingRepository(Repository[License]):
    """Licenses (the main table) and the offers they are bought from."""

    model = License
    not_found = "No such license."

    def get_offer(self, offer_id: uuid.UUID) -> LicenseOffer | None:
        """An offer by id, withdrawn or not."""
        return self.session.get(LicenseOffer, offer_id)

    def active_offers_for(
        self, generation_id: uuid.UUID, style_id: uuid.UUID
    ) -> list[LicenseOffer]:
        """Offers not withdrawn that apply to an image: its own and its model's, oldest first."""
        query = (
            select(LicenseOffer)
            .where(
                LicenseOffer.withdrawn_at.is_(None),
                or_(
                    LicenseOffer.generation_id == generation_id,
                    LicenseOffer.style_id == style_id,
                ),
            )
            .order_by(LicenseOffer.created_at, LicenseOffer.id)
        )
        return list(self.session.scalars(query))

    def open_offers_on_model(self, style_id: uuid.UUID) -> list[LicenseOffer]:
        """Offers not withdrawn on every image of one model, oldest first."""
        query = select(LicenseOffer).where(
            LicenseOffer.style_id == style_id, LicenseOffer.withdrawn_at.is_(None)
        )
        return list(self.session.scalars(query.order_by(LicenseOffer.created_at, LicenseOffer.id)))

    def open_offers_on_models(
        self, style_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[LicenseOffer]]:
        """Offers not withdrawn on every image of each model, oldest first, in one query."""
        found: dict[uuid.UUID, list[LicenseOffer]] = {style_id: [] for style_id in style_ids}
        if not style_ids:
            return found
        query = select(LicenseOffer).where(
            LicenseOffer.style_id.in_(style_ids), LicenseOffer.withdrawn_at.is_(None)
        )
        for offer in self.session.scalars(query.order_by(LicenseOffer.created_at, LicenseOffer.id)):
            assert offer.style_id is not None
            found[offer.style_id].append(offer)
        return found

    def offers_of_owner(self, owner_id: uuid.UUID) -> list[LicenseOffer]:
        """Every offer an owner made, newest first."""
        query = select(LicenseOffer).where(LicenseOffer.owner_id == owner_id)
        return list(self.session.scalars(query.order_by(LicenseOffer.created_at.desc())))

    def find_by_idempotency_key(self, licensee_id: uuid.UUID, key: str) -> License | None:
        """The license a buyer already bought under this idempotency key, if any."""
        query = select(License).where(
            License.licensee_id == licensee_id, License.idempotency_key == key
        )
        return self.session.scalars(query).one_or_none()

    def licenses_for_image(self, generation_id: uuid.UUID) -> list[License]:
        """Every license ever granted on an image, oldest first."""
        query = select(License).where(License.generation_id == generation_id)
        return list(self.session.scalars(query.order_by(License.created_at, License.id)))

    def licenses_held_on(self, licensee_id: uuid.UUID, generation_id: uuid.UUID) -> list[License]:
        """The licenses one buyer holds on one image, oldest first."""
        query = select(License).where(
            License.licensee_id == licensee_id, License.generation_id == generation_id
        )
        return list(self.session.scalars(query.order_by(License.created_at, License.id)))

    def licenses_of_licensee(self, licensee_id: uuid.UUID) -> list[License]:
        """A buyer's licenses, newest first."""
        query = select(License).where(License.licensee_id == licensee_id)
        return list(self.session.scalars(query.order_by(License.created_at.desc(), License.id)))

    def _month_of_sale(self) -> ColumnElement[str]:
        """A license's calendar month in UTC, as 'YYYY-MM', in the database's own dialect."""
        if self.session.get_bind().dialect.name == "sqlite":
            # SQLite holds the UTC time as text without its zone.
            return func.strftime("%Y-%m", License.created_at)
        return func.to_char(func.timezone("UTC", License.created_at), "YYYY-MM")

    def sales_by_model_and_month(
        self, licensor_id: uuid.UUID, period: SalesPeriod
    ) -> list[EarningsRow]:
        """An owner's sales totalled per model, month and currency: newest month first, then by
        model name from Z to A, then in the order of each group's first sale."""
        month = self._month_of_sale()
        query = (
            select(
                Generation.style_id,
                StyleModel.name,
                month,
                License.currency,
                func.count(License.id),
                func.sum(License.price_minor),
                func.sum(License.platform_share_minor),
                func.sum(License.owner_share_minor),
            )
            .join(Generation, Generation.id == License.generation_id)
            .join(StyleModel, StyleModel.id == Generation.style_id)
            .where(License.licensor_id == licensor_id, *period.criteria())
            .group_by(Generation.style_id, StyleModel.name, month, License.currency)
            .order_by(month.desc(), StyleModel.name.desc(), func.min(License.created_at))
        )
        return [
            EarningsRow(
                style_id, name, str(when), currency, int(sales), int(gross), int(fee), int(net)
            )
            for style_id, name, when, currency, sales, gross, fee, net in self.session.execute(
                query
            )
        ]

    def sales_of(
        self, licensor_id: uuid.UUID, period: SalesPeriod, *, limit: int, offset: int
    ) -> list[SaleRow]:
        """An owner's sales one by one with their image, model and buyer, oldest first."""
        query = (
            select(
                License.created_at,
                Generation.style_id,
                StyleModel.name,
                License.generation_id,
                License.id,
                User.username,
                License.channel,
                License.price_minor,
                License.platform_share_minor,
                License.owner_share_minor,
                License.currency,
            )
            .join(Generation, Generation.id == License.generation_id)
            .join(StyleModel, StyleModel.id == Generation.style_id)
            .join(User, User.id == License.licensee_id)
            .where(License.licensor_id == licensor_id, *period.criteria())
            .order_by(License.created_at, License.id)
            .limit(limit)
            .offset(offset)
        )
        return [SaleRow(*row) for row in self.session.execute(query)]

    def count_sales_of(self, licensor_id: uuid.UUID, period: SalesPeriod) -> int:
        """How many licenses an owner sold in the period."""
        return self._count(License.licensor_id == licensor_id, *period.criteria())

    def all_licenses(self) -> list[License]:
        """Every license, for reconciliation."""
        return list(self.session.scalars(select(License).order_by(License.created_at)))
