"""Use cases of styles: define one on works you may train on (R2), publish, unpublish (R5)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks.facts import artwork_facts
from hallmark.artworks.repository import ArtworkRepository
from hallmark.db import utcnow
from hallmark.engines import default_base_model, engine_names
from hallmark.errors import AcknowledgementRequired, Conflict, Forbidden, InvalidInput, NotFound
from hallmark.licensing.facts import license_option
from hallmark.licensing.repository import LicensingRepository
from hallmark.styles.facts import model_facts
from hallmark.styles.models import StyleModel, StyleStatus, StyleTrainingWork
from hallmark.styles.repository import StyleRepository

DEFAULT_ENGINE = "studio"
MAX_TRAINING_WORKS = 500


def _not_trainable(artwork_id: uuid.UUID) -> Forbidden:
    """One refusal for a missing work and for someone else's: neither existence nor choices leak."""
    return Forbidden(
        f"Work {artwork_id} is not among your works or those licensed to you for training.",
        rule=rights.Rule.R2,
    )


def create_style(
    session: Session,
    owner: User,
    name: str,
    artwork_ids: Sequence[uuid.UUID],
    *,
    engine: str = DEFAULT_ENGINE,
    base_model: str = "",
    description: str | None = None,
    grants: Sequence[rights.UsageGrant] = (),
    hide_prompts: bool = False,
    allow_ai_training: bool = False,
) -> StyleModel:
    """Define a style model on a training set; every work must be trainable by the owner (R2)."""
    clean_name = name.strip()
    if not 1 <= len(clean_name) <= 100:
        raise InvalidInput("A style's name has 1 to 100 characters.")
    known = engine_names()
    if engine not in known:
        raise InvalidInput(f"Unknown engine '{engine}'; choose one of: {', '.join(known)}.")
    unique_ids = list(dict.fromkeys(artwork_ids))
    if len(unique_ids) > MAX_TRAINING_WORKS:
        raise InvalidInput(f"A training set has at most {MAX_TRAINING_WORKS} works.")
    styles = StyleRepository(session)
    if styles.find_by_owner_and_name(owner.id, clean_name) is not None:
        raise Conflict(f"You already have a style named '{clean_name}'.")

    found = ArtworkRepository(session).get_many(unique_ids)
    now = utcnow()
    for artwork_id in unique_ids:
        artwork = found.get(artwork_id)
        if artwork is None:
            raise _not_trainable(artwork_id)
        decision = rights.may_train_on(owner.id, artwork_facts(artwork), grants, at=now)
        if not decision.allowed:
            knows_it = artwork.owner_id == owner.id or any(
                grant.subject_id == artwork_id and grant.licensee_id == owner.id for grant in grants
            )
            if not knows_it:
                raise _not_trainable(artwork_id)
            raise Forbidden(f"Work {artwork_id}: {decision.reason}", rule=decision.rule)
    artworks = [found[artwork_id] for artwork_id in unique_ids]
    decision = rights.may_train_model(
        owner.id, [artwork_facts(a) for a in artworks], grants, at=now
    )
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)

    ownership = rights.owner_of_model(owner.id)
    assert ownership.owner_id is not None
    style = StyleModel(
        owner_id=ownership.owner_id,
        name=clean_name,
        description=(description or "").strip() or None,
        engine=engine,
        base_model=base_model.strip() or default_base_model(engine),
        status=StyleStatus.DRAFT.value,
        visibility=rights.Visibility.PRIVATE.value,
        hide_prompts=hide_prompts,
        allow_ai_training=allow_ai_training,
        training_works=[
            StyleTrainingWork(artwork_id=a.id, artwork_sha256=a.sha256) for a in artworks
        ],
    )
    try:
        with session.begin_nested():
            styles.add(style)
    except IntegrityError as error:
        raise Conflict(f"You already have a style named '{clean_name}'.") from error
    return style


def get_visible_style(session: Session, user: User | None, style_id: uuid.UUID) -> StyleModel:
    """A style the user may see: their own, or a public one; otherwise it does not exist (R5)."""
    style = StyleRepository(session).get_or_none(style_id)
    if style is None or not rights.may_view_model(user.id if user else None, model_facts(style)):
        raise NotFound("No such style.")
    return style


def owned_style(session: Session, user: User, style_id: uuid.UUID) -> StyleModel:
    """A style the user owns; others' visible styles are refused under R5, invisible ones hidden."""
    style = get_visible_style(session, user, style_id)
    decision = rights.may_change_model_visibility(user.id, model_facts(style))
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    return style


def publish_style(
    session: Session, user: User, style_id: uuid.UUID, *, accept_platform_license: bool
) -> StyleModel:
    """Publish a trained style, recording the owner's grant of the platform license (R5)."""
    style = owned_style(session, user, style_id)
    if not accept_platform_license:
        raise InvalidInput(
            "Publishing grants the platform a license to offer your model to other users, and "
            "images they make with it will belong to you; accept that license to publish.",
            rule=rights.Rule.R5,
        )
    if style.status != StyleStatus.READY.value:
        raise Conflict("Train the style before publishing it.")
    if style.visibility != rights.Visibility.PUBLIC.value:
        style.visibility = rights.Visibility.PUBLIC.value
        style.published_at = utcnow()
        session.flush()
    return style


def unpublish_style(session: Session, user: User, style_id: uuid.UUID) -> StyleModel:
    """Make a style private again: new generations by others stop, ownership stays (R5)."""
    style = owned_style(session, user, style_id)
    if style.visibility != rights.Visibility.PRIVATE.value:
        style.visibility = rights.Visibility.PRIVATE.value
        style.unpublished_at = utcnow()
        session.flush()
    return style


def list_own_styles(
    session: Session, owner: User, *, limit: int = 50, offset: int = 0
) -> tuple[list[StyleModel], int]:
    """A page of the owner's styles and their total count."""
    styles = StyleRepository(session)
    return (
        styles.list_for_owner(owner.id, limit=limit, offset=offset),
        styles.count_for_owner(owner.id),
    )


def list_public_styles(
    session: Session, *, limit: int = 50, offset: int = 0
) -> tuple[list[StyleModel], int]:
    """A page of published styles and their total count."""
    styles = StyleRepository(session)
    return styles.list_public(limit=limit, offset=offset), styles.count_public()


def set_style_status(session: Session, style: StyleModel, status: StyleStatus) -> StyleModel:
    """Record where a style is in its training life (called by the training jobs)."""
    style.status = status.value
    session.flush()
    return style


def style_name_of(session: Session, style_id: uuid.UUID) -> str | None:
    """The name of the model an image was made with, which the image discloses (R9)."""
    style = StyleRepository(session).get_or_none(style_id)
    return style.name if style else None


ACKNOWLEDGE_FIELD = "acknowledge_ownership"


def ownership_notice(
    session: Session, viewer: User | None, style: StyleModel
) -> rights.OwnershipNotice | None:
    """What a viewer other than the owner is told of the images made with the style (R4): whose
    they will be and the licenses the owner offers on them (sold by the platform, R7)."""
    facts = model_facts(style)
    offers = (
        [license_option(o) for o in LicensingRepository(session).open_offers_on_model(style.id)]
        if rights.platform_may_sell(facts).allowed
        else []
    )
    owner = UserRepository(session).get(style.owner_id)
    return rights.ownership_notice(viewer.id if viewer else None, facts, owner.username, offers)


def notice_for_viewer(
    session: Session, viewer: User | None, style: StyleModel
) -> tuple[rights.OwnershipNotice, bool] | None:
    """The viewer's ownership notice and whether they acknowledged it; None for the owner."""
    notice = ownership_notice(session, viewer, style)
    if notice is None:
        return None
    return notice, has_acknowledged_ownership(session, viewer, style)


def notices_for_viewer(
    session: Session, viewer: User | None, styles: Sequence[StyleModel]
) -> dict[uuid.UUID, tuple[rights.OwnershipNotice, bool]]:
    """`notice_for_viewer` for a page of styles, in three queries whatever its length; the
    viewer's own styles are absent."""
    others = [style for style in styles if viewer is None or style.owner_id != viewer.id]
    owners = UserRepository(session).get_many({style.owner_id for style in others})
    sold = [style.id for style in others if rights.platform_may_sell(model_facts(style)).allowed]
    offers = LicensingRepository(session).open_offers_on_models(sold)
    acknowledged = (
        StyleRepository(session).acknowledged_among(viewer.id, [s.id for s in others])
        if viewer is not None
        else set()
    )
    found = {}
    for style in others:
        options = [license_option(offer) for offer in offers.get(style.id, [])]
        notice = rights.ownership_notice(
            viewer.id if viewer else None,
            model_facts(style),
            owners[style.owner_id].username,
            options,
        )
        if notice is not None:
            found[style.id] = (notice, style.id in acknowledged)
    return found


def has_acknowledged_ownership(session: Session, user: User | None, style: StyleModel) -> bool:
    """Whether the user already acknowledged that the style's images are its owner's (R4)."""
    return user is not None and StyleRepository(session).has_acknowledged(user.id, style.id)


def check_ownership_acknowledged(
    session: Session, maker: User, style: StyleModel, *, acknowledge: bool
) -> rights.Decision:
    """Refuse someone else's model until its maker acknowledges, once per model, that the images
    will belong to its owner (R4), and record that acknowledgement; the owner is never asked."""
    already = has_acknowledged_ownership(session, maker, style)
    decision = rights.may_generate_acknowledged(
        maker.id, model_facts(style), acknowledged=already or acknowledge
    )
    if not decision.allowed:
        notice = ownership_notice(session, maker, style)
        told = f"{notice.statement} " if notice else ""
        raise AcknowledgementRequired(
            f'{told}{decision.reason} Send "{ACKNOWLEDGE_FIELD}": true to confirm; you are asked '
            "once per model.",
            rule=decision.rule,
        )
    if decision.rule is rights.Rule.R4 and not already:
        StyleRepository(session).record_acknowledgement(maker.id, style.id)
    return decision
