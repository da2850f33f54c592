"""Licenses as the rules see them: rows in, `rights` facts out, so any slice can ask a rule."""

from __future__ import annotations

from hallmark import rights
from hallmark.licensing.models import License


def usage_grant(license_: License) -> rights.UsageGrant:
    """A license as the rules see it."""
    return rights.UsageGrant(
        licensor_id=license_.licensor_id,
        licensee_id=license_.licensee_id,
        subject_id=license_.generation_id,
        purposes=frozenset(rights.Purpose(p) for p in license_.terms["purposes"]),
        starts_at=license_.starts_at,
        expires_at=license_.expires_at,
        revoked=license_.revoked_at is not None,
    )
