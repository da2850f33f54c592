"""License terms as data (R8): the uses granted, their limits and price, never the copyright."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from hallmark.errors import InvalidInput
from hallmark.rights import Purpose
from hallmark.rights.territories import TerritoryError, countries_in

ALL_PURPOSES = frozenset(Purpose)
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PRICE_MINOR = 100_000_000_00  # one hundred million in major units


@dataclass(frozen=True)
class LicenseTerms:
    """What a licensee may do with an image, where, for how long, and for how much."""

    name: str
    purposes: frozenset[Purpose]
    price_minor: int = 0
    currency: str = "EUR"
    max_copies: int | None = None  # None: no cap on copies or audience
    territory: str = "worldwide"
    duration_days: int | None = None  # None: perpetual
    exclusive: bool = False
    attribution_required: bool = False
    share_alike: bool = False
    url: str | None = None  # the public text of a standard license (Creative Commons)

    def __post_init__(self) -> None:
        check_terms(self)

    def grants(self, purpose: Purpose) -> bool:
        """Whether the terms permit a use."""
        return purpose in self.purposes

    def priced(self, price_minor: int, currency: str | None = None) -> LicenseTerms:
        """The same terms at another price."""
        return replace(self, price_minor=price_minor, currency=currency or self.currency)

    def as_dict(self) -> dict[str, Any]:
        """The terms as JSON-ready data, purposes sorted so that equal terms serialise equally."""
        return {
            "name": self.name,
            "purposes": sorted(purpose.value for purpose in self.purposes),
            "price_minor": self.price_minor,
            "currency": self.currency,
            "max_copies": self.max_copies,
            "territory": self.territory,
            "duration_days": self.duration_days,
            "exclusive": self.exclusive,
            "attribution_required": self.attribution_required,
            "share_alike": self.share_alike,
            "url": self.url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LicenseTerms:
        """Terms from JSON data, refusing unknown purposes and fields by name."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"Unknown license term field(s): {', '.join(unknown)}.")
        values = dict(data)
        try:
            values["purposes"] = frozenset(Purpose(p) for p in data.get("purposes", ()))
        except ValueError as error:
            choices = ", ".join(p.value for p in Purpose)
            message = f"Unknown license purpose: {error}; choose from {choices}."
            raise InvalidInput(message) from None
        if "name" not in values:
            raise InvalidInput("License terms need a name.")
        return cls(**values)


def check_terms(terms: LicenseTerms) -> None:
    """Refuse terms that cannot be honoured, naming the field."""
    if not terms.name.strip() or len(terms.name) > 80:
        raise InvalidInput("A license name has 1 to 80 characters.")
    if not terms.purposes:
        raise InvalidInput("A license grants at least one purpose.")
    if not isinstance(terms.price_minor, int) or not 0 <= terms.price_minor <= MAX_PRICE_MINOR:
        raise InvalidInput(
            f"A price is a whole number of minor units between 0 and {MAX_PRICE_MINOR:,}."
        )
    if not CURRENCY.match(terms.currency):
        raise InvalidInput("A currency is a three-letter ISO 4217 code such as EUR or USD.")
    if terms.max_copies is not None and terms.max_copies < 1:
        raise InvalidInput("A copy cap is at least 1 (or none for no cap).")
    if terms.duration_days is not None and terms.duration_days < 1:
        raise InvalidInput("A duration is at least 1 day (or none for perpetual).")
    if not terms.territory.strip() or len(terms.territory) > 80:
        raise InvalidInput("A territory has 1 to 80 characters, e.g. 'worldwide' or 'EU'.")
    try:
        countries_in(terms.territory)
    except TerritoryError as error:
        raise InvalidInput(f"License territory: {error}") from None


def _creative_commons(code: str, title: str, *, nc: bool, nd: bool, sa: bool) -> LicenseTerms:
    """One of the six Creative Commons 4.0 licenses as terms: attribution always required."""
    purposes = set(ALL_PURPOSES)
    if nc:
        purposes -= {Purpose.COMMERCIAL, Purpose.MERCHANDISE}
    if nd:
        purposes -= {Purpose.DERIVATIVE}
    return LicenseTerms(
        name=title,
        purposes=frozenset(purposes),
        attribution_required=True,
        share_alike=sa,
        url=f"https://creativecommons.org/licenses/{code}/4.0/",
    )


TEMPLATES: dict[str, LicenseTerms] = {
    # Modelled on stock sites' standard license: most commercial uses, capped print runs.
    "standard": LicenseTerms(
        name="Standard",
        purposes=frozenset({Purpose.PERSONAL, Purpose.COMMERCIAL, Purpose.EDITORIAL}),
        max_copies=500_000,
    ),
    "extended": LicenseTerms(
        name="Extended",
        purposes=frozenset(
            {Purpose.PERSONAL, Purpose.COMMERCIAL, Purpose.EDITORIAL, Purpose.MERCHANDISE}
        ),
    ),
    "editorial": LicenseTerms(
        name="Editorial",
        purposes=frozenset({Purpose.EDITORIAL}),
        attribution_required=True,
    ),
    "personal": LicenseTerms(name="Personal", purposes=frozenset({Purpose.PERSONAL})),
    "cc-by": _creative_commons("by", "CC BY 4.0", nc=False, nd=False, sa=False),
    "cc-by-sa": _creative_commons("by-sa", "CC BY-SA 4.0", nc=False, nd=False, sa=True),
    "cc-by-nd": _creative_commons("by-nd", "CC BY-ND 4.0", nc=False, nd=True, sa=False),
    "cc-by-nc": _creative_commons("by-nc", "CC BY-NC 4.0", nc=True, nd=False, sa=False),
    "cc-by-nc-sa": _creative_commons("by-nc-sa", "CC BY-NC-SA 4.0", nc=True, nd=False, sa=True),
    "cc-by-nc-nd": _creative_commons("by-nc-nd", "CC BY-NC-ND 4.0", nc=True, nd=True, sa=False),
    "cc0": LicenseTerms(
        name="CC0 1.0",
        purposes=ALL_PURPOSES,
        url="https://creativecommons.org/publicdomain/zero/1.0/",
    ),
}


def price_in_minor_units(text: str) -> int:
    """A price typed as "15", "15.5" or "15.00" in cents; anything else is refused by name."""
    cleaned = text.strip().replace(",", ".")
    if not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", cleaned):
        raise InvalidInput(f"The price '{text[:20]}' is not an amount like 15 or 15.00.")
    whole, _, cents = cleaned.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


def terms_from_template(
    template: str,
    *,
    price_minor: int,
    currency: str = "EUR",
    exclusive: bool = False,
    overrides: dict[str, Any] | None = None,
) -> LicenseTerms:
    """A template's terms at the owner's price; Creative Commons terms are always free."""
    base = TEMPLATES.get(template)
    if base is None:
        raise InvalidInput(
            f"Unknown license template '{template}'; choose one of: {', '.join(TEMPLATES)}."
        )
    if base.url is not None and price_minor:
        raise InvalidInput(f"{base.name} is a free public license; its price is 0.")
    data = base.as_dict() | dict(overrides or {})
    data.update(price_minor=price_minor, currency=currency, exclusive=exclusive)
    return LicenseTerms.from_dict(data)
