"""The words of the ownership notice (R4): whose the images are, and the licenses offered."""

from __future__ import annotations

import uuid

import pytest

from hallmark.rights import (
    LicenseOption,
    ModelFacts,
    Purpose,
    Rule,
    Visibility,
    ownership_notice,
)

OWNER, MAKER = uuid.uuid4(), uuid.uuid4()
MODEL = ModelFacts(id=uuid.uuid4(), owner_id=OWNER, visibility=Visibility.PUBLIC)


def test_the_owner_is_told_nothing() -> None:
    assert ownership_notice(OWNER, MODEL, "ana") is None


@pytest.mark.parametrize("viewer", [MAKER, None], ids=["another user", "anonymous"])
def test_anyone_else_is_told_whose_the_images_are_and_that_none_is_offered(
    viewer: uuid.UUID | None,
) -> None:
    notice = ownership_notice(viewer, MODEL, "ana")
    assert notice is not None
    assert (notice.rule, notice.owner_id, notice.owner_username) == (Rule.R4, OWNER, "ana")
    assert notice.statement == (
        "This is @ana's model. Every image you make with it belongs to @ana (R4), "
        "whoever writes the prompt."
    )
    assert "offers none on this model yet" in notice.license_needed
    assert notice.text.startswith(notice.statement) and notice.text.endswith("one.")


def test_the_licenses_offered_are_named_with_their_uses_and_price() -> None:
    offers = [
        LicenseOption("Personal", frozenset({Purpose.PERSONAL}), 5, "EUR"),
        LicenseOption(
            "Extended",
            frozenset({Purpose.MERCHANDISE, Purpose.COMMERCIAL}),
            120_000,
            "USD",
            exclusive=True,
        ),
        LicenseOption("CC BY 4.0", frozenset({Purpose.PERSONAL}), 0, "EUR"),
    ]
    notice = ownership_notice(MAKER, MODEL, "ana", offers)
    assert notice is not None and notice.offers == tuple(offers)
    assert notice.license_needed == (
        "To use an image, license it from @ana: Personal (personal) at 0.05 EUR an image; "
        "Extended (commercial, merchandise, exclusive) at 1200.00 USD an image; "
        "CC BY 4.0 (personal) free."
    )
