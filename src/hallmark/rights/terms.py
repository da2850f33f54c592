"""A license's terms as rules (R8): duration, purpose, territory, copy cap and attribution.

Each function decides one term of one license for one intended use and names the term; a term
the asker said nothing about is allowed as a condition to keep, never assumed to be met.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hallmark.rights.decisions import LicenseTerm, Rule, TermDecision
from hallmark.rights.facts import IntendedUse, Purpose, UsageGrant
from hallmark.rights.territories import TerritoryError, countries_in, country_code, is_worldwide


def _allow(term: LicenseTerm, reason: str, *conditions: str) -> TermDecision:
    return TermDecision(True, Rule.R8, reason, term, conditions)


def _refuse(term: LicenseTerm, reason: str) -> TermDecision:
    return TermDecision(False, Rule.R8, reason, term)


def _moment(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def license_in_force(grant: UsageGrant, *, at: datetime, on: date | None = None) -> TermDecision:
    """Revocation and duration: a license covers a use only while it is in force.

    With `on`, the use is on that (UTC) day and the license must be in force at some moment of it.
    """
    if grant.revoked:
        return _refuse(LicenseTerm.REVOCATION, "This license is not in force: it was revoked.")
    start = datetime.combine(on, time.min, UTC) if on else at
    end = start + timedelta(days=1) if on else at
    if grant.starts_at is not None and (grant.starts_at >= end if on else at < grant.starts_at):
        return _refuse(
            LicenseTerm.DURATION,
            f"This license is not in force yet: it starts on {_moment(grant.starts_at)}.",
        )
    if grant.expires_at is not None and grant.expires_at <= start:
        return _refuse(
            LicenseTerm.DURATION,
            f"This license is not in force: it ended on {_moment(grant.expires_at)}, and it "
            "grants no use after that.",
        )
    if grant.expires_at is not None:
        return _allow(
            LicenseTerm.DURATION,
            "The license is in force.",
            f"only until the license ends on {_moment(grant.expires_at)}",
        )
    return _allow(LicenseTerm.DURATION, "The license is in force, with no end date.")


def purpose_permits(grant: UsageGrant, purpose: Purpose) -> TermDecision:
    """Purpose: a license grants exactly the uses it names."""
    if purpose in grant.purposes:
        return _allow(LicenseTerm.PURPOSE, f"The license grants {purpose.value} use.")
    granted = ", ".join(sorted(p.value for p in grant.purposes)) or "no use"
    return _refuse(
        LicenseTerm.PURPOSE,
        f"The license does not grant {purpose.value} use; it grants {granted}.",
    )


def territory_permits(grant: UsageGrant, country: str | None) -> TermDecision:
    """Territory: a use in a country the license does not cover is not granted."""
    if is_worldwide(grant.territory):
        return _allow(LicenseTerm.TERRITORY, "The license is worldwide.")
    try:
        covered = countries_in(grant.territory)
    except TerritoryError:
        return _refuse(
            LicenseTerm.TERRITORY,
            f"The license's territory '{grant.territory}' names no country Hallmark can check; "
            "ask the owner where it applies.",
        )
    if country is None:
        return _allow(
            LicenseTerm.TERRITORY,
            f"The license covers {grant.territory} only.",
            f"only in {grant.territory}",
        )
    code = country_code(country)
    if code in covered:
        return _allow(LicenseTerm.TERRITORY, f"The license covers {code} ({grant.territory}).")
    return _refuse(
        LicenseTerm.TERRITORY,
        f"The license covers {grant.territory} only; use in {code} is outside its territory.",
    )


def copies_permitted(grant: UsageGrant, copies: int | None) -> TermDecision:
    """Copy or audience cap: no more copies, or no larger audience, than the license allows."""
    if grant.max_copies is None:
        return _allow(LicenseTerm.COPY_CAP, "The license has no copy or audience cap.")
    cap = f"{grant.max_copies:,}"
    if copies is None:
        return _allow(
            LicenseTerm.COPY_CAP,
            f"The license caps copies or audience at {cap}.",
            f"at most {cap} copies or audience",
        )
    if copies < 0:
        raise ValueError("a number of copies cannot be negative")
    if copies > grant.max_copies:
        return _refuse(
            LicenseTerm.COPY_CAP,
            f"The license caps copies or audience at {cap}; {copies:,} is over the cap.",
        )
    return _allow(LicenseTerm.COPY_CAP, f"{copies:,} is within the license's cap of {cap}.")


def attribution_permits(grant: UsageGrant, credit_given: bool | None) -> TermDecision:
    """Attribution: a license that requires crediting the owner grants no uncredited use."""
    if not grant.attribution_required:
        return _allow(LicenseTerm.ATTRIBUTION, "The license does not require a credit.")
    if credit_given is None:
        return _allow(
            LicenseTerm.ATTRIBUTION,
            "The license requires crediting the owner.",
            "credit the image's owner, as the license requires",
        )
    if not credit_given:
        return _refuse(
            LicenseTerm.ATTRIBUTION,
            "The license requires crediting the owner; a use without the credit is not granted.",
        )
    return _allow(LicenseTerm.ATTRIBUTION, "You credit the owner, as the license requires.")


def license_permits(grant: UsageGrant, use: IntendedUse, *, at: datetime) -> TermDecision:
    """R8: whether one license covers an intended use, term by term; the first term that refuses
    decides, else every term's conditions are kept."""
    decisions = (
        license_in_force(grant, at=at, on=use.on),
        purpose_permits(grant, use.purpose),
        territory_permits(grant, use.territory),
        copies_permitted(grant, use.copies),
        attribution_permits(grant, use.credit_given),
    )
    for decision in decisions:
        if not decision.allowed:
            return decision
    conditions = tuple(c for decision in decisions for c in decision.conditions)
    return TermDecision(
        True,
        Rule.R8,
        f"The license grants {use.purpose.value} use, within its terms.",
        LicenseTerm.PURPOSE,
        conditions,
    )
