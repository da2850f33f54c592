"""License terms as data: templates buyers know, Creative Commons as machine-readable terms."""

from __future__ import annotations

import pytest

from hallmark.errors import InvalidInput
from hallmark.licensing.terms import TEMPLATES, LicenseTerms, terms_from_template
from hallmark.rights import Purpose


def test_standard_caps_copies_and_excludes_merchandise_extended_allows_it() -> None:
    standard, extended = TEMPLATES["standard"], TEMPLATES["extended"]

    assert standard.max_copies == 500_000
    assert standard.grants(Purpose.COMMERCIAL) and not standard.grants(Purpose.MERCHANDISE)
    assert extended.max_copies is None and extended.grants(Purpose.MERCHANDISE)
    assert not TEMPLATES["personal"].grants(Purpose.COMMERCIAL)
    assert TEMPLATES["editorial"].purposes == {Purpose.EDITORIAL}


@pytest.mark.parametrize(
    ("code", "commercial", "derivative", "share_alike"),
    [
        ("cc-by", True, True, False),
        ("cc-by-sa", True, True, True),
        ("cc-by-nd", True, False, False),
        ("cc-by-nc", False, True, False),
        ("cc-by-nc-sa", False, True, True),
        ("cc-by-nc-nd", False, False, False),
    ],
)
def test_the_six_creative_commons_licenses_as_terms(
    code: str, commercial: bool, derivative: bool, share_alike: bool
) -> None:
    terms = TEMPLATES[code]

    assert terms.grants(Purpose.COMMERCIAL) is commercial
    assert terms.grants(Purpose.MERCHANDISE) is commercial
    assert terms.grants(Purpose.DERIVATIVE) is derivative
    assert terms.share_alike is share_alike
    assert terms.attribution_required
    assert terms.url == f"https://creativecommons.org/licenses/{code[3:]}/4.0/"
    assert terms.price_minor == 0


def test_cc0_grants_everything_without_attribution() -> None:
    assert TEMPLATES["cc0"].purposes == frozenset(Purpose)
    assert not TEMPLATES["cc0"].attribution_required


def test_terms_round_trip_through_json_data() -> None:
    terms = terms_from_template(
        "standard", price_minor=1500, currency="USD", exclusive=True, overrides={"max_copies": 10}
    )

    assert LicenseTerms.from_dict(terms.as_dict()) == terms
    assert terms.price_minor == 1500 and terms.exclusive and terms.max_copies == 10


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: terms_from_template("gold", price_minor=1), "Unknown license template 'gold'"),
        (lambda: terms_from_template("cc-by", price_minor=100), "free public license"),
        (lambda: terms_from_template("standard", price_minor=-1), "whole number of minor units"),
        (lambda: terms_from_template("standard", price_minor=1, currency="euro"), "three-letter"),
        (
            lambda: terms_from_template("standard", price_minor=1, overrides={"max_copies": 0}),
            "copy cap",
        ),
        (
            lambda: terms_from_template("standard", price_minor=1, overrides={"colour": "red"}),
            "Unknown license term field",
        ),
        (
            lambda: LicenseTerms.from_dict({"name": "x", "purposes": ["everything"]}),
            "Unknown license purpose",
        ),
        (lambda: LicenseTerms(name="Empty", purposes=frozenset()), "at least one purpose"),
    ],
)
def test_bad_terms_are_refused_naming_the_problem(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(InvalidInput, match=message):
        call()
