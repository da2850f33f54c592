"""Styles: define a style on works one may train on (R2), see it, publish and unpublish it (R5)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.artworks.models import Artwork
from hallmark.artworks.service import delete_artwork, get_own_artwork, upload_artwork
from hallmark.config import Settings
from hallmark.db import utcnow
from hallmark.errors import Conflict, Forbidden, InvalidInput, NotFound
from hallmark.instance import Instance
from hallmark.storage import BlobStore
from hallmark.styles.models import StyleModel, StyleStatus, StyleTrainingWork
from hallmark.styles.repository import StyleRepository
from hallmark.styles.service import (
    MAX_TRAINING_WORKS,
    create_style,
    get_visible_style,
    list_own_styles,
    list_public_styles,
    publish_style,
    set_style_status,
    style_name_of,
    unpublish_style,
)
from tests.helpers import png_bytes

MakeUser = Callable[..., User]
Upload = Callable[..., Artwork]


@pytest.fixture
def alice(make_user: MakeUser) -> User:
    return make_user("alice")


@pytest.fixture
def bob(make_user: MakeUser) -> User:
    return make_user("bob")


@pytest.fixture
def upload(instance: Instance, session: Session, blobs: BlobStore, settings: Settings) -> Upload:
    """Upload the PNG of `seed` as the user's attested work."""

    def _upload(user: User, seed: int, *, opt_out: bool = False) -> Artwork:
        result = upload_artwork(
            session,
            instance,
            user,
            png_bytes(seed),
            rights_attested=True,
            training_opt_out=opt_out,
        )
        assert result.artwork is not None
        return result.artwork

    return _upload


def ready_style(session: Session, owner: User, name: str, works: list[Artwork]) -> StyleModel:
    """A style on the works, marked trained so that it may be published."""
    style = create_style(session, owner, name, [work.id for work in works])
    return set_style_status(session, style, StyleStatus.READY)


def public_style(session: Session, owner: User, name: str, works: list[Artwork]) -> StyleModel:
    """A trained style its owner published."""
    style = ready_style(session, owner, name, works)
    return publish_style(session, owner, style.id, accept_platform_license=True)


def style_rows(session: Session) -> int:
    """How many style rows exist in the test's transaction."""
    return session.scalar(select(func.count()).select_from(StyleModel)) or 0


def training_grant(
    licensor: User,
    licensee: User,
    subject_id: uuid.UUID,
    *,
    purposes: frozenset[rights.Purpose] = frozenset({rights.Purpose.AI_TRAINING}),
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    revoked: bool = False,
) -> rights.UsageGrant:
    """A usage grant on a work; by default an in-force AI-training license."""
    now = utcnow()
    return rights.UsageGrant(
        licensor_id=licensor.id,
        licensee_id=licensee.id,
        subject_id=subject_id,
        purposes=purposes,
        starts_at=starts_at if starts_at is not None else now - timedelta(days=1),
        expires_at=expires_at if expires_at is not None else now + timedelta(days=30),
        revoked=revoked,
    )


# ------------------------------------------------------------------------------- create_style


def test_style_on_own_works_is_a_private_draft_owned_by_its_creator(
    session: Session, alice: User, upload: Upload
) -> None:
    first, second = upload(alice, 1), upload(alice, 2)

    style = create_style(session, alice, "Ink wash", [first.id, second.id])

    assert style.owner_id == alice.id
    assert style.visibility == rights.Visibility.PRIVATE.value
    assert style.status == StyleStatus.DRAFT.value
    assert style.published_at is None and style.unpublished_at is None
    assert style.engine == "studio"
    session.expire_all()
    stored = StyleRepository(session).get(style.id)
    assert stored is not None and stored.owner_id == alice.id
    assert {(w.artwork_id, w.artwork_sha256) for w in stored.training_works} == {
        (first.id, first.sha256),
        (second.id, second.sha256),
    }


def test_style_name_and_description_are_trimmed(
    session: Session, alice: User, upload: Upload
) -> None:
    work = upload(alice, 1)

    style = create_style(
        session, alice, "  Ink wash  ", [work.id], description="   ", base_model=" sd15 "
    )

    assert style.name == "Ink wash"
    assert style.description is None
    assert style.base_model == "sd15"


def test_style_on_another_users_work_is_forbidden_r2_and_not_created(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    bobs = upload(bob, 2)

    with pytest.raises(Forbidden) as caught:
        create_style(session, alice, "Borrowed", [bobs.id])

    assert caught.value.rule == rights.Rule.R2
    assert str(bobs.id) in caught.value.message
    assert style_rows(session) == 0


def test_style_mixing_own_and_anothers_work_is_refused_as_a_whole(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    own, bobs = upload(alice, 1), upload(bob, 2)

    with pytest.raises(Forbidden) as caught:
        create_style(session, alice, "Mixed", [own.id, bobs.id])

    assert caught.value.rule == rights.Rule.R2
    assert style_rows(session) == 0


def test_a_nonexistent_work_is_refused_in_the_same_words_as_anothers_r2(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    bobs = upload(bob, 2)
    missing = uuid.uuid4()

    with pytest.raises(Forbidden) as not_found:
        create_style(session, alice, "Ghost", [missing])
    with pytest.raises(Forbidden) as not_allowed:
        create_style(session, alice, "Ghost", [bobs.id])

    assert not_found.value.rule == not_allowed.value.rule == rights.Rule.R2
    assert type(not_found.value) is type(not_allowed.value)
    assert str(missing) in not_found.value.message
    for error in (not_found.value, not_allowed.value):
        assert "licen" in error.message.lower()
        assert "not found" not in error.message.lower()
        assert "exist" not in error.message.lower()
    assert not_found.value.message.replace(str(missing), "<id>") == (
        not_allowed.value.message.replace(str(bobs.id), "<id>")
    )
    assert style_rows(session) == 0


def test_style_on_own_opted_out_work_is_forbidden_r2_naming_the_opt_out(
    session: Session, alice: User, upload: Upload
) -> None:
    allowed, opted_out = upload(alice, 1), upload(alice, 2, opt_out=True)

    with pytest.raises(Forbidden) as caught:
        create_style(session, alice, "Private sketches", [allowed.id, opted_out.id])

    assert caught.value.rule == rights.Rule.R2
    assert "opt" in caught.value.message.lower()
    assert str(opted_out.id) in caught.value.message
    assert style_rows(session) == 0


def test_style_on_anothers_work_with_a_training_grant_is_allowed(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    own, bobs = upload(alice, 1), upload(bob, 2)
    grant = training_grant(bob, alice, bobs.id)

    style = create_style(session, alice, "Licensed", [own.id, bobs.id], grants=[grant])

    assert style.owner_id == alice.id
    assert {(w.artwork_id, w.artwork_sha256) for w in style.training_works} == {
        (own.id, own.sha256),
        (bobs.id, bobs.sha256),
    }


GrantVariant = Callable[[User, User, Artwork], rights.UsageGrant]
PAST = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE = datetime(2999, 1, 1, tzinfo=UTC)

UNUSABLE_TRAINING_GRANTS: dict[str, GrantVariant] = {
    "expired": lambda bob, alice, work: training_grant(
        bob, alice, work.id, starts_at=PAST, expires_at=PAST + timedelta(days=30)
    ),
    "not yet started": lambda bob, alice, work: training_grant(
        bob, alice, work.id, starts_at=FUTURE, expires_at=FUTURE + timedelta(days=30)
    ),
    "revoked": lambda bob, alice, work: training_grant(bob, alice, work.id, revoked=True),
    "other purpose": lambda bob, alice, work: training_grant(
        bob,
        alice,
        work.id,
        purposes=frozenset({rights.Purpose.COMMERCIAL, rights.Purpose.DERIVATIVE}),
    ),
    "not from the owner": lambda bob, alice, work: training_grant(alice, alice, work.id),
    "for another work": lambda bob, alice, work: training_grant(bob, alice, uuid.uuid4()),
    "to someone else": lambda bob, alice, work: training_grant(bob, bob, work.id),
}


@pytest.mark.parametrize("variant", list(UNUSABLE_TRAINING_GRANTS))
def test_style_on_anothers_work_with_an_unusable_grant_is_forbidden_r2(
    session: Session, alice: User, bob: User, upload: Upload, variant: str
) -> None:
    bobs = upload(bob, 2)
    grant = UNUSABLE_TRAINING_GRANTS[variant](bob, alice, bobs)

    with pytest.raises(Forbidden) as caught:
        create_style(session, alice, "Licensed", [bobs.id], grants=[grant])

    assert caught.value.rule == rights.Rule.R2
    assert style_rows(session) == 0


def test_a_training_grant_does_not_override_the_owners_opt_out(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    bobs = upload(bob, 2, opt_out=True)
    grant = training_grant(bob, alice, bobs.id)

    with pytest.raises(Forbidden) as caught:
        create_style(session, alice, "Licensed", [bobs.id], grants=[grant])

    assert caught.value.rule == rights.Rule.R2
    assert "opted" in caught.value.message.lower()


def test_style_on_an_empty_set_is_refused(session: Session, alice: User) -> None:
    with pytest.raises(Forbidden) as caught:
        create_style(session, alice, "Nothing", [])

    assert caught.value.rule == rights.Rule.R2
    assert "at least one" in caught.value.message
    assert style_rows(session) == 0


def test_duplicate_artwork_ids_are_recorded_once(
    session: Session, alice: User, upload: Upload
) -> None:
    first, second = upload(alice, 1), upload(alice, 2)

    style = create_style(session, alice, "Twice", [first.id, second.id, first.id, first.id])

    session.expire_all()
    rows = session.scalars(
        select(StyleTrainingWork).where(StyleTrainingWork.style_id == style.id)
    ).all()
    assert sorted(str(row.artwork_id) for row in rows) == sorted([str(first.id), str(second.id)])


def test_too_many_works_are_refused_before_any_lookup(session: Session, alice: User) -> None:
    with pytest.raises(InvalidInput):
        create_style(session, alice, "Huge", [uuid.uuid4() for _ in range(MAX_TRAINING_WORKS + 1)])


def test_duplicate_name_for_the_same_owner_is_a_conflict(
    session: Session, alice: User, upload: Upload
) -> None:
    work = upload(alice, 1)
    create_style(session, alice, "Ink wash", [work.id])

    with pytest.raises(Conflict):
        create_style(session, alice, "Ink wash", [work.id])
    with pytest.raises(Conflict):
        create_style(session, alice, "  Ink wash ", [work.id])

    assert list_own_styles(session, alice)[1] == 1


def test_the_same_name_for_different_owners_is_fine(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    alices, bobs = upload(alice, 1), upload(bob, 2)

    first = create_style(session, alice, "Ink wash", [alices.id])
    second = create_style(session, bob, "Ink wash", [bobs.id])

    assert first.id != second.id
    assert (first.owner_id, second.owner_id) == (alice.id, bob.id)


def test_unknown_engine_is_invalid_input(session: Session, alice: User, upload: Upload) -> None:
    work = upload(alice, 1)

    with pytest.raises(InvalidInput) as caught:
        create_style(session, alice, "Ink", [work.id], engine="dall-e")

    assert "dall-e" in caught.value.message
    assert style_rows(session) == 0
    assert create_style(session, alice, "Ink", [work.id], engine="diffusers-lora").engine == (
        "diffusers-lora"
    )


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_name_must_have_1_to_100_characters(
    session: Session, alice: User, upload: Upload, name: str
) -> None:
    work = upload(alice, 1)

    with pytest.raises(InvalidInput):
        create_style(session, alice, name, [work.id])

    assert create_style(session, alice, "x" * 100, [work.id]).name == "x" * 100


# -------------------------------------------------------------------------- get_visible_style


def test_a_private_style_is_visible_to_its_owner_only(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    style = ready_style(session, alice, "Ink", [upload(alice, 1)])

    assert get_visible_style(session, alice, style.id).id == style.id
    with pytest.raises(NotFound):
        get_visible_style(session, bob, style.id)
    with pytest.raises(NotFound):
        get_visible_style(session, None, style.id)

    publish_style(session, alice, style.id, accept_platform_license=True)

    assert get_visible_style(session, bob, style.id).id == style.id
    assert get_visible_style(session, None, style.id).id == style.id


def test_an_unknown_style_is_not_found(session: Session, alice: User) -> None:
    with pytest.raises(NotFound):
        get_visible_style(session, alice, uuid.uuid4())


# ------------------------------------------------------------------------ publish / unpublish


def test_publishing_requires_accepting_the_platform_license_r5(
    session: Session, alice: User, upload: Upload
) -> None:
    style = ready_style(session, alice, "Ink", [upload(alice, 1)])

    with pytest.raises(InvalidInput) as caught:
        publish_style(session, alice, style.id, accept_platform_license=False)

    assert caught.value.rule == rights.Rule.R5
    assert style.visibility == rights.Visibility.PRIVATE.value
    assert style.published_at is None


@pytest.mark.parametrize("status", [StyleStatus.DRAFT, StyleStatus.TRAINING, StyleStatus.FAILED])
def test_an_untrained_style_cannot_be_published(
    session: Session, alice: User, upload: Upload, status: StyleStatus
) -> None:
    style = create_style(session, alice, "Ink", [upload(alice, 1).id])
    set_style_status(session, style, status)

    with pytest.raises(Conflict):
        publish_style(session, alice, style.id, accept_platform_license=True)

    assert style.visibility == rights.Visibility.PRIVATE.value
    assert style.published_at is None


def test_publishing_a_ready_style_makes_it_public(
    session: Session, alice: User, upload: Upload
) -> None:
    style = ready_style(session, alice, "Ink", [upload(alice, 1)])
    before = utcnow()

    published = publish_style(session, alice, style.id, accept_platform_license=True)

    assert published.id == style.id
    assert published.visibility == rights.Visibility.PUBLIC.value
    assert published.published_at is not None
    assert before <= published.published_at <= utcnow()
    session.expire_all()
    stored = StyleRepository(session).get(style.id)
    assert stored is not None and stored.visibility == rights.Visibility.PUBLIC.value


def test_publishing_twice_keeps_the_first_publication_time(
    session: Session, alice: User, upload: Upload
) -> None:
    style = public_style(session, alice, "Ink", [upload(alice, 1)])
    first = style.published_at

    again = publish_style(session, alice, style.id, accept_platform_license=True)

    assert again.published_at == first


def test_only_the_owner_publishes_or_unpublishes(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    style = ready_style(session, alice, "Ink", [upload(alice, 1)])

    with pytest.raises(NotFound):
        publish_style(session, bob, style.id, accept_platform_license=True)
    with pytest.raises(NotFound):
        unpublish_style(session, bob, style.id)
    assert style.visibility == rights.Visibility.PRIVATE.value

    publish_style(session, alice, style.id, accept_platform_license=True)

    with pytest.raises(Forbidden) as on_publish:
        publish_style(session, bob, style.id, accept_platform_license=True)
    with pytest.raises(Forbidden) as on_unpublish:
        unpublish_style(session, bob, style.id)
    assert on_publish.value.rule == on_unpublish.value.rule == rights.Rule.R5
    assert style.visibility == rights.Visibility.PUBLIC.value


def test_unpublishing_makes_the_style_private_and_keeps_the_publish_time(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    style = public_style(session, alice, "Ink", [upload(alice, 1)])
    published_at = style.published_at
    assert published_at is not None

    unpublished = unpublish_style(session, alice, style.id)

    assert unpublished.visibility == rights.Visibility.PRIVATE.value
    assert unpublished.unpublished_at is not None
    assert unpublished.unpublished_at >= published_at
    session.expire_all()
    stored = StyleRepository(session).get(style.id)
    assert stored is not None
    assert stored.published_at == published_at
    assert stored.visibility == rights.Visibility.PRIVATE.value
    with pytest.raises(NotFound):
        get_visible_style(session, bob, style.id)


# ------------------------------------------------------------------------------------ listing


def test_list_public_styles_shows_only_published_ones(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    shown_a = public_style(session, alice, "A", [upload(alice, 1)])
    shown_b = public_style(session, bob, "B", [upload(bob, 2)])
    ready_style(session, alice, "Private", [upload(alice, 3)])
    create_style(session, bob, "Draft", [upload(bob, 4).id])
    withdrawn = public_style(session, bob, "Withdrawn", [upload(bob, 5)])
    unpublish_style(session, bob, withdrawn.id)

    styles, total = list_public_styles(session)

    assert total == 2
    assert {style.id for style in styles} == {shown_a.id, shown_b.id}
    page, page_total = list_public_styles(session, limit=1, offset=1)
    assert page_total == 2 and len(page) == 1


def test_list_own_styles_shows_only_the_owners(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    private = create_style(session, alice, "Private", [upload(alice, 1).id])
    public = public_style(session, alice, "Public", [upload(alice, 2)])
    create_style(session, bob, "Bob's", [upload(bob, 3).id])

    styles, total = list_own_styles(session, alice)

    assert total == 2
    assert {style.id for style in styles} == {private.id, public.id}
    first_page, _ = list_own_styles(session, alice, limit=1)
    second_page, second_total = list_own_styles(session, alice, limit=1, offset=1)
    assert second_total == 2
    assert {s.id for s in first_page + second_page} == {private.id, public.id}


# ----------------------------------------------------------------------------- the repository


def test_repository_lists_public_styles_most_recently_published_first(
    session: Session, alice: User, upload: Upload
) -> None:
    styles = [public_style(session, alice, f"S{i}", [upload(alice, i)]) for i in range(1, 4)]
    for days, style in zip((3, 1, 2), styles, strict=True):
        style.published_at = datetime(2024, 5, days, 12, tzinfo=UTC)
    session.flush()
    repository = StyleRepository(session)

    listed = repository.list_public(limit=10, offset=0)

    assert [style.name for style in listed] == ["S1", "S3", "S2"]
    assert [style.name for style in repository.list_public(limit=2, offset=1)] == ["S3", "S2"]
    assert repository.count_public() == 3
    assert listed[0].published_at == datetime(2024, 5, 3, 12, tzinfo=UTC)


def test_repository_finds_by_owner_and_name(
    session: Session, alice: User, bob: User, upload: Upload
) -> None:
    style = create_style(session, alice, "Ink", [upload(alice, 1).id])
    repository = StyleRepository(session)

    assert repository.find_by_owner_and_name(alice.id, "Ink") is style
    assert repository.find_by_owner_and_name(bob.id, "Ink") is None
    assert repository.find_by_owner_and_name(alice.id, "ink") is None
    assert repository.count_for_owner(alice.id) == 1
    assert repository.count_for_owner(bob.id) == 0


# ------------------------------------------------------------------ artworks in a training set


def test_an_artwork_in_a_training_set_cannot_be_deleted(
    instance: Instance, session: Session, blobs: BlobStore, alice: User, upload: Upload
) -> None:
    used, unused = upload(alice, 1), upload(alice, 2)
    style = create_style(session, alice, "Ink", [used.id])

    with pytest.raises(Conflict):
        delete_artwork(session, instance, alice, used.id)

    session.expire_all()
    assert get_own_artwork(session, alice, used.id).sha256 == used.sha256
    stored = StyleRepository(session).get(style.id)
    assert stored is not None
    assert [work.artwork_id for work in stored.training_works] == [used.id]
    delete_artwork(session, instance, alice, unused.id)
    with pytest.raises(NotFound):
        get_own_artwork(session, alice, unused.id)


def test_the_model_an_image_was_made_with_is_named_whoever_asks(
    session: Session, alice: User, upload: Upload
) -> None:
    style = ready_style(session, alice, "Private ink", [upload(alice, 1)])

    assert style_name_of(session, style.id) == "Private ink"
    assert style_name_of(session, uuid.uuid4()) is None
