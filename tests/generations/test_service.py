"""Generations: who owns an image (R3/R4), who may see or download it (R5/R8), R11 flags."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.db import utcnow
from hallmark.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    UnsupportedMediaType,
)
from hallmark.generations.models import Generation
from hallmark.generations.repository import GenerationRepository, GenerationRole
from hallmark.generations.service import (
    MAX_PROMPT_LENGTH,
    clear_near_copy,
    download_generation,
    get_visible_generation,
    list_generations,
    record_generation,
)
from hallmark.instance import Instance
from hallmark.licensing.models import License, LicenseOffer
from hallmark.licensing.repository import LicensingRepository
from hallmark.provenance.service import Verdict, read_credentials
from hallmark.storage import BlobStore
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import (
    unpublish_style,
)
from tests.helpers import jpeg_bytes, png_bytes

MakeUser = Callable[..., User]
MakeStyle = Callable[..., StyleModel]
Generate = Callable[..., Generation]


def pixels(data: bytes) -> bytes:
    """The decoded RGB pixels of an image file."""
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def generation_rows(session: Session) -> int:
    """How many generation rows exist in the test's transaction."""
    return session.scalar(select(func.count()).select_from(Generation)) or 0


def license_on(
    session: Session,
    generation: Generation,
    licensee: User,
    *,
    licensor_id: uuid.UUID | None = None,
    purposes: frozenset[rights.Purpose] = frozenset({rights.Purpose.PERSONAL}),
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    revoked: bool = False,
) -> License:
    """A stored free license on the image from its owner; by default in force now, personal use."""
    now = utcnow()
    repository = LicensingRepository(session)
    terms = {"purposes": sorted(purpose.value for purpose in purposes)}
    offer = repository.add(
        LicenseOffer(
            owner_id=generation.owner_id,
            generation_id=generation.id,
            template="personal",
            terms=terms,
            price_minor=0,
            currency="EUR",
        )
    )
    return repository.add(
        License(
            offer_id=offer.id,
            generation_id=generation.id,
            licensor_id=licensor_id or generation.owner_id,
            licensee_id=licensee.id,
            channel=rights.SaleChannel.OWNER.value,
            terms=terms,
            price_minor=0,
            owner_share_minor=0,
            platform_share_minor=0,
            currency="EUR",
            idempotency_key=uuid.uuid4().hex,
            starts_at=starts_at if starts_at is not None else now - timedelta(days=1),
            expires_at=expires_at if expires_at is not None else now + timedelta(days=30),
            revoked_at=now if revoked else None,
        )
    )


# -------------------------------------------------------------------------- record_generation


def test_an_image_made_by_the_models_owner_belongs_to_them_r3(
    instance: Instance, session: Session, blobs: BlobStore, make_style: MakeStyle, owner: User
) -> None:
    style = make_style(owner)
    image = png_bytes(7, size=(48, 40))

    generation = record_generation(
        session,
        instance,
        owner,
        style,
        prompt="a heron at dusk",
        seed=42,
        image=image,
        negative_prompt="blurry",
        parameters={"steps": 2},
    )

    assert generation.owner_id == owner.id
    assert generation.maker_id == owner.id
    assert generation.ownership_rule == "R3"
    assert generation.style_id == style.id
    session.expire_all()
    stored = GenerationRepository(session).get(generation.id)
    assert stored is not None
    assert (stored.prompt, stored.negative_prompt, stored.seed) == ("a heron at dusk", "blurry", 42)
    assert stored.parameters == {"steps": 2}
    assert (stored.mime, stored.width, stored.height) == ("image/png", 48, 40)
    assert stored.near_copy is False and stored.near_copy_cleared_at is None
    # The stored file is the engine's pixels with content credentials signed in (R9).
    stored_file = blobs.get(stored.sha256)
    assert stored.sha256 == hashlib.sha256(stored_file).hexdigest()
    assert stored_file != image
    assert pixels(stored_file) == pixels(image)
    report = read_credentials(instance.signing_identity, stored_file, "image/png")
    assert report.verdict == Verdict.TRUSTED
    assert report.facts["generation"]["owner"]["id"] == str(owner.id)


def test_an_image_made_with_someone_elses_public_model_belongs_to_its_owner_r4(
    session: Session, public_style: StyleModel, owner: User, maker: User, generate: Generate
) -> None:
    generation = generate(maker, public_style)

    assert generation.owner_id == owner.id
    assert generation.maker_id == maker.id
    assert generation.ownership_rule == "R4"
    session.expire_all()
    stored = GenerationRepository(session).get(generation.id)
    assert stored is not None
    assert (stored.owner_id, stored.maker_id, stored.ownership_rule) == (owner.id, maker.id, "R4")


def test_nobody_else_may_generate_with_a_private_style(
    session: Session, make_style: MakeStyle, owner: User, maker: User, generate: Generate
) -> None:
    style = make_style(owner)

    with pytest.raises(NotFound):
        generate(maker, style)

    assert generation_rows(session) == 0


@pytest.mark.parametrize("status", [StyleStatus.DRAFT, StyleStatus.TRAINING, StyleStatus.FAILED])
def test_an_untrained_style_generates_nothing(
    session: Session, make_style: MakeStyle, owner: User, generate: Generate, status: StyleStatus
) -> None:
    style = make_style(owner, status=status)

    with pytest.raises(Conflict):
        generate(owner, style)

    assert generation_rows(session) == 0


def test_unpublishing_stops_new_generations_by_others_and_keeps_earlier_ownership(
    session: Session,
    public_style: StyleModel,
    owner: User,
    maker: User,
    generate: Generate,
) -> None:
    earlier = generate(maker, public_style)
    own_earlier = generate(owner, public_style)

    unpublish_style(session, owner, public_style.id)

    session.expire_all()
    for generation, maker_id, rule in ((earlier, maker.id, "R4"), (own_earlier, owner.id, "R3")):
        stored = GenerationRepository(session).get(generation.id)
        assert stored is not None
        assert (stored.owner_id, stored.maker_id, stored.ownership_rule) == (
            owner.id,
            maker_id,
            rule,
        )
    assert get_visible_generation(session, maker, earlier.id).id == earlier.id
    with pytest.raises((NotFound, Forbidden)):
        generate(maker, public_style)
    assert generate(owner, public_style).owner_id == owner.id
    assert generation_rows(session) == 3


def test_a_prompt_over_the_limit_is_invalid_input(
    session: Session, public_style: StyleModel, owner: User, generate: Generate
) -> None:
    with pytest.raises(InvalidInput):
        generate(owner, public_style, prompt="x" * (MAX_PROMPT_LENGTH + 1))

    assert generation_rows(session) == 0
    assert len(generate(owner, public_style, prompt="x" * MAX_PROMPT_LENGTH).prompt) == 4000


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (b"this is not an image at all", UnsupportedMediaType),
        (b"GIF89a" + b"\x00" * 64, UnsupportedMediaType),
        (b"", InvalidInput),
        (png_bytes(3)[:-40], InvalidInput),
    ],
    ids=["text", "gif", "empty", "truncated png"],
)
def test_bytes_that_are_not_an_accepted_image_store_nothing(
    instance: Instance,
    session: Session,
    blobs: BlobStore,
    public_style: StyleModel,
    owner: User,
    image: bytes,
    error: type[AppError],
) -> None:
    with pytest.raises(error):
        record_generation(session, instance, owner, public_style, prompt="p", seed=1, image=image)

    assert generation_rows(session) == 0
    if image:
        assert not blobs.exists(hashlib.sha256(image).hexdigest())


def test_a_jpeg_is_recorded_as_a_jpeg(
    instance: Instance, session: Session, blobs: BlobStore, public_style: StyleModel, owner: User
) -> None:
    generation = record_generation(
        session, instance, owner, public_style, prompt="p", seed=1, image=jpeg_bytes(1)
    )

    assert generation.mime == "image/jpeg"


def test_parameters_are_copied_not_shared(
    instance: Instance, session: Session, blobs: BlobStore, public_style: StyleModel, owner: User
) -> None:
    parameters: dict[str, object] = {"steps": 2}

    generation = record_generation(
        session,
        instance,
        owner,
        public_style,
        prompt="p",
        seed=1,
        image=png_bytes(9),
        parameters=parameters,
    )
    parameters["steps"] = 50

    assert generation.parameters == {"steps": 2}


# -------------------------------------------------------------------------------- visibility


def test_a_generation_is_visible_to_its_owner_and_maker_only(
    session: Session,
    public_style: StyleModel,
    owner: User,
    maker: User,
    stranger: User,
    generate: Generate,
) -> None:
    generation = generate(maker, public_style)

    assert get_visible_generation(session, owner, generation.id).id == generation.id
    assert get_visible_generation(session, maker, generation.id).id == generation.id
    with pytest.raises(NotFound):
        get_visible_generation(session, stranger, generation.id)
    with pytest.raises(NotFound):
        get_visible_generation(session, None, generation.id)
    with pytest.raises(NotFound):
        get_visible_generation(session, owner, uuid.uuid4())


# ---------------------------------------------------------------------------------- download


def test_the_owner_may_download(
    session: Session, public_style: StyleModel, owner: User, maker: User, generate: Generate
) -> None:
    made_by_other = generate(maker, public_style)
    made_by_owner = generate(owner, public_style)

    for generation in (made_by_other, made_by_owner):
        assert download_generation(session, owner, generation.id).id == generation.id


def test_the_maker_may_not_download_without_a_license_r4(
    session: Session, public_style: StyleModel, maker: User, generate: Generate
) -> None:
    generation = generate(maker, public_style)

    with pytest.raises(Forbidden) as caught:
        download_generation(session, maker, generation.id)

    assert caught.value.rule == rights.Rule.R4


def test_the_maker_may_download_once_licensed(
    session: Session, public_style: StyleModel, maker: User, generate: Generate
) -> None:
    generation = generate(maker, public_style)
    license_on(session, generation, maker)

    assert download_generation(session, maker, generation.id).id == generation.id


def test_a_licensee_who_is_not_the_maker_may_view_and_download(
    session: Session,
    public_style: StyleModel,
    maker: User,
    stranger: User,
    generate: Generate,
) -> None:
    generation = generate(maker, public_style)
    license_on(session, generation, stranger, purposes=frozenset({rights.Purpose.COMMERCIAL}))

    assert get_visible_generation(session, stranger, generation.id).id == generation.id
    assert download_generation(session, stranger, generation.id).id == generation.id


def test_a_stranger_and_anonymous_may_not_download(
    session: Session, public_style: StyleModel, maker: User, stranger: User, generate: Generate
) -> None:
    generation = generate(maker, public_style)
    license_on(session, generation, maker)

    with pytest.raises(NotFound):
        download_generation(session, stranger, generation.id)
    with pytest.raises(NotFound):
        download_generation(session, None, generation.id)


PAST = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE = datetime(2999, 1, 1, tzinfo=UTC)

# How a license can fail to unlock an image: each variant stores one for the licensee.
UnusableLicense = Callable[[Session, Generation, User, Callable[[], Generation]], License]
UNUSABLE_LICENSES: dict[str, UnusableLicense] = {
    "expired": lambda session, generation, licensee, _: license_on(
        session, generation, licensee, starts_at=PAST, expires_at=PAST + timedelta(days=30)
    ),
    "expired a second ago": lambda session, generation, licensee, _: license_on(
        session,
        generation,
        licensee,
        starts_at=utcnow() - timedelta(days=1),
        expires_at=utcnow() - timedelta(seconds=1),
    ),
    "not yet started": lambda session, generation, licensee, _: license_on(
        session, generation, licensee, starts_at=FUTURE, expires_at=FUTURE + timedelta(days=1)
    ),
    "revoked": lambda session, generation, licensee, _: license_on(
        session, generation, licensee, revoked=True
    ),
    "no purpose": lambda session, generation, licensee, _: license_on(
        session, generation, licensee, purposes=frozenset()
    ),
    "not from the owner": lambda session, generation, licensee, _: license_on(
        session, generation, licensee, licensor_id=generation.maker_id
    ),
    "for another image": lambda session, generation, licensee, another: license_on(
        session, another(), licensee
    ),
}


# A license of the maker's on the image that is not in force is named, under its term (R8).
LICENSE_NOT_IN_FORCE = {"expired": "ended on", "expired a second ago": "ended on"}
LICENSE_NOT_IN_FORCE |= {"not yet started": "not in force yet", "revoked": "revoked"}


@pytest.mark.parametrize("variant", list(UNUSABLE_LICENSES))
def test_the_maker_with_an_unusable_license_is_refused_r4(
    session: Session, public_style: StyleModel, maker: User, generate: Generate, variant: str
) -> None:
    generation = generate(maker, public_style)
    UNUSABLE_LICENSES[variant](session, generation, maker, lambda: generate(maker, public_style))

    with pytest.raises(Forbidden) as caught:
        download_generation(session, maker, generation.id)

    if variant in LICENSE_NOT_IN_FORCE:
        assert caught.value.rule == rights.Rule.R8
        assert LICENSE_NOT_IN_FORCE[variant] in str(caught.value)
    else:
        assert caught.value.rule == rights.Rule.R4


@pytest.mark.parametrize("variant", list(UNUSABLE_LICENSES))
def test_a_licensee_with_an_unusable_license_is_refused(
    session: Session,
    public_style: StyleModel,
    maker: User,
    stranger: User,
    generate: Generate,
    variant: str,
) -> None:
    generation = generate(maker, public_style)
    UNUSABLE_LICENSES[variant](session, generation, stranger, lambda: generate(maker, public_style))

    with pytest.raises(NotFound):
        get_visible_generation(session, stranger, generation.id)
    with pytest.raises(NotFound):
        download_generation(session, stranger, generation.id)


# ---------------------------------------------------------------------------------- listing


def test_list_generations_by_role(
    session: Session,
    make_style: MakeStyle,
    public_style: StyleModel,
    owner: User,
    maker: User,
    stranger: User,
    generate: Generate,
) -> None:
    by_owner = generate(owner, public_style)
    by_maker = [generate(maker, public_style) for _ in range(2)]
    makers_own = generate(maker, make_style(maker))
    by_stranger = generate(stranger, public_style)

    def listed(user: User, role: GenerationRole) -> tuple[set[uuid.UUID], int]:
        items, total = list_generations(session, user, role)
        return {item.id for item in items}, total

    owned_by_owner = {by_owner.id, *(g.id for g in by_maker), by_stranger.id}
    assert listed(owner, GenerationRole.MADE) == ({by_owner.id}, 1)
    assert listed(owner, GenerationRole.OWNED) == (owned_by_owner, 4)
    assert listed(owner, GenerationRole.ALL) == (owned_by_owner, 4)
    assert listed(stranger, GenerationRole.MADE) == ({by_stranger.id}, 1)
    assert listed(stranger, GenerationRole.OWNED) == (set(), 0)
    makers = {*(g.id for g in by_maker), makers_own.id}
    assert listed(maker, GenerationRole.MADE) == (makers, 3)
    assert listed(maker, GenerationRole.OWNED) == ({makers_own.id}, 1)
    assert listed(maker, GenerationRole.ALL) == (makers, 3)
    assert list_generations(session, maker)[1] == 3


def test_list_generations_pages_without_gaps_or_repeats(
    session: Session, public_style: StyleModel, owner: User, maker: User, generate: Generate
) -> None:
    made = {generate(maker, public_style).id for _ in range(5)}

    pages = [
        list_generations(session, owner, GenerationRole.OWNED, limit=2, offset=offset)
        for offset in (0, 2, 4)
    ]

    assert [len(items) for items, _ in pages] == [2, 2, 1]
    assert {total for _, total in pages} == {5}
    ids = [item.id for items, _ in pages for item in items]
    assert len(ids) == len(set(ids)) and set(ids) == made


def test_repository_counts_generations_by_bytes(
    instance: Instance,
    session: Session,
    blobs: BlobStore,
    public_style: StyleModel,
    owner: User,
    maker: User,
) -> None:
    image = png_bytes(11)
    made = [
        record_generation(session, instance, user, public_style, prompt="p", seed=1, image=image)
        for user in (owner, maker)
    ]
    repository = GenerationRepository(session)

    # The same engine output signed for two generations is two different files (R9).
    assert made[0].sha256 != made[1].sha256
    assert [repository.count_with_sha256(g.sha256) for g in made] == [1, 1]
    assert repository.count_with_sha256(hashlib.sha256(image).hexdigest()) == 0


# ------------------------------------------------------------------------------ near-copies


@pytest.fixture
def flagged(
    session: Session, public_style: StyleModel, maker: User, generate: Generate
) -> Generation:
    """An image the maker made with the owner's public style, flagged as a near-copy."""
    generation = generate(maker, public_style)
    generation.near_copy = True
    session.flush()
    return generation


def test_the_maker_may_not_clear_a_near_copy_r11(
    session: Session, flagged: Generation, maker: User
) -> None:
    with pytest.raises(Forbidden) as caught:
        clear_near_copy(session, maker, flagged.id, "it is my own idea")

    assert caught.value.rule == rights.Rule.R11
    assert flagged.near_copy_cleared_at is None


def test_a_stranger_does_not_see_a_near_copy_to_clear(
    session: Session, flagged: Generation, stranger: User
) -> None:
    with pytest.raises(NotFound):
        clear_near_copy(session, stranger, flagged.id, "mine")


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_the_owner_must_give_a_reason_r11(
    session: Session, flagged: Generation, owner: User, reason: str
) -> None:
    with pytest.raises(Forbidden) as caught:
        clear_near_copy(session, owner, flagged.id, reason)

    assert caught.value.rule == rights.Rule.R11
    assert flagged.near_copy_cleared_at is None
    assert flagged.near_copy_cleared_reason is None


def test_the_owner_clears_a_near_copy_with_a_recorded_reason(
    session: Session, flagged: Generation, owner: User
) -> None:
    before = utcnow()

    cleared = clear_near_copy(session, owner, flagged.id, "  the likeness is a common motif ")

    assert cleared.id == flagged.id
    session.expire_all()
    stored = GenerationRepository(session).get(flagged.id)
    assert stored is not None
    assert stored.near_copy is True
    assert stored.near_copy_cleared_at is not None
    assert before <= stored.near_copy_cleared_at <= utcnow()
    assert stored.near_copy_cleared_reason == "the likeness is a common motif"


def test_an_unflagged_image_cannot_be_cleared_r11(
    session: Session, public_style: StyleModel, owner: User, generate: Generate
) -> None:
    generation = generate(owner, public_style)

    with pytest.raises(Forbidden) as caught:
        clear_near_copy(session, owner, generation.id, "just in case")

    assert caught.value.rule == rights.Rule.R11
    assert generation.near_copy_cleared_at is None
