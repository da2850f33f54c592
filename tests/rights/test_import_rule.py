"""R2 for imported models: the importer's attestation is what makes the model theirs."""

from __future__ import annotations

import uuid

from hallmark.rights import Rule, may_import_model


def test_an_import_needs_the_attestation_that_the_works_were_the_importers() -> None:
    artist = uuid.uuid4()

    attested = may_import_model(artist, trained_on_own_works_attested=True)
    unattested = may_import_model(artist, trained_on_own_works_attested=False)

    assert attested.allowed and attested.rule == Rule.R2
    assert not unattested.allowed and unattested.rule == Rule.R2
    assert "works you hold the rights to" in unattested.reason
