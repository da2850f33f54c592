"""The ownership notice a maker reads before using someone else's model (R4), worded once here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from hallmark.rights.decisions import Decision, Rule, allow, refuse
from hallmark.rights.facts import ModelFacts, Purpose


@dataclass(frozen=True)
class LicenseOption:
    """A license the owner offers on every image of a model, as the notice names it."""

    name: str
    purposes: frozenset[Purpose]
    price_minor: int
    currency: str
    exclusive: bool = False

    def in_words(self) -> str:
        """The option in one phrase: "Standard (commercial, personal) at 15.00 EUR an image"."""
        uses = ", ".join(sorted(purpose.value for purpose in self.purposes)) or "no uses"
        price = "free"
        if self.price_minor:
            price = f"at {_amount(self.price_minor)} {self.currency} an image"
        exclusive = ", exclusive" if self.exclusive else ""
        return f"{self.name} ({uses}{exclusive}) {price}"


def _amount(minor: int) -> str:
    """Minor units as major ones with two decimals, without floating point: 1505 -> "15.05"."""
    major, cents = divmod(minor, 100)
    return f"{major}.{cents:02d}"


@dataclass(frozen=True)
class OwnershipNotice:
    """What someone other than a model's owner is told before making images with it (R4)."""

    rule: Rule
    owner_id: uuid.UUID
    owner_username: str
    statement: str
    license_needed: str
    offers: tuple[LicenseOption, ...]

    @property
    def text(self) -> str:
        """The whole notice as one paragraph, as pages and the command line print it."""
        return f"{self.statement} {self.license_needed}"


def ownership_notice(
    user_id: uuid.UUID | None,
    model: ModelFacts,
    owner_username: str,
    offers: Sequence[LicenseOption] = (),
) -> OwnershipNotice | None:
    """R3/R4: the owner is told nothing; anyone else, that every image they make with the model
    belongs to its owner and which licenses the owner offers to use them."""
    if user_id == model.owner_id:
        return None
    owner = f"@{owner_username}"
    statement = (
        f"This is {owner}'s model. Every image you make with it belongs to {owner} ({Rule.R4}), "
        "whoever writes the prompt."
    )
    if offers:
        listed = "; ".join(option.in_words() for option in offers)
        license_needed = f"To use an image, license it from {owner}: {listed}."
    else:
        license_needed = (
            f"To use an image you need a license from {owner}, who offers none on this model "
            "yet; ask them for one."
        )
    return OwnershipNotice(
        rule=Rule.R4,
        owner_id=model.owner_id,
        owner_username=owner_username,
        statement=statement,
        license_needed=license_needed,
        offers=tuple(offers),
    )


def may_generate_acknowledged(
    user_id: uuid.UUID, model: ModelFacts, *, acknowledged: bool
) -> Decision:
    """R4: before the first images with someone else's model, its user acknowledges that they
    will belong to the model's owner; the owner is never asked (R3)."""
    if user_id == model.owner_id:
        return allow(Rule.R3, "Your model: the images will belong to you.")
    if acknowledged:
        return allow(Rule.R4, "You acknowledged that the images will belong to the model's owner.")
    return refuse(
        Rule.R4,
        "Acknowledge that the images belong to the model's owner before making your first "
        "ones with it.",
    )
