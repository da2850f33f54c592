"""Table-driven tests of the gallery's and the usage register's rules (R3, R5, R7, R11)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from hallmark.rights import (
    GenerationFacts,
    ModelFacts,
    Rule,
    Visibility,
    may_choose_preview,
    may_curate_gallery,
    may_list_generation,
    may_unlist_generation,
    may_view_preview,
    may_view_usage_register,
)

OWNER, MAKER, STRANGER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
PUBLIC = ModelFacts(id=uuid.uuid4(), owner_id=OWNER, visibility=Visibility.PUBLIC)
PRIVATE = replace(PUBLIC, visibility=Visibility.PRIVATE)
OTHER_MODEL = ModelFacts(id=uuid.uuid4(), owner_id=OWNER, visibility=Visibility.PUBLIC)
IMAGE = GenerationFacts(id=uuid.uuid4(), model_id=PUBLIC.id, owner_id=OWNER, maker_id=MAKER)
NEAR_COPY = replace(IMAGE, near_copy=True)
CLEARED = replace(IMAGE, near_copy=True, near_copy_cleared=True)


@pytest.mark.parametrize(
    ("user", "model", "allowed"),
    [
        (OWNER, PUBLIC, True),
        (OWNER, PRIVATE, True),
        (MAKER, PUBLIC, False),
        (STRANGER, PRIVATE, False),
        (None, PUBLIC, False),
    ],
)
def test_may_view_usage_register(user: uuid.UUID | None, model: ModelFacts, allowed: bool) -> None:
    decision = may_view_usage_register(user, model)

    assert (decision.allowed, decision.rule) == (allowed, Rule.R3)


@pytest.mark.parametrize(
    ("user", "allowed"), [(OWNER, True), (MAKER, False), (STRANGER, False), (None, False)]
)
def test_may_curate_gallery(user: uuid.UUID | None, allowed: bool) -> None:
    assert may_curate_gallery(user, PUBLIC).allowed is allowed


@pytest.mark.parametrize(
    ("user", "model", "image", "allowed", "rule"),
    [
        (OWNER, PUBLIC, IMAGE, True, Rule.R3),
        (OWNER, PRIVATE, IMAGE, True, Rule.R3),  # chosen now, shown once published
        (MAKER, PUBLIC, IMAGE, False, Rule.R3),
        (OWNER, OTHER_MODEL, IMAGE, False, Rule.R3),  # made with another model
        (OWNER, PUBLIC, replace(IMAGE, owner_id=STRANGER), False, Rule.R3),
        (OWNER, PUBLIC, NEAR_COPY, False, Rule.R11),
        (OWNER, PUBLIC, CLEARED, True, Rule.R3),
    ],
)
def test_may_choose_preview(
    user: uuid.UUID, model: ModelFacts, image: GenerationFacts, allowed: bool, rule: Rule
) -> None:
    decision = may_choose_preview(user, model, image)

    assert (decision.allowed, decision.rule) == (allowed, rule)


@pytest.mark.parametrize(
    ("user", "image", "model", "allowed", "rule"),
    [
        (OWNER, IMAGE, PUBLIC, True, Rule.R7),
        (MAKER, IMAGE, PUBLIC, False, Rule.R3),
        (STRANGER, IMAGE, PUBLIC, False, Rule.R3),
        (OWNER, IMAGE, PRIVATE, False, Rule.R5),
        (OWNER, NEAR_COPY, PUBLIC, False, Rule.R11),
        (OWNER, CLEARED, PUBLIC, True, Rule.R7),
    ],
)
def test_may_list_generation(
    user: uuid.UUID, image: GenerationFacts, model: ModelFacts, allowed: bool, rule: Rule
) -> None:
    decision = may_list_generation(user, image, model)

    assert (decision.allowed, decision.rule) == (allowed, rule)


@pytest.mark.parametrize(("user", "allowed"), [(OWNER, True), (MAKER, False), (STRANGER, False)])
def test_may_unlist_generation(user: uuid.UUID, allowed: bool) -> None:
    assert may_unlist_generation(user, IMAGE).allowed is allowed


@pytest.mark.parametrize(
    ("user", "image", "model", "listed", "chosen", "allowed", "rule"),
    [
        (None, IMAGE, PUBLIC, True, False, True, Rule.R7),
        (STRANGER, IMAGE, PUBLIC, False, True, True, Rule.R7),
        (MAKER, IMAGE, PUBLIC, True, False, True, Rule.R7),
        (None, IMAGE, PUBLIC, False, False, False, Rule.R3),  # not shown by its owner
        (STRANGER, IMAGE, PRIVATE, True, True, False, Rule.R5),  # the model was unpublished
        (None, NEAR_COPY, PUBLIC, True, False, False, Rule.R11),
        (OWNER, IMAGE, PRIVATE, False, False, True, Rule.R3),  # the owner sees their own
    ],
)
def test_may_view_preview(
    user: uuid.UUID | None,
    image: GenerationFacts,
    model: ModelFacts,
    listed: bool,
    chosen: bool,
    allowed: bool,
    rule: Rule,
) -> None:
    decision = may_view_preview(user, image, model, listed=listed, chosen=chosen)

    assert (decision.allowed, decision.rule) == (allowed, rule)
