"""Table-driven tests of the ownership rules R1–R9 and R11 (SPEC.md sections 1 and 5)."""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tests.rights
from hallmark.rights import (
    ArtworkFacts,
    Decision,
    GenerationFacts,
    ModelFacts,
    OfferFacts,
    OwnershipDecision,
    Purpose,
    RegisteredWork,
    Rule,
    SaleChannel,
    UsageGrant,
    Visibility,
    disclosure_permits,
    exclusivity_permits,
    grant_permits,
    may_buy_license,
    may_change_model_visibility,
    may_clear_near_copy,
    may_download_generation,
    may_export_model,
    may_generate,
    may_generate_acknowledged,
    may_import_model,
    may_license_generation,
    may_publish_generation,
    may_register_artwork,
    may_set_offer,
    may_take_offer,
    may_train_model,
    may_train_on,
    may_train_on_generation,
    may_view_artwork_file,
    may_view_generation,
    may_view_license,
    may_view_model,
    may_view_offer,
    owner_after_license,
    owner_of_generation,
    owner_of_model,
    owner_of_upload,
    ownership_notice,
    platform_may_sell,
    split_proceeds,
)

# ----------------------------------------------------------------------------- the cast

OWNER = uuid.uuid4()  # owns the artwork, the model and every image the model makes
MAKER = uuid.uuid4()  # another user who writes prompts for the owner's public model
LICENSEE = uuid.uuid4()  # a user who holds (or seeks) a license from the owner
STRANGER = uuid.uuid4()  # a signed-in user with no relation to the work
ANONYMOUS: uuid.UUID | None = None  # nobody signed in

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)

ARTWORK = ArtworkFacts(id=uuid.uuid4(), owner_id=OWNER)
OPTED_OUT = ArtworkFacts(id=uuid.uuid4(), owner_id=OWNER, training_opt_out=True)
OTHER_ARTWORK = ArtworkFacts(id=uuid.uuid4(), owner_id=OWNER)

PRIVATE_MODEL = ModelFacts(id=uuid.uuid4(), owner_id=OWNER)
PUBLIC_MODEL = ModelFacts(id=uuid.uuid4(), owner_id=OWNER, visibility=Visibility.PUBLIC)

GENERATION = GenerationFacts(
    id=uuid.uuid4(), model_id=PUBLIC_MODEL.id, owner_id=OWNER, maker_id=MAKER
)
OWN_GENERATION = GenerationFacts(
    id=uuid.uuid4(), model_id=PRIVATE_MODEL.id, owner_id=OWNER, maker_id=OWNER
)
OTHER_GENERATION = GenerationFacts(
    id=uuid.uuid4(), model_id=PUBLIC_MODEL.id, owner_id=OWNER, maker_id=MAKER
)
NEAR_COPY = replace(GENERATION, near_copy=True)
CLEARED_NEAR_COPY = replace(GENERATION, near_copy=True, near_copy_cleared=True)

DIRECT_OFFER = OfferFacts(SaleChannel.OWNER)  # the owner's own offer on one image (R6)
MODEL_WIDE_OFFER = OfferFacts(SaleChannel.PLATFORM)  # sold by the platform for the model (R7)
EXCLUSIVE_OFFER = OfferFacts(SaleChannel.OWNER, exclusive=True)
EXCLUSIVE_MODEL_WIDE_OFFER = OfferFacts(SaleChannel.PLATFORM, exclusive=True)
WITHDRAWN_OFFER = OfferFacts(SaleChannel.OWNER, withdrawn=True)


def grant(
    licensee: uuid.UUID,
    subject: uuid.UUID,
    *purposes: Purpose,
    licensor: uuid.UUID = OWNER,
    starts_at: datetime | None = START,
    expires_at: datetime | None = END,
    revoked: bool = False,
    exclusive: bool = False,
) -> UsageGrant:
    """A license from `licensor` (the owner by default) in force from START until END."""
    return UsageGrant(
        licensor_id=licensor,
        licensee_id=licensee,
        subject_id=subject,
        purposes=frozenset(purposes),
        starts_at=starts_at,
        expires_at=expires_at,
        revoked=revoked,
        exclusive=exclusive,
    )


@dataclass(frozen=True)
class Expect:
    """What a decision must say: allowed or not, the exact rule, and words its reason contains."""

    allowed: bool
    rule: Rule
    words: tuple[str, ...] = ()
    owner_id: uuid.UUID | None = None


def allowed(rule: Rule, *words: str, owner_id: uuid.UUID | None = None) -> Expect:
    """An expected allowed decision under `rule`."""
    return Expect(True, rule, words, owner_id)


def refused(rule: Rule, *words: str) -> Expect:
    """An expected refused decision under `rule`."""
    return Expect(False, rule, words)


def check(decision: Decision, expect: Expect) -> None:
    """Assert that `decision` says what `expect` describes, ownership included."""
    assert decision.allowed is expect.allowed, decision.reason
    assert bool(decision) is expect.allowed
    assert decision.rule is expect.rule, decision.reason
    assert decision.reason.strip(), "every decision says why"
    for word in expect.words:
        assert word.lower() in decision.reason.lower(), (word, decision.reason)
    if isinstance(decision, OwnershipDecision):
        assert decision.owner_id == expect.owner_id


def case_id(case: Case) -> str:
    """The readable id of a table row."""
    return case.name


@dataclass(frozen=True)
class Case:
    """One row of a rule table: an actor, the facts they act on, and the expected decision."""

    name: str
    actor: uuid.UUID | None
    expect: Expect
    artwork: ArtworkFacts = ARTWORK
    model: ModelFacts = PUBLIC_MODEL
    generation: GenerationFacts = GENERATION
    grants: tuple[UsageGrant, ...] = ()
    matches: tuple[RegisteredWork, ...] = ()
    artworks: tuple[ArtworkFacts, ...] = ()
    purpose: Purpose = Purpose.PERSONAL
    at: datetime = NOW
    text: str = ""
    offer: OfferFacts = DIRECT_OFFER


def table(*cases: Case) -> pytest.MarkDecorator:
    """Parametrize a test over named cases."""
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return pytest.mark.parametrize("case", cases, ids=case_id)


def actor(case: Case) -> uuid.UUID:
    """The case's actor for rules that require a signed-in user."""
    assert case.actor is not None
    return case.actor


# -------------------------------------------------------------------------------------- R1


@pytest.mark.parametrize(
    ("uploader", "attested", "expect"),
    [
        (OWNER, True, allowed(Rule.R1, "uploader", owner_id=OWNER)),
        (MAKER, True, allowed(Rule.R1, "uploader", owner_id=MAKER)),
        (OWNER, False, refused(Rule.R1, "confirm", "rights")),
    ],
    ids=["owner_who_attests_owns_it", "other_user_owns_their_own", "no_attestation_no_owner"],
)
def test_owner_of_upload(uploader: uuid.UUID, attested: bool, expect: Expect) -> None:
    check(owner_of_upload(uploader, rights_attested=attested), expect)


def _match(owner: uuid.UUID) -> RegisteredWork:
    return RegisteredWork(work_id=uuid.uuid4(), owner_id=owner)


@table(
    Case("no_match_is_a_new_work", OWNER, allowed(Rule.R1, "new")),
    Case(
        "one_own_match_is_a_variant", OWNER, allowed(Rule.R1, "variant"), matches=(_match(OWNER),)
    ),
    Case(
        "several_own_matches_is_a_variant",
        OWNER,
        allowed(Rule.R1, "variant"),
        matches=(_match(OWNER), _match(OWNER)),
    ),
    Case(
        "maker_cannot_register_the_owners_work",
        MAKER,
        refused(Rule.R1, "already registered", "dispute"),
        matches=(_match(OWNER),),
    ),
    Case(
        "own_and_foreign_match_is_refused",
        OWNER,
        refused(Rule.R1, "dispute"),
        matches=(_match(OWNER), _match(STRANGER)),
    ),
    Case(
        "foreign_match_first_is_refused",
        OWNER,
        refused(Rule.R1, "dispute"),
        matches=(_match(STRANGER), _match(OWNER)),
    ),
    Case(
        "licensee_cannot_register_a_licensed_work",
        LICENSEE,
        refused(Rule.R1, "dispute"),
        matches=(_match(OWNER),),
    ),
)
def test_may_register_artwork(case: Case) -> None:
    check(may_register_artwork(actor(case), list(case.matches)), case.expect)


@table(
    Case("owner_sees_the_full_file", OWNER, allowed(Rule.R1, "own")),
    Case("other_user_refused", MAKER, refused(Rule.R1, "only the owner")),
    Case("licensee_refused", LICENSEE, refused(Rule.R1, "only the owner")),
    Case("anonymous_refused", ANONYMOUS, refused(Rule.R1, "only the owner")),
    Case(
        "owner_of_an_opted_out_work_sees_it",
        OWNER,
        allowed(Rule.R1),
        artwork=OPTED_OUT,
    ),
)
def test_may_view_artwork_file(case: Case) -> None:
    check(may_view_artwork_file(case.actor, case.artwork), case.expect)


# -------------------------------------------------------------------------------------- R2


@table(
    Case("owner_trains_their_model", OWNER, allowed(Rule.R2, "belongs to you", owner_id=OWNER)),
    Case("another_trainer_owns_theirs", MAKER, allowed(Rule.R2, owner_id=MAKER)),
)
def test_owner_of_model(case: Case) -> None:
    check(owner_of_model(actor(case)), case.expect)


NO_LICENSE = refused(Rule.R2, "your own works", "training license")


@table(
    Case("own_work_allowed", OWNER, allowed(Rule.R2, "you own")),
    Case(
        "own_work_allowed_with_unrelated_grants",
        OWNER,
        allowed(Rule.R2),
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING),),
    ),
    Case("another_users_work_refused", MAKER, NO_LICENSE),
    Case(
        "training_grant_from_owner_allowed",
        LICENSEE,
        allowed(Rule.R2, "training license"),
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING),),
    ),
    Case(
        "grant_naming_training_among_others_allowed",
        LICENSEE,
        allowed(Rule.R2),
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.COMMERCIAL, Purpose.AI_TRAINING),),
    ),
    Case(
        "open_ended_training_grant_allowed",
        LICENSEE,
        allowed(Rule.R2),
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, expires_at=None),),
    ),
    Case(
        "grant_starting_now_allowed",
        LICENSEE,
        allowed(Rule.R2),
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, starts_at=NOW),),
    ),
    Case(
        "right_grant_among_wrong_ones_allowed",
        LICENSEE,
        allowed(Rule.R2),
        grants=(
            grant(LICENSEE, ARTWORK.id, Purpose.DERIVATIVE),
            grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING),
        ),
    ),
    Case(
        "commercial_grant_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.COMMERCIAL),),
    ),
    Case(
        "derivative_grant_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.DERIVATIVE),),
    ),
    Case(
        "grant_without_purposes_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id),),
    ),
    Case(
        "expired_training_grant_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, expires_at=NOW - timedelta(1)),),
    ),
    Case(
        "training_grant_expiring_now_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, expires_at=NOW),),
    ),
    Case(
        "training_grant_not_yet_started_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, starts_at=NOW + timedelta(1)),),
    ),
    Case(
        "revoked_training_grant_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, revoked=True),),
    ),
    Case(
        "grant_issued_by_a_non_owner_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, licensor=STRANGER),),
    ),
    Case(
        "grant_issued_to_oneself_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING, licensor=LICENSEE),),
    ),
    Case(
        "grant_for_another_work_refused",
        LICENSEE,
        NO_LICENSE,
        grants=(grant(LICENSEE, OTHER_ARTWORK.id, Purpose.AI_TRAINING),),
    ),
    Case(
        "grant_held_by_someone_else_refused",
        MAKER,
        NO_LICENSE,
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING),),
    ),
    Case(
        "opted_out_work_refused_even_with_a_grant",
        LICENSEE,
        refused(Rule.R2, "opted", "out of training"),
        artwork=OPTED_OUT,
        grants=(grant(LICENSEE, OPTED_OUT.id, Purpose.AI_TRAINING),),
    ),
    Case(
        "opted_out_work_refused_for_another_user",
        MAKER,
        refused(Rule.R2, "opted"),
        artwork=OPTED_OUT,
    ),
    Case(
        "opted_out_work_refused_even_for_its_owner",
        OWNER,
        refused(Rule.R2, "opted", "clear the opt-out"),
        artwork=OPTED_OUT,
    ),
)
def test_may_train_on(case: Case) -> None:
    check(may_train_on(actor(case), case.artwork, list(case.grants), at=case.at), case.expect)


@table(
    Case("empty_set_refused", OWNER, refused(Rule.R2, "at least one")),
    Case("all_own_works_allowed", OWNER, allowed(Rule.R2), artworks=(ARTWORK, OTHER_ARTWORK)),
    Case(
        "all_licensed_works_allowed",
        LICENSEE,
        allowed(Rule.R2, "licensed"),
        artworks=(ARTWORK, OTHER_ARTWORK),
        grants=(
            grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING),
            grant(LICENSEE, OTHER_ARTWORK.id, Purpose.AI_TRAINING),
        ),
    ),
    Case(
        "own_plus_licensed_works_allowed",
        LICENSEE,
        allowed(Rule.R2),
        artworks=(ArtworkFacts(id=uuid.uuid4(), owner_id=LICENSEE), ARTWORK),
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING),),
    ),
    Case(
        "one_unlicensed_work_refused_and_named",
        LICENSEE,
        refused(Rule.R2, str(OTHER_ARTWORK.id), "training license"),
        artworks=(ARTWORK, OTHER_ARTWORK),
        grants=(grant(LICENSEE, ARTWORK.id, Purpose.AI_TRAINING),),
    ),
    Case(
        "another_users_work_refused_and_named",
        MAKER,
        refused(Rule.R2, str(ARTWORK.id)),
        artworks=(ArtworkFacts(id=uuid.uuid4(), owner_id=MAKER), ARTWORK),
    ),
    Case(
        "own_opted_out_work_refused_and_named",
        OWNER,
        refused(Rule.R2, str(OPTED_OUT.id), "opted"),
        artworks=(ARTWORK, OPTED_OUT),
    ),
)
def test_may_train_model(case: Case) -> None:
    decision = may_train_model(actor(case), list(case.artworks), list(case.grants), at=case.at)
    check(decision, case.expect)


# ---------------------------------------------------------------------------------- R3, R4

SOMEONE_ELSES_MODEL = ModelFacts(id=uuid.uuid4(), owner_id=STRANGER, visibility=Visibility.PUBLIC)


@table(
    Case(
        "owner_prompting_own_private_model_owns_it",
        OWNER,
        allowed(Rule.R3, "belong to you", owner_id=OWNER),
        model=PRIVATE_MODEL,
    ),
    Case(
        "owner_prompting_own_public_model_owns_it",
        OWNER,
        allowed(Rule.R3, owner_id=OWNER),
    ),
    Case(
        "another_users_image_with_your_public_model_is_yours",
        MAKER,
        allowed(Rule.R4, "model's owner", "license", owner_id=OWNER),
    ),
    Case(
        "your_image_with_someone_elses_model_is_theirs",
        OWNER,
        allowed(Rule.R4, "model's owner", "license", owner_id=STRANGER),
        model=SOMEONE_ELSES_MODEL,
    ),
    Case(
        "licensee_prompting_is_still_the_owners",
        LICENSEE,
        allowed(Rule.R4, owner_id=OWNER),
    ),
)
def test_owner_of_generation(case: Case) -> None:
    check(owner_of_generation(actor(case), case.model), case.expect)


@table(
    Case("owner_sees_it", OWNER, allowed(Rule.R3, "own")),
    Case("maker_sees_it", MAKER, allowed(Rule.R4, "made", "model's owner")),
    Case("owner_who_made_it_sees_it", OWNER, allowed(Rule.R3), generation=OWN_GENERATION),
    Case("stranger_refused", STRANGER, refused(Rule.R3, "owner", "maker")),
    Case("licensee_without_license_refused", LICENSEE, refused(Rule.R3)),
    Case(
        "licensee_who_did_not_make_it_sees_it",
        LICENSEE,
        allowed(Rule.R8, "license"),
        grants=(grant(LICENSEE, GENERATION.id, Purpose.COMMERCIAL),),
    ),
    Case(
        "expired_license_does_not_show_it",
        LICENSEE,
        refused(Rule.R3),
        grants=(grant(LICENSEE, GENERATION.id, Purpose.COMMERCIAL, expires_at=NOW),),
    ),
    Case("anonymous_refused", ANONYMOUS, refused(Rule.R3)),
    Case(
        "other_user_refused_image_the_owner_made",
        MAKER,
        refused(Rule.R3),
        generation=OWN_GENERATION,
    ),
)
def test_may_view_generation(case: Case) -> None:
    check(may_view_generation(case.actor, case.generation, case.grants, at=NOW), case.expect)


MAKER_MUST_LICENSE = refused(Rule.R4, "belongs to the model's owner", "license it")
NOT_LICENSED = refused(Rule.R8, "owner", "license")
LICENSE_NOT_IN_FORCE = refused(Rule.R8, "not in force", "License the image again")


@table(
    Case("owner_allowed", OWNER, allowed(Rule.R3, "own")),
    Case("owner_who_made_it_allowed", OWNER, allowed(Rule.R3), generation=OWN_GENERATION),
    Case("maker_without_license_refused", MAKER, MAKER_MUST_LICENSE),
    Case(
        "maker_with_license_allowed",
        MAKER,
        allowed(Rule.R8, "license"),
        grants=(grant(MAKER, GENERATION.id, Purpose.PERSONAL),),
    ),
    Case(
        "maker_with_open_ended_license_allowed",
        MAKER,
        allowed(Rule.R8),
        grants=(grant(MAKER, GENERATION.id, Purpose.COMMERCIAL, expires_at=None),),
    ),
    Case(
        "maker_with_license_for_another_image_refused",
        MAKER,
        MAKER_MUST_LICENSE,
        grants=(grant(MAKER, OTHER_GENERATION.id, Purpose.PERSONAL),),
    ),
    Case(
        "maker_with_expired_license_refused",
        MAKER,
        LICENSE_NOT_IN_FORCE,
        grants=(grant(MAKER, GENERATION.id, Purpose.PERSONAL, expires_at=NOW - timedelta(1)),),
    ),
    Case(
        "maker_with_license_not_yet_started_refused",
        MAKER,
        LICENSE_NOT_IN_FORCE,
        grants=(grant(MAKER, GENERATION.id, Purpose.PERSONAL, starts_at=NOW + timedelta(1)),),
    ),
    Case(
        "maker_with_revoked_license_refused",
        MAKER,
        LICENSE_NOT_IN_FORCE,
        grants=(grant(MAKER, GENERATION.id, Purpose.PERSONAL, revoked=True),),
    ),
    Case(
        "maker_with_license_from_a_non_owner_refused",
        MAKER,
        MAKER_MUST_LICENSE,
        grants=(grant(MAKER, GENERATION.id, Purpose.PERSONAL, licensor=STRANGER),),
    ),
    Case(
        "maker_with_someone_elses_license_refused",
        MAKER,
        MAKER_MUST_LICENSE,
        grants=(grant(LICENSEE, GENERATION.id, Purpose.PERSONAL),),
    ),
    Case("stranger_refused", STRANGER, NOT_LICENSED),
    Case(
        "stranger_refused_with_the_makers_license",
        STRANGER,
        NOT_LICENSED,
        grants=(grant(MAKER, GENERATION.id, Purpose.PERSONAL),),
    ),
    Case(
        "licensee_who_did_not_make_it_allowed",
        LICENSEE,
        allowed(Rule.R8, "license"),
        grants=(grant(LICENSEE, GENERATION.id, Purpose.COMMERCIAL),),
    ),
    Case(
        "licensee_with_expired_license_refused",
        LICENSEE,
        LICENSE_NOT_IN_FORCE,
        grants=(grant(LICENSEE, GENERATION.id, Purpose.COMMERCIAL, expires_at=NOW),),
    ),
    Case("anonymous_refused", ANONYMOUS, NOT_LICENSED),
    Case(
        "anonymous_refused_whatever_licenses_exist",
        ANONYMOUS,
        NOT_LICENSED,
        grants=(grant(MAKER, GENERATION.id, Purpose.PERSONAL),),
    ),
)
def test_may_download_generation(case: Case) -> None:
    decision = may_download_generation(case.actor, case.generation, list(case.grants), at=case.at)
    check(decision, case.expect)


def test_license_granting_no_purpose_does_not_unlock_download() -> None:
    empty = grant(MAKER, GENERATION.id)  # in force, right image, right parties, no purposes
    assert not grant_permits(empty, Purpose.PERSONAL, at=NOW).allowed
    check(may_download_generation(MAKER, GENERATION, [empty], at=NOW), MAKER_MUST_LICENSE)


# -------------------------------------------------------------------------------------- R5


@table(
    Case("owner_sees_private_model", OWNER, allowed(Rule.R5, "own"), model=PRIVATE_MODEL),
    Case("owner_sees_public_model", OWNER, allowed(Rule.R5, "own")),
    Case("other_user_sees_public_model", MAKER, allowed(Rule.R5, "public")),
    Case("anonymous_sees_public_model", ANONYMOUS, allowed(Rule.R5, "public")),
    Case(
        "other_user_refused_private_model", MAKER, refused(Rule.R5, "private"), model=PRIVATE_MODEL
    ),
    Case("licensee_refused_private_model", LICENSEE, refused(Rule.R5), model=PRIVATE_MODEL),
    Case("anonymous_refused_private_model", ANONYMOUS, refused(Rule.R5), model=PRIVATE_MODEL),
)
def test_may_view_model(case: Case) -> None:
    check(may_view_model(case.actor, case.model), case.expect)


@table(
    Case("owner_with_private_model", OWNER, allowed(Rule.R3, "belong to you"), model=PRIVATE_MODEL),
    Case("owner_with_public_model", OWNER, allowed(Rule.R3, "belong to you")),
    Case(
        "other_user_with_public_model_told_owner_keeps_images",
        MAKER,
        allowed(Rule.R4, "belong to its owner", "license"),
    ),
    Case(
        "other_user_refused_private_model",
        MAKER,
        refused(Rule.R5, "private"),
        model=PRIVATE_MODEL,
    ),
    Case("licensee_refused_private_model", LICENSEE, refused(Rule.R5), model=PRIVATE_MODEL),
    Case("anonymous_refused_public_model", ANONYMOUS, refused(Rule.R5, "sign in")),
    Case("anonymous_refused_private_model", ANONYMOUS, refused(Rule.R5), model=PRIVATE_MODEL),
)
def test_may_generate(case: Case) -> None:
    check(may_generate(case.actor, case.model), case.expect)


@pytest.mark.parametrize(
    ("user", "acknowledged", "expect"),
    [
        (OWNER, False, allowed(Rule.R3, "your model")),
        (OWNER, True, allowed(Rule.R3)),
        (MAKER, False, refused(Rule.R4, "acknowledge", "belong to the model's owner")),
        (MAKER, True, allowed(Rule.R4, "acknowledged")),
    ],
    ids=["owner_never_asked", "owner_acknowledged", "other_user_asked", "other_user_done"],
)
def test_may_generate_acknowledged(user: uuid.UUID, acknowledged: bool, expect: Expect) -> None:
    check(may_generate_acknowledged(user, PUBLIC_MODEL, acknowledged=acknowledged), expect)


@pytest.mark.parametrize("viewer", [MAKER, STRANGER, ANONYMOUS])
def test_ownership_notice(viewer: uuid.UUID | None) -> None:
    """R3/R4: the owner is told nothing; anyone else, that the images are the owner's."""
    assert ownership_notice(OWNER, PUBLIC_MODEL, "ana") is None
    notice = ownership_notice(viewer, PUBLIC_MODEL, "ana")
    assert notice is not None
    assert (notice.rule, notice.owner_id) == (Rule.R4, OWNER)
    assert "belongs to @ana (R4)" in notice.statement


@table(
    Case("owner_exports_private_model", OWNER, allowed(Rule.R2), model=PRIVATE_MODEL),
    Case("owner_exports_public_model", OWNER, allowed(Rule.R2, "belongs to you")),
    Case("user_of_public_model_cannot_export", MAKER, refused(Rule.R2, "only the model's owner")),
    Case("licensee_cannot_export", LICENSEE, refused(Rule.R2), model=PRIVATE_MODEL),
)
def test_may_export_model(case: Case) -> None:
    check(may_export_model(actor(case), case.model), case.expect)


def test_may_import_model() -> None:
    """R2: an imported model is the importer's only on their word that its works were theirs."""
    attested = may_import_model(OWNER, trained_on_own_works_attested=True)
    unattested = may_import_model(OWNER, trained_on_own_works_attested=False)

    assert attested.allowed and attested.rule == Rule.R2
    assert not unattested.allowed and unattested.rule == Rule.R2
    assert "works you hold the rights to" in unattested.reason


@table(
    Case("owner_publishes", OWNER, allowed(Rule.R5, "owner's choice"), model=PRIVATE_MODEL),
    Case("owner_unpublishes", OWNER, allowed(Rule.R5)),
    Case("other_user_cannot_unpublish", MAKER, refused(Rule.R5, "only the model's owner")),
    Case(
        "other_user_cannot_publish",
        MAKER,
        refused(Rule.R5, "only the model's owner"),
        model=PRIVATE_MODEL,
    ),
    Case("licensee_cannot_publish", LICENSEE, refused(Rule.R5), model=PRIVATE_MODEL),
)
def test_may_change_model_visibility(case: Case) -> None:
    check(may_change_model_visibility(actor(case), case.model), case.expect)


def test_unpublishing_keeps_ownership_of_earlier_images() -> None:
    """R5: images made while public stay the owner's; new generations stop for others only."""
    # 1. While public, another user generates: allowed, and the image is the owner's.
    check(may_generate(MAKER, PUBLIC_MODEL), allowed(Rule.R4))
    while_public = owner_of_generation(MAKER, PUBLIC_MODEL)
    check(while_public, allowed(Rule.R4, owner_id=OWNER))
    recorded = GenerationFacts(
        id=uuid.uuid4(),
        model_id=PUBLIC_MODEL.id,
        owner_id=OWNER,
        maker_id=MAKER,
    )
    license_bought_while_public = grant(MAKER, recorded.id, Purpose.PERSONAL)

    # 2. The owner unpublishes.
    check(may_change_model_visibility(OWNER, PUBLIC_MODEL), allowed(Rule.R5))
    unpublished = replace(PUBLIC_MODEL, visibility=Visibility.PRIVATE)

    # 3. Ownership is unchanged, and matches what was recorded.
    after = owner_of_generation(MAKER, unpublished)
    assert after.owner_id == while_public.owner_id == recorded.owner_id == OWNER
    assert after.rule is while_public.rule is Rule.R4

    # 4. Owner and maker still see the image; the maker's license still works.
    check(may_view_generation(MAKER, recorded), allowed(Rule.R4))
    check(may_view_generation(OWNER, recorded), allowed(Rule.R3))
    check(
        may_download_generation(MAKER, recorded, [license_bought_while_public], at=NOW),
        allowed(Rule.R8),
    )
    check(may_download_generation(OWNER, recorded, [], at=NOW), allowed(Rule.R3))

    # 5. New generations stop for the maker but not for the owner.
    check(may_generate(MAKER, unpublished), refused(Rule.R5, "private"))
    check(may_generate(OWNER, unpublished), allowed(Rule.R3))
    check(platform_may_sell(unpublished), refused(Rule.R7))


# ---------------------------------------------------------------------------------- R6, R7


@table(
    Case("owner_sets_offer", OWNER, allowed(Rule.R6, "own price")),
    Case("maker_refused", MAKER, refused(Rule.R6, "only the owner")),
    Case("licensee_refused", LICENSEE, refused(Rule.R6, "only the owner")),
    Case("stranger_refused", STRANGER, refused(Rule.R6)),
)
def test_may_set_offer(case: Case) -> None:
    check(may_set_offer(actor(case), OWNER), case.expect)


@pytest.mark.parametrize(
    ("model", "expect"),
    [
        (PUBLIC_MODEL, allowed(Rule.R7, "public")),
        (PRIVATE_MODEL, refused(Rule.R7, "public models")),
    ],
    ids=["public_model_allowed", "private_model_refused"],
)
def test_platform_may_sell(model: ModelFacts, expect: Expect) -> None:
    check(platform_may_sell(model), expect)


# The licenses granted on GENERATION, as `licenses` arguments see them.
LICENSED = grant(MAKER, GENERATION.id, Purpose.PERSONAL)
LICENSED_EXCLUSIVELY = grant(MAKER, GENERATION.id, Purpose.COMMERCIAL, exclusive=True)
IS_EXCLUSIVE = refused(Rule.R8, "licensed exclusively")
ALREADY_LICENSED = refused(Rule.R8, "already holds a license", "cannot be licensed exclusively")


@table(
    Case("no_license_leaves_an_offer_open", None, allowed(Rule.R8, "no exclusive")),
    Case(
        "no_license_allows_an_exclusive_one",
        None,
        allowed(Rule.R8, "alone"),
        offer=EXCLUSIVE_OFFER,
    ),
    Case(
        "a_license_leaves_other_offers_open",
        None,
        allowed(Rule.R8),
        grants=(LICENSED,),
    ),
    Case(
        "a_license_closes_an_exclusive_offer",
        None,
        ALREADY_LICENSED,
        offer=EXCLUSIVE_OFFER,
        grants=(LICENSED,),
    ),
    Case(
        "an_exclusive_license_closes_a_direct_offer",
        None,
        IS_EXCLUSIVE,
        grants=(LICENSED_EXCLUSIVELY,),
    ),
    Case(
        "an_exclusive_license_closes_a_model_wide_offer",
        None,
        IS_EXCLUSIVE,
        offer=MODEL_WIDE_OFFER,
        grants=(LICENSED, LICENSED_EXCLUSIVELY),
    ),
    Case(
        "an_exclusive_license_closes_a_second_exclusive_offer",
        None,
        IS_EXCLUSIVE,
        offer=EXCLUSIVE_OFFER,
        grants=(LICENSED_EXCLUSIVELY,),
    ),
    Case(
        "an_expired_exclusive_license_still_closes_the_image",
        None,
        IS_EXCLUSIVE,
        grants=(replace(LICENSED_EXCLUSIVELY, expires_at=NOW - timedelta(days=1)),),
    ),
    Case(
        "a_revoked_exclusive_license_closes_nothing",
        None,
        allowed(Rule.R8),
        grants=(replace(LICENSED_EXCLUSIVELY, revoked=True),),
    ),
    Case(
        "a_revoked_license_does_not_close_an_exclusive_offer",
        None,
        allowed(Rule.R8, "alone"),
        offer=EXCLUSIVE_OFFER,
        grants=(replace(LICENSED, revoked=True),),
    ),
    Case(
        "an_exclusive_license_on_another_image_closes_nothing",
        None,
        allowed(Rule.R8, "alone"),
        offer=EXCLUSIVE_OFFER,
        grants=(grant(MAKER, OTHER_GENERATION.id, Purpose.PERSONAL, exclusive=True),),
    ),
)
def test_exclusivity_permits(case: Case) -> None:
    check(exclusivity_permits(case.generation, case.offer, case.grants), case.expect)


@table(
    Case("direct_offer_open", None, allowed(Rule.R6, "directly")),
    Case(
        "model_wide_offer_of_public_model_open",
        None,
        allowed(Rule.R7, "behalf"),
        offer=MODEL_WIDE_OFFER,
    ),
    Case(
        "model_wide_offer_of_private_model_closed",
        None,
        refused(Rule.R7, "not published", "ask the owner"),
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
    ),
    Case("direct_offer_of_private_model_open", None, allowed(Rule.R6), model=PRIVATE_MODEL),
    Case("withdrawn_offer_closed", None, refused(Rule.R6, "withdrew"), offer=WITHDRAWN_OFFER),
    Case(
        "exclusive_license_closes_direct_offer",
        None,
        IS_EXCLUSIVE,
        grants=(LICENSED_EXCLUSIVELY,),
    ),
    Case(
        "exclusive_license_closes_model_wide_offer",
        None,
        IS_EXCLUSIVE,
        offer=MODEL_WIDE_OFFER,
        grants=(LICENSED_EXCLUSIVELY,),
    ),
    Case(
        "license_closes_exclusive_model_wide_offer",
        None,
        ALREADY_LICENSED,
        offer=EXCLUSIVE_MODEL_WIDE_OFFER,
        grants=(LICENSED,),
    ),
    Case(
        "exclusive_offer_open_before_any_license",
        None,
        allowed(Rule.R6),
        offer=EXCLUSIVE_OFFER,
    ),
)
def test_may_take_offer(case: Case) -> None:
    check(may_take_offer(case.generation, case.model, case.offer, case.grants), case.expect)


@table(
    Case(
        "maker_buys_platform_offer_of_public_model",
        MAKER,
        allowed(Rule.R7, "behalf"),
        offer=MODEL_WIDE_OFFER,
    ),
    Case("stranger_buys_owners_direct_offer", STRANGER, allowed(Rule.R6, "directly")),
    Case(
        "platform_cannot_sell_for_unpublished_model",
        MAKER,
        refused(Rule.R7, "not published", "ask the owner"),
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
    ),
    Case(
        "owner_may_sell_directly_after_unpublishing",
        MAKER,
        allowed(Rule.R6),
        model=PRIVATE_MODEL,
    ),
    Case(
        "near_copy_not_sold_by_platform",
        MAKER,
        refused(Rule.R11, "too close"),
        generation=NEAR_COPY,
        offer=MODEL_WIDE_OFFER,
    ),
    Case("near_copy_not_sold_by_owner", MAKER, refused(Rule.R11), generation=NEAR_COPY),
    Case("cleared_near_copy_sold", MAKER, allowed(Rule.R6), generation=CLEARED_NEAR_COPY),
    Case("owner_cannot_buy_own_image", OWNER, refused(Rule.R3, "you own")),
    Case(
        "owner_cannot_buy_own_image_whatever_its_licenses",
        OWNER,
        refused(Rule.R3, "you own"),
        grants=(LICENSED_EXCLUSIVELY,),
    ),
    Case("withdrawn_offer_not_sold", STRANGER, refused(Rule.R6, "withdrew"), offer=WITHDRAWN_OFFER),
    Case(
        "second_buyer_refused_while_an_exclusive_license_is_held",
        STRANGER,
        IS_EXCLUSIVE,
        grants=(LICENSED_EXCLUSIVELY,),
    ),
    Case(
        "exclusive_holder_cannot_buy_again",
        MAKER,
        IS_EXCLUSIVE,
        offer=MODEL_WIDE_OFFER,
        grants=(LICENSED_EXCLUSIVELY,),
    ),
    Case(
        "exclusive_license_not_sold_over_a_license",
        STRANGER,
        ALREADY_LICENSED,
        offer=EXCLUSIVE_OFFER,
        grants=(LICENSED,),
    ),
    Case(
        "exclusive_license_sold_to_the_first_buyer",
        STRANGER,
        allowed(Rule.R6),
        offer=EXCLUSIVE_OFFER,
    ),
    Case(
        "near_copy_refusal_comes_before_exclusivity",
        STRANGER,
        refused(Rule.R11),
        generation=NEAR_COPY,
        grants=(LICENSED_EXCLUSIVELY,),
    ),
)
def test_may_buy_license(case: Case) -> None:
    decision = may_buy_license(actor(case), case.generation, case.model, case.offer, case.grants)
    check(decision, case.expect)


PRIVATE_OFFERS = refused(Rule.R5, "private", "owner", "maker", "licensees")


@table(
    Case(
        "owner_sees_model_wide_offer_of_private_model",
        OWNER,
        allowed(Rule.R3),
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
    ),
    Case(
        "maker_sees_model_wide_offer_of_private_model",
        MAKER,
        allowed(Rule.R4),
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
    ),
    Case(
        "licensee_sees_model_wide_offer_of_private_model",
        LICENSEE,
        allowed(Rule.R8),
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
        grants=(grant(LICENSEE, GENERATION.id, Purpose.PERSONAL),),
    ),
    Case(
        "stranger_refused_model_wide_offer_of_private_model",
        STRANGER,
        PRIVATE_OFFERS,
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
    ),
    Case(
        "expired_licensee_refused_model_wide_offer_of_private_model",
        LICENSEE,
        PRIVATE_OFFERS,
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
        grants=(grant(LICENSEE, GENERATION.id, Purpose.PERSONAL, expires_at=NOW),),
    ),
    Case(
        "anonymous_refused_model_wide_offer_of_private_model",
        ANONYMOUS,
        PRIVATE_OFFERS,
        model=PRIVATE_MODEL,
        offer=MODEL_WIDE_OFFER,
    ),
    Case(
        "stranger_sees_model_wide_offer_of_public_model",
        STRANGER,
        allowed(Rule.R7, "public"),
        offer=MODEL_WIDE_OFFER,
    ),
    Case(
        "stranger_sees_direct_offer_of_private_model",
        STRANGER,
        allowed(Rule.R6, "owner offers"),
        model=PRIVATE_MODEL,
    ),
    Case("stranger_sees_direct_offer_of_public_model", STRANGER, allowed(Rule.R6)),
)
def test_may_view_offer(case: Case) -> None:
    decision = may_view_offer(
        case.actor, case.generation, case.model, case.offer, case.grants, at=case.at
    )
    check(decision, case.expect)


ONLY_ITS_PARTIES = refused(Rule.R8, "only the owner", "holder")


@table(
    Case("licensor_sees_it", OWNER, allowed(Rule.R8, "granted"), grants=(LICENSED,)),
    Case("licensee_sees_it", MAKER, allowed(Rule.R8, "hold"), grants=(LICENSED,)),
    Case(
        "licensee_sees_a_revoked_one",
        MAKER,
        allowed(Rule.R8),
        grants=(replace(LICENSED, revoked=True),),
    ),
    Case(
        "licensee_sees_an_expired_one",
        MAKER,
        allowed(Rule.R8),
        grants=(replace(LICENSED, expires_at=NOW - timedelta(days=1)),),
    ),
    Case("another_licensee_refused", LICENSEE, ONLY_ITS_PARTIES, grants=(LICENSED,)),
    Case("stranger_refused", STRANGER, ONLY_ITS_PARTIES, grants=(LICENSED,)),
    Case("anonymous_refused", ANONYMOUS, ONLY_ITS_PARTIES, grants=(LICENSED,)),
)
def test_may_view_license(case: Case) -> None:
    [license_] = case.grants
    check(may_view_license(case.actor, license_), case.expect)


@dataclass(frozen=True)
class Split:
    """One row of the proceeds table."""

    name: str
    price: int
    channel: SaleChannel
    fee_bps: int
    owner: int
    platform: int
    rule: Rule


SPLITS: Sequence[Split] = (
    Split("owner_sale_keeps_everything", 1000, SaleChannel.OWNER, 2000, 1000, 0, Rule.R6),
    Split("owner_sale_ignores_full_fee", 999, SaleChannel.OWNER, 10_000, 999, 0, Rule.R6),
    Split("owner_sale_of_nothing", 0, SaleChannel.OWNER, 2000, 0, 0, Rule.R6),
    Split("platform_20pct_of_999", 999, SaleChannel.PLATFORM, 2000, 800, 199, Rule.R7),
    Split("platform_20pct_of_1000", 1000, SaleChannel.PLATFORM, 2000, 800, 200, Rule.R7),
    Split("platform_fee_rounds_down", 9999, SaleChannel.PLATFORM, 1, 9999, 0, Rule.R7),
    Split("platform_no_fee", 500, SaleChannel.PLATFORM, 0, 500, 0, Rule.R7),
    Split("platform_full_fee", 500, SaleChannel.PLATFORM, 10_000, 0, 500, Rule.R7),
    Split("platform_sale_of_nothing", 0, SaleChannel.PLATFORM, 2000, 0, 0, Rule.R7),
)


@pytest.mark.parametrize("row", SPLITS, ids=[row.name for row in SPLITS])
def test_split_proceeds(row: Split) -> None:
    split = split_proceeds(row.price, row.channel, platform_fee_bps=row.fee_bps)
    assert (split.price_minor, split.owner_minor, split.platform_minor) == (
        row.price,
        row.owner,
        row.platform,
    )
    assert split.owner_minor + split.platform_minor == split.price_minor
    assert all(isinstance(part, int) for part in (split.owner_minor, split.platform_minor))
    assert split.rule is row.rule


@pytest.mark.parametrize("channel", list(SaleChannel), ids=[c.value for c in SaleChannel])
@pytest.mark.parametrize(
    ("price", "fee_bps", "message"),
    [(-1, 2000, "negative"), (1000, -1, "basis points"), (1000, 10_001, "basis points")],
    ids=["negative_price", "negative_fee", "fee_above_100pct"],
)
def test_split_proceeds_refuses_invalid_input(
    channel: SaleChannel, price: int, fee_bps: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        split_proceeds(price, channel, platform_fee_bps=fee_bps)


@given(
    price=st.integers(min_value=0, max_value=10**9),
    fee_bps=st.integers(min_value=0, max_value=10_000),
    channel=st.sampled_from(SaleChannel),
)
def test_split_proceeds_always_adds_up(price: int, fee_bps: int, channel: SaleChannel) -> None:
    split = split_proceeds(price, channel, platform_fee_bps=fee_bps)
    assert split.price_minor == price
    assert split.owner_minor + split.platform_minor == price
    assert split.owner_minor >= 0
    assert split.platform_minor >= 0
    if channel is SaleChannel.OWNER:
        assert split.platform_minor == 0
        assert split.rule is Rule.R6
    else:
        assert split.platform_minor <= price * fee_bps / 10_000
        assert split.rule is Rule.R7


# -------------------------------------------------------------------------------------- R8

EVERY_USE = tuple(Purpose)


@pytest.mark.parametrize(
    ("generation", "license_"),
    [
        (GENERATION, grant(MAKER, GENERATION.id, Purpose.PERSONAL)),
        (GENERATION, grant(MAKER, GENERATION.id, *EVERY_USE, expires_at=None)),
        (GENERATION, grant(LICENSEE, GENERATION.id, Purpose.COMMERCIAL, Purpose.MERCHANDISE)),
        (OWN_GENERATION, grant(LICENSEE, OWN_GENERATION.id, Purpose.DERIVATIVE)),
        (GENERATION, grant(MAKER, GENERATION.id, *EVERY_USE, licensor=STRANGER)),
    ],
    ids=[
        "maker_licenses_personal_use",
        "maker_licenses_every_use_forever",
        "licensee_licenses_commercial_use",
        "licensee_licenses_tracing_of_owners_own_image",
        "license_from_a_non_owner",
    ],
)
def test_owner_after_license(generation: GenerationFacts, license_: UsageGrant) -> None:
    decision = owner_after_license(generation, license_)
    check(decision, allowed(Rule.R8, "never", "ownership", owner_id=generation.owner_id))
    assert decision.owner_id != license_.licensee_id


COMMERCIAL_LICENSE = grant(MAKER, GENERATION.id, Purpose.PERSONAL, Purpose.COMMERCIAL)
NOT_IN_FORCE = refused(Rule.R8, "not in force")


@dataclass(frozen=True)
class Permit:
    """One row of the grant_permits table."""

    name: str
    grant: UsageGrant
    purpose: Purpose
    at: datetime
    expect: Expect


PERMITS: Sequence[Permit] = (
    Permit(
        "named_personal", COMMERCIAL_LICENSE, Purpose.PERSONAL, NOW, allowed(Rule.R8, "personal")
    ),
    Permit(
        "named_commercial",
        COMMERCIAL_LICENSE,
        Purpose.COMMERCIAL,
        NOW,
        allowed(Rule.R8, "commercial"),
    ),
    Permit(
        "unnamed_editorial",
        COMMERCIAL_LICENSE,
        Purpose.EDITORIAL,
        NOW,
        refused(Rule.R8, "does not grant", "editorial"),
    ),
    Permit(
        "unnamed_merchandise",
        COMMERCIAL_LICENSE,
        Purpose.MERCHANDISE,
        NOW,
        refused(Rule.R8, "does not grant"),
    ),
    Permit(
        "unnamed_tracing",
        COMMERCIAL_LICENSE,
        Purpose.DERIVATIVE,
        NOW,
        refused(Rule.R8, "does not grant", "derivative"),
    ),
    Permit(
        "unnamed_ai_training",
        COMMERCIAL_LICENSE,
        Purpose.AI_TRAINING,
        NOW,
        refused(Rule.R8, "does not grant"),
    ),
    Permit("from_its_start", COMMERCIAL_LICENSE, Purpose.PERSONAL, START, allowed(Rule.R8)),
    Permit(
        "just_before_expiry",
        COMMERCIAL_LICENSE,
        Purpose.PERSONAL,
        END - timedelta(microseconds=1),
        allowed(Rule.R8),
    ),
    Permit("at_expiry", COMMERCIAL_LICENSE, Purpose.PERSONAL, END, NOT_IN_FORCE),
    Permit(
        "after_expiry",
        COMMERCIAL_LICENSE,
        Purpose.PERSONAL,
        END + timedelta(days=1),
        NOT_IN_FORCE,
    ),
    Permit(
        "before_start",
        COMMERCIAL_LICENSE,
        Purpose.PERSONAL,
        START - timedelta(seconds=1),
        NOT_IN_FORCE,
    ),
    Permit(
        "revoked",
        replace(COMMERCIAL_LICENSE, revoked=True),
        Purpose.PERSONAL,
        NOW,
        NOT_IN_FORCE,
    ),
    Permit(
        "expired_and_unnamed_says_not_in_force",
        COMMERCIAL_LICENSE,
        Purpose.EDITORIAL,
        END,
        NOT_IN_FORCE,
    ),
    Permit(
        "open_ended_years_later",
        grant(MAKER, GENERATION.id, Purpose.EDITORIAL, starts_at=None, expires_at=None),
        Purpose.EDITORIAL,
        datetime(2090, 1, 1, tzinfo=UTC),
        allowed(Rule.R8, "editorial"),
    ),
    Permit(
        "no_purposes_grants_nothing",
        grant(MAKER, GENERATION.id),
        Purpose.PERSONAL,
        NOW,
        refused(Rule.R8, "does not grant"),
    ),
)


@pytest.mark.parametrize("row", PERMITS, ids=[row.name for row in PERMITS])
def test_grant_permits(row: Permit) -> None:
    check(grant_permits(row.grant, row.purpose, at=row.at), row.expect)


@pytest.mark.parametrize("purpose", EVERY_USE, ids=[p.value for p in EVERY_USE])
def test_grant_permits_exactly_the_named_purposes(purpose: Purpose) -> None:
    only_this = grant(MAKER, GENERATION.id, purpose)
    for other in Purpose:
        decision = grant_permits(only_this, other, at=NOW)
        assert decision.allowed is (other is purpose), (purpose, other)
        assert decision.rule is Rule.R8


@table(
    Case("owner_trains_on_own_opted_out_image", OWNER, allowed(Rule.R3, "yours")),
    Case("maker_refused_when_opted_out", MAKER, refused(Rule.R2, "opted this image out")),
    Case("stranger_refused_when_opted_out", STRANGER, refused(Rule.R2, "nobody else")),
    Case("anonymous_refused_when_opted_out", ANONYMOUS, refused(Rule.R2, "opted")),
    Case(
        "licensee_refused_when_opted_out_whatever_the_license",
        LICENSEE,
        refused(Rule.R2, "opted"),
        grants=(grant(LICENSEE, GENERATION.id, Purpose.AI_TRAINING),),
    ),
)
def test_may_train_on_generation(case: Case) -> None:
    check(may_train_on_generation(case.actor, case.generation, opted_out=True), case.expect)


def test_an_image_not_opted_out_still_needs_a_training_license() -> None:
    decision = may_train_on_generation(MAKER, GENERATION, opted_out=False)

    check(decision, allowed(Rule.R2, "training license", "still needed"))


# -------------------------------------------------------------------------------------- R9


@pytest.mark.parametrize(
    ("keeps", "derivative", "expect"),
    [
        (False, True, refused(Rule.R9, "derivative", "without its AI disclosure", "ingredient")),
        (False, False, refused(Rule.R9, "Hallmark image", "without its AI disclosure")),
        (True, True, allowed(Rule.R9, "derivative", "kept")),
        (True, False, allowed(Rule.R9, "kept")),
    ],
    ids=["derivative_stripped", "republished_stripped", "derivative_kept", "republished_kept"],
)
def test_disclosure_permits(keeps: bool, derivative: bool, expect: Expect) -> None:
    check(disclosure_permits(keeps, derivative=derivative), expect)


# ------------------------------------------------------------------------------------- R11


@table(
    Case("owner_publishes_clean_image", OWNER, allowed(Rule.R11)),
    Case(
        "owner_blocked_by_uncleared_near_copy",
        OWNER,
        refused(Rule.R11, "too close", "clear"),
        generation=NEAR_COPY,
    ),
    Case(
        "owner_publishes_cleared_near_copy", OWNER, allowed(Rule.R11), generation=CLEARED_NEAR_COPY
    ),
    Case("maker_cannot_publish", MAKER, refused(Rule.R3, "only the image's owner")),
    Case(
        "maker_cannot_publish_cleared_near_copy",
        MAKER,
        refused(Rule.R3),
        generation=CLEARED_NEAR_COPY,
    ),
    Case("stranger_cannot_publish", STRANGER, refused(Rule.R3)),
)
def test_may_publish_generation(case: Case) -> None:
    check(may_publish_generation(actor(case), case.generation), case.expect)


@pytest.mark.parametrize(
    ("generation", "expect"),
    [
        (GENERATION, allowed(Rule.R11)),
        (NEAR_COPY, refused(Rule.R11, "too close", "cannot be licensed", "clears")),
        (CLEARED_NEAR_COPY, allowed(Rule.R11)),
        (replace(OWN_GENERATION, near_copy_cleared=True), allowed(Rule.R11)),
    ],
    ids=["clean_image", "uncleared_near_copy", "cleared_near_copy", "clean_with_stale_flag"],
)
def test_may_license_generation(generation: GenerationFacts, expect: Expect) -> None:
    check(may_license_generation(generation), expect)


@table(
    Case("owner_with_reason", OWNER, allowed(Rule.R11, "reason"), text="My own earlier work."),
    Case("owner_with_empty_reason", OWNER, refused(Rule.R11, "give a reason"), text=""),
    Case("owner_with_blank_reason", OWNER, refused(Rule.R11, "give a reason"), text=" \t\n "),
    Case("maker_refused", MAKER, refused(Rule.R11, "only the image's owner"), text="Looks fine."),
    Case("stranger_refused", STRANGER, refused(Rule.R11, "only"), text="Looks fine."),
    Case("maker_refused_even_without_reason", MAKER, refused(Rule.R11, "owner"), text=""),
)
def test_may_clear_near_copy(case: Case) -> None:
    check(may_clear_near_copy(actor(case), NEAR_COPY, case.text), case.expect)


def test_clearing_an_unflagged_image_is_refused() -> None:
    check(
        may_clear_near_copy(OWNER, GENERATION, "nothing to clear"),
        refused(Rule.R11, "not flagged"),
    )


def test_clearing_a_near_copy_unblocks_publish_and_license() -> None:
    """R11 end to end: flagged blocks both, the owner clears with a reason, then both pass."""
    check(may_publish_generation(OWNER, NEAR_COPY), refused(Rule.R11))
    check(may_license_generation(NEAR_COPY), refused(Rule.R11))
    check(may_clear_near_copy(OWNER, NEAR_COPY, "Traced from my own sketch."), allowed(Rule.R11))
    cleared = replace(NEAR_COPY, near_copy_cleared=True)
    check(may_publish_generation(OWNER, cleared), allowed(Rule.R11))
    check(may_license_generation(cleared), allowed(Rule.R11))


# ------------------------------------------------------------------------- every rule covered


def test_every_public_rule_function_is_tested() -> None:
    import hallmark.rights as rights

    functions = {
        name for name in rights.__all__ if callable(getattr(rights, name)) and name[0].islower()
    }
    names = set(globals())
    for module in pkgutil.iter_modules(tests.rights.__path__):  # rules tested in sibling modules
        names |= set(vars(importlib.import_module(f"tests.rights.{module.name}")))
    tested = {name.removeprefix("test_") for name in names if name.startswith("test_")}
    assert functions <= tested, functions - tested
