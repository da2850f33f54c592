"""The rights advisor as a table: Hallmark images and other services' images, dated terms (R10)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hallmark.rights import (
    GenerationFacts,
    LicenseTerm,
    ModelFacts,
    Purpose,
    Rule,
    UsageGrant,
    Visibility,
)
from hallmark.rights.advisor import (
    NOTHING_SAID,
    Action,
    Answer,
    ExternalImage,
    HallmarkImage,
    UseDetails,
    advise,
    may_use_under_service_terms,
)
from hallmark.rights.policies import Outcome, PolicyError, load_policies, parse_policy

A, B, C, D = (uuid.uuid4() for _ in range(4))  # A owns the model; B made the image; C licensed
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
PUBLIC = ModelFacts(uuid.uuid4(), A, Visibility.PUBLIC)
MADE_BY_B = GenerationFacts(uuid.uuid4(), PUBLIC.id, owner_id=A, maker_id=B)
LICENSE_C = UsageGrant(
    A,
    C,
    MADE_BY_B.id,
    frozenset({Purpose.COMMERCIAL, Purpose.DERIVATIVE}),
    starts_at=NOW - timedelta(days=1),
    expires_at=NOW + timedelta(days=30),
)
HALLMARK = HallmarkImage(MADE_BY_B, PUBLIC, "ana", grants=(LICENSE_C,))
UNPUBLISHED = replace(HALLMARK, model=replace(PUBLIC, visibility=Visibility.PRIVATE))
NEAR_COPY = replace(HALLMARK, generation=replace(MADE_BY_B, near_copy=True))
# C's license with every term set: US only, at most 500,000 copies, the owner credited.
US_ONLY_C = replace(
    LICENSE_C,
    purposes=frozenset({Purpose.PERSONAL, Purpose.COMMERCIAL, Purpose.EDITORIAL}),
    territory="US",
    max_copies=500_000,
    attribution_required=True,
)
TERMS_SET = replace(HALLMARK, grants=(US_ONLY_C,))
TRAINING_C = replace(LICENSE_C, purposes=frozenset({Purpose.AI_TRAINING}))
OPTED_OUT = replace(HALLMARK, grants=(TRAINING_C,), training_mining="notAllowed")
TRAINING_ALLOWED = replace(OPTED_OUT, training_mining="allowed")
IN_FRANCE = UseDetails(territory="FR")
IN_THE_US = UseDetails(territory="US")
AFTER_THE_END = UseDetails(on=date(2027, 1, 10))  # C's licenses end on 2026-12-24
BEFORE_THE_END = UseDetails(on=date(2026, 12, 20))
PRINT_RUN_OVER = UseDetails(copies=600_000)
PRINT_RUN_UNDER = UseDetails(territory="US", copies=400_000, credit_given=True)
NO_CREDIT = UseDetails(credit_given=False)
STRIPPED = UseDetails(keeps_disclosure=False)
LORA_OF_IT = UseDetails(trains_derivative=True)
OTHER_MODEL = UseDetails(trains_derivative=False)

MJ_MINE = ExternalImage("midjourney", date(2024, 5, 1), generated_by_asker=True, plan="standard")
MJ_THEIRS = replace(MJ_MINE, generated_by_asker=False)
MJ_BIG = replace(MJ_MINE, asker_revenue_over_1m=True)
MJ_BIG_PRO = replace(MJ_BIG, plan="pro")
MJ_NO_PLAN = replace(MJ_MINE, plan=None)
OPENAI_MINE = ExternalImage("openai", date(2025, 3, 1), generated_by_asker=True)
STABILITY_2023 = ExternalImage("stability-hosted", date(2023, 6, 1), generated_by_asker=True)
STABILITY_2026 = replace(STABILITY_2023, made_on=date(2026, 1, 10))
SD15 = ExternalImage("stable-diffusion-openrail", date(2023, 2, 1), generated_by_asker=True)
MJ_TRIAL_2022 = ExternalImage("midjourney", date(2022, 10, 1), generated_by_asker=True, plan="free")
MJ_PAID_2022 = replace(MJ_TRIAL_2022, plan="standard")
MJ_BIG_2022 = replace(MJ_PAID_2022, asker_revenue_over_1m=True)
COMMUNITY = ExternalImage("stability-community", date(2025, 1, 1), generated_by_asker=True)
COMMUNITY_BIG = replace(COMMUNITY, asker_revenue_over_1m=True)
COMMUNITY_SMALL = replace(COMMUNITY, asker_revenue_over_1m=False)
FIREFLY = ExternalImage("adobe-firefly", date(2025, 2, 1), generated_by_asker=True)
UNKNOWN = ExternalImage("unknown")
WHO_KNOWS = replace(MJ_MINE, generated_by_asker=None)
REFUSES_TRAINING = replace(OPENAI_MINE, training_mining="notAllowed")

ALLOWED = Outcome.ALLOWED
WITH = Outcome.ALLOWED_WITH_CONDITIONS
NO = Outcome.NOT_ALLOWED
UNSURE = Outcome.UNKNOWN


@dataclass(frozen=True)
class Case:
    """One question and the answer it must get; `words` must appear in the answer's text."""

    name: str
    image: Any
    asker: uuid.UUID | None
    action: Action
    outcome: Outcome
    words: tuple[str, ...] = ()
    details: UseDetails = NOTHING_SAID
    term: LicenseTerm | None = None  # the license term that must have decided it


CASES = [
    # Hallmark: the owner of the model owns every image made with it (R3/R4).
    Case("owner_sells_image_b_made", HALLMARK, A, Action.SELL, WITH, ("R6", "credentials")),
    Case("owner_traces_own_image", HALLMARK, A, Action.TRACE, WITH, ("R3", "hallmark derive")),
    Case("owner_trains_on_own_image", HALLMARK, A, Action.TRAIN, ALLOWED, ("R3",)),
    Case("owner_publishes", HALLMARK, A, Action.PUBLISH, ALLOWED, ("R11",)),
    Case("maker_may_view", HALLMARK, B, Action.VIEW, ALLOWED, ("R4",)),
    Case("maker_must_license_to_sell", HALLMARK, B, Action.SELL, NO, ("@ana", "R6")),
    Case(
        "maker_must_license_commercial",
        HALLMARK,
        B,
        Action.COMMERCIAL_USE,
        NO,
        ("R4", "Buy a license from @ana"),
    ),
    Case("maker_must_license_to_trace", HALLMARK, B, Action.TRACE, NO, ("R4",)),
    Case("maker_cannot_publish", HALLMARK, B, Action.PUBLISH, NO, ("R3",)),
    Case("maker_keeps_it_private", HALLMARK, B, Action.KEEP_PRIVATE, ALLOWED, ("private",)),
    Case("after_unpublishing_still_a_s", UNPUBLISHED, B, Action.SELL, NO, ("@ana",)),
    Case("after_unpublishing_owner_sells", UNPUBLISHED, A, Action.SELL, WITH, ("R6",)),
    Case(
        "licensee_commercial_use",
        HALLMARK,
        C,
        Action.COMMERCIAL_USE,
        WITH,
        ("R8", "only until the license ends on 2026-12-24"),
    ),
    Case(
        "licensee_derivative_keeps_disclosure",
        HALLMARK,
        C,
        Action.MODIFY,
        WITH,
        ("R8", "hallmark derive"),
    ),
    Case("licensee_no_merchandise", HALLMARK, C, Action.MERCHANDISE, NO, ("R8", "merchandise")),
    Case("licensee_cannot_resell", HALLMARK, C, Action.SELL, NO, ("never the", "resell")),
    Case("stranger_cannot_view", HALLMARK, D, Action.VIEW, NO, ("R3",)),
    Case("stranger_cannot_train", HALLMARK, D, Action.TRAIN, NO, ("R8",)),
    Case("anonymous_cannot_view", HALLMARK, None, Action.VIEW, NO, ()),
    Case("near_copy_not_sold", NEAR_COPY, A, Action.SELL, NO, ("R11", "too close")),
    Case("near_copy_not_published", NEAR_COPY, A, Action.PUBLISH, NO, ("R11",)),
    # A license's terms, one by one (R8): each refusal names the term that decided it.
    Case(
        "commercial_in_france_under_a_us_license",
        TERMS_SET,
        C,
        Action.COMMERCIAL_USE,
        NO,
        ("R8", "covers US only", "FR"),
        IN_FRANCE,
        LicenseTerm.TERRITORY,
    ),
    Case(
        "commercial_in_the_us_keeps_the_other_terms",
        TERMS_SET,
        C,
        Action.COMMERCIAL_USE,
        WITH,
        ("at most 500,000", "credit the image's owner"),
        IN_THE_US,
    ),
    Case(
        "terms_unsaid_become_conditions",
        TERMS_SET,
        C,
        Action.COMMERCIAL_USE,
        WITH,
        ("only in US", "at most 500,000", "credit"),
    ),
    Case(
        "print_600000_under_a_500000_cap",
        TERMS_SET,
        C,
        Action.PRINT,
        NO,
        ("R8", "500,000", "600,000 is over the cap"),
        PRINT_RUN_OVER,
        LicenseTerm.COPY_CAP,
    ),
    Case(
        "print_400000_in_the_us_with_credit",
        TERMS_SET,
        C,
        Action.PRINT,
        WITH,
        ("until the license ends",),
        PRINT_RUN_UNDER,
    ),
    Case(
        "use_without_the_required_credit",
        TERMS_SET,
        C,
        Action.COMMERCIAL_USE,
        NO,
        ("R8", "requires crediting"),
        NO_CREDIT,
        LicenseTerm.ATTRIBUTION,
    ),
    Case(
        "use_after_the_license_ended",
        TERMS_SET,
        C,
        Action.COMMERCIAL_USE,
        NO,
        ("R8", "ended on 2026-12-24"),
        AFTER_THE_END,
        LicenseTerm.DURATION,
    ),
    Case("use_before_the_end", HALLMARK, C, Action.COMMERCIAL_USE, WITH, (), BEFORE_THE_END),
    Case("licensed_editorial_use", TERMS_SET, C, Action.EDITORIAL_USE, WITH, ("editorial",)),
    Case(
        "editorial_use_not_licensed",
        HALLMARK,
        C,
        Action.EDITORIAL_USE,
        NO,
        ("R8", "does not grant editorial"),
        term=LicenseTerm.PURPOSE,
    ),
    Case("owner_editorial_use", HALLMARK, A, Action.EDITORIAL_USE, ALLOWED, ("R3",)),
    Case("maker_editorial_use_unlicensed", HALLMARK, B, Action.EDITORIAL_USE, NO, ("R4",)),
    # R9: what is published from a Hallmark image keeps its AI disclosure.
    Case("trace_without_disclosure", HALLMARK, C, Action.TRACE, NO, ("R9", "derivative"), STRIPPED),
    Case("owner_sells_stripped_copy", HALLMARK, A, Action.SELL, NO, ("R9",), STRIPPED),
    # R2: an image its owner opted out of training is trained on by nobody else.
    Case("licensee_refused_training_opted_out", OPTED_OUT, C, Action.TRAIN, NO, ("R2", "opted")),
    Case("owner_trains_despite_own_opt_out", OPTED_OUT, A, Action.TRAIN, ALLOWED, ("R3",)),
    Case("licensee_trains_when_allowed", TRAINING_ALLOWED, C, Action.TRAIN, WITH, ("R8",)),
    # Midjourney: paid plans own their images; others' images are theirs.
    Case("trace_own_midjourney", MJ_MINE, None, Action.TRACE, WITH, ("own", "traced")),
    Case("sell_own_midjourney", MJ_MINE, None, Action.SELL, ALLOWED, ("Midjourney",)),
    Case("trace_others_midjourney", MJ_THEIRS, None, Action.TRACE, NO, ("permission", "upscale")),
    Case("sell_others_midjourney", MJ_THEIRS, None, Action.SELL, NO, ("permission",)),
    Case("big_company_standard_plan", MJ_BIG, None, Action.SELL, NO, ("Pro or Mega",)),
    Case("big_company_pro_plan", MJ_BIG_PRO, None, Action.SELL, ALLOWED, ()),
    Case("midjourney_plan_unknown", MJ_NO_PLAN, None, Action.SELL, UNSURE, ("paid plan",)),
    Case("who_generated_unknown", WHO_KNOWS, None, Action.TRACE, UNSURE, ("say whether you did",)),
    # OpenAI: the output is assigned to the user; AI origin must not be misrepresented.
    Case("sell_own_dalle", OPENAI_MINE, None, Action.SELL, WITH, ("AI-generated",)),
    Case("trace_own_dalle", OPENAI_MINE, None, Action.TRACE, WITH, ("AI-generated", "traced")),
    Case("train_on_dalle", OPENAI_MINE, None, Action.TRAIN, WITH, ("compete",)),
    Case(
        "credentials_refuse_training",
        REFUSES_TRAINING,
        None,
        Action.TRAIN,
        NO,
        ("cawg.training-mining",),
    ),
    # Stability's hosted services: the answer depends on when the image was made.
    Case("stability_2023_no_commercial", STABILITY_2023, None, Action.SELL, NO, ("Superseded",)),
    Case("stability_2023_no_tracing", STABILITY_2023, None, Action.TRACE, NO, ()),
    Case(
        "stability_2023_print_noncommercial",
        STABILITY_2023,
        None,
        Action.PRINT,
        WITH,
        ("non-commercial",),
    ),
    Case("stability_2026_sell", STABILITY_2026, None, Action.SELL, ALLOWED, ("31 July 2025",)),
    Case("stability_2026_trace", STABILITY_2026, None, Action.TRACE, WITH, ("own",)),
    # Running the model yourself.
    Case("sd15_sell_with_use_limits", SD15, None, Action.SELL, WITH, ("Attachment A",)),
    Case("sd15_trace", SD15, None, Action.TRACE, WITH, ()),
    Case("community_small_sells", COMMUNITY_SMALL, None, Action.SELL, WITH, ("register",)),
    Case("community_revenue_unsaid", COMMUNITY, None, Action.SELL, WITH, ("under USD 1,000,000",)),
    Case("community_big_needs_enterprise", COMMUNITY_BIG, None, Action.SELL, NO, ("enterprise",)),
    Case("community_training_a_lora_of_it", COMMUNITY, None, Action.TRAIN, WITH, ("LoRA",)),
    Case(
        "community_said_lora_of_it",
        COMMUNITY,
        None,
        Action.TRAIN,
        ALLOWED,
        ("Derivative Works",),
        LORA_OF_IT,
    ),
    Case(
        "community_no_foundation_training",
        COMMUNITY,
        None,
        Action.TRAIN,
        NO,
        ("foundation",),
        OTHER_MODEL,
    ),
    # Midjourney under its terms of 28 August 2022: a free trial's images are CC BY-NC 4.0.
    Case("mj_trial_2022_no_sale", MJ_TRIAL_2022, None, Action.SELL, NO, ("CC BY-NC 4.0",)),
    Case(
        "mj_trial_2022_no_commercial_use",
        MJ_TRIAL_2022,
        None,
        Action.COMMERCIAL_USE,
        NO,
        ("not granted", "by-nc/4.0"),
    ),
    Case(
        "mj_trial_2022_publish_non_commercial_with_credit",
        MJ_TRIAL_2022,
        None,
        Action.PUBLISH,
        WITH,
        ("non-commercial", "attribution", "28 August 2022"),
    ),
    Case(
        "mj_trial_2022_trace_without_credit",
        MJ_TRIAL_2022,
        None,
        Action.TRACE,
        NO,
        ("requires attribution",),
        NO_CREDIT,
    ),
    Case("mj_paid_2022_sells", MJ_PAID_2022, None, Action.SELL, ALLOWED, ("28 August 2022",)),
    Case("mj_big_company_2022", MJ_BIG_2022, None, Action.SELL, NO, ("Corporate",)),
    Case("editorial_use_of_own_dalle", OPENAI_MINE, None, Action.EDITORIAL_USE, WITH, ("AI",)),
    Case("firefly_commercial_not_beta", FIREFLY, None, Action.COMMERCIAL_USE, WITH, ("beta",)),
    Case("firefly_training_unclear", FIREFLY, None, Action.TRAIN, UNSURE, ("nothing clear",)),
    # Nothing known.
    Case(
        "unknown_source_trace",
        UNKNOWN,
        None,
        Action.TRACE,
        UNSURE,
        ("which service", "who generated"),
    ),
    Case("unknown_source_view", UNKNOWN, None, Action.VIEW, ALLOWED, ()),
]


def text_of(answer: Answer) -> str:
    return " ".join([answer.reason, answer.source, *answer.conditions, *answer.to_find_out])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_advice(case: Case) -> None:
    answer = advise(
        case.image,
        case.asker,
        case.action,
        at=NOW,
        policies=load_policies(),
        details=case.details,
    )

    assert answer.outcome is case.outcome, answer.in_plain_words()
    for word in case.words:
        assert word in text_of(answer), (word, answer.in_plain_words())
    assert answer.source
    if case.term is not None:
        assert answer.term is case.term, answer.in_plain_words()
        assert f"license's {case.term.value.replace('_', ' ')} term" in answer.in_plain_words()


def test_the_table_covers_every_action_and_outcome() -> None:
    assert len(CASES) >= 40
    assert {case.action for case in CASES} == set(Action)
    assert {case.outcome for case in CASES} == set(Outcome)


@pytest.mark.parametrize(
    ("image", "action", "allowed", "words"),
    [
        (MJ_TRIAL_2022, Action.SELL, False, ("CC BY-NC 4.0", "midjourney.gitbook.io")),
        (MJ_TRIAL_2022, Action.PRINT, True, ("non-commercial", "terms of 2022-08-28")),
        (OPENAI_MINE, Action.SELL, True, ("AI-generated", "openai.com")),
        (STABILITY_2023, Action.TRACE, False, ("Superseded",)),
        (UNKNOWN, Action.SELL, False, ("Nothing is known",)),
    ],
    ids=["mj_trial_sale", "mj_trial_print", "dalle_sale", "stability_2023_trace", "unknown"],
)
def test_may_use_under_service_terms(
    image: ExternalImage, action: Action, allowed: bool, words: tuple[str, ...]
) -> None:
    decision = may_use_under_service_terms(image, action, on=NOW.date(), policies=load_policies())

    assert decision.allowed is allowed, decision.reason
    assert decision.rule is Rule.R10
    for word in words:
        assert word in decision.reason, (word, decision.reason)


def test_uses_of_ai_images_carry_the_copyright_note() -> None:
    answer = advise(MJ_MINE, None, Action.SELL, at=NOW, policies=load_policies())

    assert answer.copyright_note is not None and "Copyright Office" in answer.copyright_note
    assert "January 2025" in answer.in_plain_words()


def test_every_shipped_policy_names_its_source_and_date() -> None:
    policies = load_policies()

    assert set(policies) >= {
        "midjourney",
        "openai",
        "stability-hosted",
        "stable-diffusion-openrail",
        "stability-community",
        "adobe-firefly",
        "unknown",
    }
    for policy in policies.values():
        for version in policy.versions:
            assert version.clause and version.dated_by in {"service", "checked", "reported"}
            if policy.service != "unknown":
                assert version.source.startswith("https://")


GOOD = {
    "service": "x",
    "name": "X",
    "versions": [
        {
            "effective_from": date(2024, 1, 1),
            "dated_by": "service",
            "source": "https://x.example/terms",
            "clause": "c",
            "output_owner": "creator",
            "commercial_use": "allowed",
        }
    ],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("name"), r"x.toml: name: missing"),
        (lambda p: p["versions"][0].pop("clause"), r"versions\[1\].clause: missing"),
        (lambda p: p["versions"][0].update(effective_from="2024"), "not a date"),
        (lambda p: p["versions"][0].update(output_owner="nobody"), "output_owner"),
        (lambda p: p["versions"][0].update(commercial_use="maybe"), "maybe"),
        (lambda p: p["versions"].append(dict(p["versions"][0])), "overlap"),
    ],
)
def test_a_bad_policy_file_is_refused_naming_the_field(change: Any, message: str) -> None:
    import copy

    data = copy.deepcopy(GOOD)
    change(data)

    with pytest.raises(PolicyError, match=message):
        parse_policy("x.toml", data)
