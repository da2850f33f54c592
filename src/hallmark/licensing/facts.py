"""Offers and licenses as the rules see them: rows in, `rights` facts out, so any slice can ask."""

from __future__ import annotations

from hallmark import rights
from hallmark.licensing.models import License, LicenseOffer


def offer_facts(offer: LicenseOffer) -> rights.OfferFacts:
    """An offer as the rules see it: a model-wide offer is sold by the platform (R7), an offer on
    one image by its owner (R6)."""
    return rights.OfferFacts(
        channel=rights.SaleChannel.PLATFORM if offer.style_id else rights.SaleChannel.OWNER,
        exclusive=offer.exclusive,
        withdrawn=offer.withdrawn_at is not None,
    )


def usage_grant(license_: License) -> rights.UsageGrant:
    """A license as the rules see it, with the terms it was sold under (R8)."""
    terms = license_.terms
    return rights.UsageGrant(
        licensor_id=license_.licensor_id,
        licensee_id=license_.licensee_id,
        subject_id=license_.generation_id,
        purposes=frozenset(rights.Purpose(p) for p in terms["purposes"]),
        starts_at=license_.starts_at,
        expires_at=license_.expires_at,
        revoked=license_.revoked_at is not None,
        exclusive=license_.exclusive,
        territory=terms.get("territory") or "worldwide",
        max_copies=terms.get("max_copies"),
        attribution_required=bool(terms.get("attribution_required", False)),
    )
