"""The facts the rules decide on: plain values a service builds from its records, without I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from hallmark.rights.decisions import Rule


class Visibility(StrEnum):
    """Who may see and use a style model (R5): private to its owner until published."""

    PRIVATE = "private"
    PUBLIC = "public"


class Purpose(StrEnum):
    """The uses a license can grant (R8)."""

    PERSONAL = "personal"
    COMMERCIAL = "commercial"
    EDITORIAL = "editorial"
    MERCHANDISE = "merchandise"
    DERIVATIVE = "derivative"
    AI_TRAINING = "ai_training"


class SaleChannel(StrEnum):
    """Who sells a license: the owner directly (R6) or the platform on their behalf (R7)."""

    OWNER = "owner"
    PLATFORM = "platform"


@dataclass(frozen=True)
class ArtworkFacts:
    """An uploaded work as the rules see it."""

    id: uuid.UUID
    owner_id: uuid.UUID
    training_opt_out: bool = False


@dataclass(frozen=True)
class RegisteredWork:
    """A registered work (artwork or generation) that a new upload matches, exactly or nearly."""

    work_id: uuid.UUID
    owner_id: uuid.UUID


@dataclass(frozen=True)
class ModelFacts:
    """A style model as the rules see it."""

    id: uuid.UUID
    owner_id: uuid.UUID
    visibility: Visibility = Visibility.PRIVATE


@dataclass(frozen=True)
class GenerationFacts:
    """A generated image: its recorded owner, who made it, and its near-copy state (R11)."""

    id: uuid.UUID
    model_id: uuid.UUID
    owner_id: uuid.UUID
    maker_id: uuid.UUID
    near_copy: bool = False
    near_copy_cleared: bool = False


@dataclass(frozen=True)
class UsageGrant:
    """A license as the rules see it: who may do what with which work, until when, and whether
    its holder alone may (R8)."""

    licensor_id: uuid.UUID
    licensee_id: uuid.UUID
    subject_id: uuid.UUID
    purposes: frozenset[Purpose] = field(default_factory=frozenset)
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    revoked: bool = False
    exclusive: bool = False
    territory: str = "worldwide"  # see rights.territories
    max_copies: int | None = None  # copies or audience; None: no cap
    attribution_required: bool = False

    def in_force(self, at: datetime) -> bool:
        """Whether the grant is valid at the given moment."""
        if self.revoked:
            return False
        if self.starts_at is not None and at < self.starts_at:
            return False
        return self.expires_at is None or at < self.expires_at


@dataclass(frozen=True)
class IntendedUse:
    """What someone means to do with an image, as far as they said: the facts a license's terms
    decide on (R8). None means "not said"; the answer then states the term as a condition."""

    purpose: Purpose
    territory: str | None = None  # the ISO 3166-1 alpha-2 code of the country of use
    copies: int | None = None  # copies made or audience reached
    credit_given: bool | None = None  # whether the owner is credited as the license requires
    on: date | None = None  # the day of use; None: the moment asked about
    keeps_disclosure: bool | None = None  # whether a derivative keeps the AI disclosure (R9)


@dataclass(frozen=True)
class OfferFacts:
    """An owner's standing license offer as the rules see it: who sells it, whether it sells an
    exclusive license, and whether it was withdrawn (R6/R7/R8)."""

    channel: SaleChannel
    exclusive: bool = False
    withdrawn: bool = False


@dataclass(frozen=True)
class ProceedsSplit:
    """How one sale's price divides between the owner and the platform, in minor units."""

    price_minor: int
    owner_minor: int
    platform_minor: int
    rule: Rule
