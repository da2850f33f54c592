"""The rights advisor as a table: Hallmark images and other services' images, dated terms (R10)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hallmark.rights import GenerationFacts, ModelFacts, Purpose, UsageGrant, Visibility
from hallmark.rights.advisor import Action, Answer, ExternalImage, HallmarkImage, advise
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

MJ_MINE = ExternalImage("midjourney", date(2024, 5, 1), generated_by_asker=True, plan="standard")
MJ_THEIRS = replace(MJ_MINE, generated_by_asker=False)
MJ_BIG = replace(MJ_MINE, asker_revenue_over_1m=True)
MJ_BIG_PRO = replace(MJ_BIG, plan="pro")
MJ_NO_PLAN = replace(MJ_MINE, plan=None)
OPENAI_MINE = ExternalImage("openai", date(2025, 3, 1), generated_by_asker=True)
STABILITY_2023 = ExternalImage("stability-hosted", date(2023, 6, 1), generated_by_asker=True)
STABILITY_2026 = replace(STABILITY_2023, made_on=date(2026, 1, 10))
SD15 = ExternalImage("stable-diffusion-openrail", date(2023, 2, 1), generated_by_asker=True)
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
        ("R8", "license's terms"),
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
    Case("community_small_sells", COMMUNITY_SMALL, None, Action.SELL, ALLOWED, ()),
    Case("community_revenue_unsaid", COMMUNITY, None, Action.SELL, WITH, ("under USD 1,000,000",)),
    Case("community_big_needs_enterprise", COMMUNITY_BIG, None, Action.SELL, NO, ("enterprise",)),
    Case("community_no_foundation_training", COMMUNITY, None, Action.TRAIN, NO, ("foundation",)),
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
    answer = advise(case.image, case.asker, case.action, at=NOW, policies=load_policies())

    assert answer.outcome is case.outcome, answer.in_plain_words()
    for word in case.words:
        assert word in text_of(answer), (word, answer.in_plain_words())
    assert answer.source


def test_the_table_covers_every_action_and_outcome() -> None:
    assert len(CASES) >= 40
    assert {case.action for case in CASES} == set(Action)
    assert {case.outcome for case in CASES} == set(Outcome)


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
