"""All SQL of the licensing slice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select

from hallmark.licensing.models import License, LicenseOffer
from hallmark.repository import Repository


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

    def licenses_of_licensee(self, licensee_id: uuid.UUID) -> list[License]:
        """A buyer's licenses, newest first."""
        query = select(License).where(License.licensee_id == licensee_id)
        return list(self.session.scalars(query.order_by(License.created_at.desc(), License.id)))

    def licenses_of_licensor(
        self, licensor_id: uuid.UUID, since: datetime | None = None
    ) -> list[License]:
        """An owner's sales, oldest first."""
        query = select(License).where(License.licensor_id == licensor_id)
        if since is not None:
            query = query.where(License.created_at >= since)
        return list(self.session.scalars(query.order_by(License.created_at, License.id)))

    def all_licenses(self) -> list[License]:
        """Every license, for reconciliation."""
        return list(self.session.scalars(select(License).order_by(License.created_at)))
