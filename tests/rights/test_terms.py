"""A license's terms as rules (R8), one table per term: allowed and refused, the term named."""

from __future__ import annotations

import inspect
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from hallmark.rights import (
    GenerationFacts,
    IntendedUse,
    LicenseTerm,
    OfferFacts,
    Purpose,
    Rule,
    SaleChannel,
    TermDecision,
    UsageGrant,
    exclusivity_permits,
)
from hallmark.rights import terms as terms_module
from hallmark.rights.terms import (
    attribution_permits,
    copies_permitted,
    license_in_force,
    license_permits,
    purpose_permits,
    territory_permits,
)
from hallmark.rights.territories import (
    COUNTRIES,
    EU,
    TerritoryError,
    countries_in,
    country_code,
    is_worldwide,
)

OWNER, HOLDER = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
IMAGE = GenerationFacts(uuid.uuid4(), uuid.uuid4(), owner_id=OWNER, maker_id=HOLDER)
# The Standard template's terms, sold for the US with a credit required.
STANDARD_US = UsageGrant(
    OWNER,
    HOLDER,
    IMAGE.id,
    frozenset({Purpose.PERSONAL, Purpose.COMMERCIAL, Purpose.EDITORIAL}),
    starts_at=START,
    expires_at=END,
    territory="US",
    max_copies=500_000,
    attribution_required=True,
)
WORLDWIDE = replace(STANDARD_US, territory="worldwide", max_copies=None, attribution_required=False)


@dataclass(frozen=True)
class Row:
    """One question to one license and what the rule must answer."""

    name: str
    decision: TermDecision
    allowed: bool
    term: LicenseTerm
    words: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()


def rows(*items: Row) -> pytest.MarkDecorator:
    """Parametrize over named rows."""
    return pytest.mark.parametrize("row", items, ids=[item.name for item in items])


def check(row: Row) -> None:
    """The decision is R8, allowed or not as the row says, names the term and says why."""
    decision = row.decision
    assert decision.allowed is row.allowed, decision.reason
    assert decision.rule is Rule.R8
    assert decision.term is row.term, decision
    for word in row.words:
        assert word in decision.reason, (word, decision.reason)
    for condition in row.conditions:
        assert any(condition in kept for kept in decision.conditions), decision.conditions
    if not decision.allowed:
        assert decision.conditions == ()


TERRITORY, COPIES = LicenseTerm.TERRITORY, LicenseTerm.COPY_CAP
ATTRIBUTION, DURATION = LicenseTerm.ATTRIBUTION, LicenseTerm.DURATION


@rows(
    Row("worldwide_anywhere", territory_permits(WORLDWIDE, "FR"), True, TERRITORY, ("worldwide",)),
    Row("us_license_in_the_us", territory_permits(STANDARD_US, "US"), True, TERRITORY, ("US",)),
    Row("us_license_lowercase", territory_permits(STANDARD_US, "us"), True, TERRITORY),
    Row(
        "us_license_in_france",
        territory_permits(STANDARD_US, "FR"),
        False,
        TERRITORY,
        ("covers US only", "FR"),
    ),
    Row(
        "country_unsaid_is_a_condition",
        territory_permits(STANDARD_US, None),
        True,
        TERRITORY,
        conditions=("only in US",),
    ),
    Row(
        "eu_license_in_france",
        territory_permits(replace(WORLDWIDE, territory="EU"), "FR"),
        True,
        TERRITORY,
    ),
    Row(
        "eu_license_in_norway",
        territory_permits(replace(WORLDWIDE, territory="EU"), "NO"),
        False,
        TERRITORY,
    ),
    Row(
        "eea_license_in_norway",
        territory_permits(replace(WORLDWIDE, territory="EEA"), "NO"),
        True,
        TERRITORY,
    ),
    Row(
        "us_and_canada_in_canada",
        territory_permits(replace(WORLDWIDE, territory="US, CA"), "CA"),
        True,
        TERRITORY,
    ),
    Row("uk_is_gb", territory_permits(replace(WORLDWIDE, territory="UK"), "GB"), True, TERRITORY),
    Row(
        "unreadable_territory_refuses",
        territory_permits(replace(WORLDWIDE, territory="Benelux"), "BE"),
        False,
        TERRITORY,
        ("ask the owner",),
    ),
)
def test_territory_permits(row: Row) -> None:
    check(row)


@rows(
    Row("no_cap", copies_permitted(WORLDWIDE, 10**9), True, COPIES, ("no copy",)),
    Row("under_the_cap", copies_permitted(STANDARD_US, 400_000), True, COPIES, ("within",)),
    Row("at_the_cap", copies_permitted(STANDARD_US, 500_000), True, COPIES),
    Row(
        "600000_over_a_500000_cap",
        copies_permitted(STANDARD_US, 600_000),
        False,
        COPIES,
        ("500,000", "600,000 is over the cap"),
    ),
    Row(
        "count_unsaid_is_a_condition",
        copies_permitted(STANDARD_US, None),
        True,
        COPIES,
        conditions=("at most 500,000",),
    ),
)
def test_copies_permitted(row: Row) -> None:
    check(row)


def test_a_negative_copy_count_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        copies_permitted(STANDARD_US, -1)


@rows(
    Row("not_required", attribution_permits(WORLDWIDE, False), True, ATTRIBUTION),
    Row("required_and_given", attribution_permits(STANDARD_US, True), True, ATTRIBUTION),
    Row(
        "required_and_not_given",
        attribution_permits(STANDARD_US, False),
        False,
        ATTRIBUTION,
        ("requires crediting",),
    ),
    Row(
        "required_unsaid_is_a_condition",
        attribution_permits(STANDARD_US, None),
        True,
        ATTRIBUTION,
        conditions=("credit the image's owner",),
    ),
)
def test_attribution_permits(row: Row) -> None:
    check(row)


@rows(
    Row("in_force", license_in_force(STANDARD_US, at=NOW), True, DURATION, conditions=("until",)),
    Row(
        "after_it_ended",
        license_in_force(STANDARD_US, at=END),
        False,
        DURATION,
        ("not in force", "ended on 2026-01-01 00:00 UTC"),
    ),
    Row(
        "before_it_starts",
        license_in_force(STANDARD_US, at=START - timedelta(seconds=1)),
        False,
        DURATION,
        ("not in force yet", "2025-01-01"),
    ),
    Row(
        "on_its_last_day",
        license_in_force(STANDARD_US, at=NOW, on=date(2025, 12, 31)),
        True,
        DURATION,
    ),
    Row(
        "on_the_day_after",
        license_in_force(STANDARD_US, at=NOW, on=date(2026, 1, 1)),
        False,
        DURATION,
        ("ended",),
    ),
    Row(
        "on_the_day_it_starts",
        license_in_force(replace(STANDARD_US, starts_at=NOW), at=START, on=NOW.date()),
        True,
        DURATION,
    ),
    Row(
        "on_the_day_before_it_starts",
        license_in_force(STANDARD_US, at=NOW, on=date(2024, 12, 31)),
        False,
        DURATION,
    ),
    Row(
        "open_ended",
        license_in_force(replace(STANDARD_US, expires_at=None), at=NOW),
        True,
        DURATION,
    ),
    Row(
        "revoked",
        license_in_force(replace(STANDARD_US, revoked=True), at=NOW),
        False,
        LicenseTerm.REVOCATION,
        ("revoked",),
    ),
)
def test_license_in_force(row: Row) -> None:
    check(row)


@rows(
    Row("named", purpose_permits(STANDARD_US, Purpose.EDITORIAL), True, LicenseTerm.PURPOSE),
    Row(
        "not_named",
        purpose_permits(STANDARD_US, Purpose.MERCHANDISE),
        False,
        LicenseTerm.PURPOSE,
        ("does not grant merchandise", "commercial, editorial, personal"),
    ),
)
def test_purpose_permits(row: Row) -> None:
    check(row)


def use(purpose: Purpose = Purpose.COMMERCIAL, **said: object) -> IntendedUse:
    """An intended use with what the asker said."""
    return IntendedUse(purpose, **said)  # type: ignore[arg-type]


@rows(
    Row(
        "everything_said_and_kept",
        license_permits(STANDARD_US, use(territory="US", copies=1000, credit_given=True), at=NOW),
        True,
        LicenseTerm.PURPOSE,
        conditions=("until",),
    ),
    Row(
        "nothing_said_keeps_every_term",
        license_permits(STANDARD_US, use(), at=NOW),
        True,
        LicenseTerm.PURPOSE,
        conditions=("only in US", "at most 500,000", "credit", "until"),
    ),
    Row(
        "commercially_in_france_under_a_us_license",
        license_permits(STANDARD_US, use(territory="FR"), at=NOW),
        False,
        TERRITORY,
    ),
    Row(
        "print_600000_copies",
        license_permits(STANDARD_US, use(Purpose.PERSONAL, copies=600_000), at=NOW),
        False,
        COPIES,
    ),
    Row(
        "without_the_credit",
        license_permits(STANDARD_US, use(credit_given=False), at=NOW),
        False,
        ATTRIBUTION,
    ),
    Row(
        "after_the_end",
        license_permits(STANDARD_US, use(on=date(2026, 3, 1)), at=NOW),
        False,
        DURATION,
    ),
    Row(
        "editorial_use",
        license_permits(STANDARD_US, use(Purpose.EDITORIAL, territory="US"), at=NOW),
        True,
        LicenseTerm.PURPOSE,
        ("editorial",),
    ),
    Row(
        "the_purpose_decides_before_the_territory",
        license_permits(STANDARD_US, use(Purpose.MERCHANDISE, territory="FR"), at=NOW),
        False,
        LicenseTerm.PURPOSE,
    ),
    Row(
        "duration_decides_first",
        license_permits(STANDARD_US, use(Purpose.MERCHANDISE, territory="FR"), at=END),
        False,
        DURATION,
    ),
)
def test_license_permits(row: Row) -> None:
    check(row)


def test_exclusivity_names_its_term() -> None:
    exclusive = replace(WORLDWIDE, exclusive=True)
    second_buyer = exclusivity_permits(IMAGE, OfferFacts(SaleChannel.OWNER), [exclusive])

    assert isinstance(second_buyer, TermDecision)
    assert not second_buyer.allowed and second_buyer.term is LicenseTerm.EXCLUSIVITY


def test_territories_read_codes_and_regions_and_refuse_the_rest() -> None:
    assert len(COUNTRIES) == 249 and len(EU) == 27 and EU <= COUNTRIES
    assert countries_in("US; CA and MX") == {"US", "CA", "MX"}
    assert is_worldwide("Worldwide") and not is_worldwide("EU") and not is_worldwide("??")
    assert country_code(" fr ") == "FR"
    for bad in ("France", "XX", ""):
        with pytest.raises(TerritoryError):
            country_code(bad)
    with pytest.raises(TerritoryError, match="'Mars'"):
        countries_in("US, Mars")
    with pytest.raises(TerritoryError):
        countries_in(" , ")


def test_every_term_rule_is_tested() -> None:
    functions = {
        name
        for name, value in inspect.getmembers(terms_module, inspect.isfunction)
        if value.__module__ == terms_module.__name__ and not name.startswith("_")
    }
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert functions <= tested, functions - tested
