"""All SQL of the usage register: one query per page over generations, makers and licenses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from hallmark.accounts.models import User
from hallmark.gallery.models import GalleryListing
from hallmark.generations.models import Generation
from hallmark.licensing.models import License
from hallmark.repository import Repository


@dataclass(frozen=True)
class LicenseUse:
    """One license granted on an image: to whom, for what, on what terms, and its state."""

    license_id: uuid.UUID
    licensee_username: str
    purposes: list[str]
    terms_name: str
    channel: str
    price_minor: int
    currency: str
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class UsageEntry:
    """One image made with a model: who made it, when, from what prompt, and its licenses."""

    generation_id: uuid.UUID
    created_at: datetime
    maker_username: str
    prompt: str
    seed: int
    listed: bool
    licenses: list[LicenseUse] = field(default_factory=list)


class UsageRepository(Repository[Generation]):
    """Reads a model's images with their makers and licenses."""

    model = Generation
    not_found = "No such image."

    def entries_for_style(
        self, style_id: uuid.UUID, *, limit: int, offset: int
    ) -> list[UsageEntry]:
        """A page of a model's images, newest first, each with every license granted on it.

        One statement: the page of images is chosen first, then joined with its makers and
        licenses, so a page of n images costs one round trip whatever n is.
        """
        page = (
            select(Generation.id)
            .where(Generation.style_id == style_id)
            .order_by(Generation.created_at.desc(), Generation.id)
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        maker = aliased(User)
        licensee = aliased(User)
        listed = exists().where(GalleryListing.generation_id == Generation.id)
        query = (
            select(
                Generation.id,
                Generation.created_at,
                maker.username,
                Generation.prompt,
                Generation.seed,
                listed,
                License,
                licensee.username,
            )
            .join(page, page.c.id == Generation.id)
            .join(maker, maker.id == Generation.maker_id)
            .outerjoin(License, License.generation_id == Generation.id)
            .outerjoin(licensee, licensee.id == License.licensee_id)
            .order_by(Generation.created_at.desc(), Generation.id, License.created_at, License.id)
        )
        entries: dict[uuid.UUID, UsageEntry] = {}
        for row in self.session.execute(query):
            generation_id, created_at, maker_name, prompt, seed, is_listed, license_, buyer = row
            entry = entries.get(generation_id)
            if entry is None:
                entry = entries[generation_id] = UsageEntry(
                    generation_id, created_at, maker_name, prompt, seed, bool(is_listed)
                )
            if license_ is not None:
                entry.licenses.append(
                    LicenseUse(
                        license_id=license_.id,
                        licensee_username=buyer,
                        purposes=list(license_.terms.get("purposes", [])),
                        terms_name=str(license_.terms.get("name", "")),
                        channel=license_.channel,
                        price_minor=license_.price_minor,
                        currency=license_.currency,
                        granted_at=license_.created_at,
                        expires_at=license_.expires_at,
                        revoked_at=license_.revoked_at,
                    )
                )
        return list(entries.values())

    def count_for_style(self, style_id: uuid.UUID) -> int:
        """How many images were made with a model."""
        return self._count(Generation.style_id == style_id)
