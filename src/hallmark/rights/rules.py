"""The ownership rules R1–R9 and R11 as pure functions: facts in, a decision with its rule out.

The terms of a license (R8) are decided one by one in `rights.terms`; other services' terms (R10)
in `rights.advisor`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from hallmark.rights.decisions import (
    Decision,
    LicenseTerm,
    OwnershipDecision,
    Rule,
    TermDecision,
    allow,
    refuse,
)
from hallmark.rights.facts import (
    ArtworkFacts,
    GenerationFacts,
    ModelFacts,
    OfferFacts,
    ProceedsSplit,
    Purpose,
    RegisteredWork,
    SaleChannel,
    UsageGrant,
    Visibility,
)
from hallmark.rights.terms import license_in_force, purpose_permits

BASIS_POINTS = 10_000

# ---------------------------------------------------------------------------------------- R1


def owner_of_upload(uploader_id: uuid.UUID, *, rights_attested: bool) -> OwnershipDecision:
    """R1: an upload belongs to its uploader, once they attest that they hold its rights."""
    if not rights_attested:
        return OwnershipDecision(
            False,
            Rule.R1,
            "Confirm that you hold the rights to this work before uploading it.",
        )
    return OwnershipDecision(True, Rule.R1, "Uploads belong to their uploader.", uploader_id)


def may_register_artwork(uploader_id: uuid.UUID, matches: Sequence[RegisteredWork]) -> Decision:
    """R1: nobody may register a work that another account already registered as theirs."""
    if any(match.owner_id != uploader_id for match in matches):
        return refuse(
            Rule.R1,
            "This work is already registered by another artist. If it is yours, open a dispute "
            "and an operator will review it.",
        )
    if matches:
        return allow(Rule.R1, "This is a variant of a work you already registered.")
    return allow(Rule.R1, "A new work, registered to you.")


def may_view_artwork_file(user_id: uuid.UUID | None, artwork: ArtworkFacts) -> Decision:
    """R1: an artwork's full-resolution file is for its owner only."""
    if user_id == artwork.owner_id:
        return allow(Rule.R1, "You own this work.")
    return refuse(Rule.R1, "Only the owner of a work may see its full-resolution file.")


# ---------------------------------------------------------------------------------------- R2


def owner_of_model(trainer_id: uuid.UUID) -> OwnershipDecision:
    """R2: a style model belongs to the artist who trained it."""
    return OwnershipDecision(
        True, Rule.R2, "A model trained on your works belongs to you.", trainer_id
    )


def may_export_model(user_id: uuid.UUID, model: ModelFacts) -> Decision:
    """R2: a model is its owner's to take elsewhere; publishing it gives nobody else a copy."""
    if user_id == model.owner_id:
        return allow(Rule.R2, "The model belongs to you; take it wherever you work.")
    return refuse(Rule.R2, "Only the model's owner may export it.")


def may_import_model(user_id: uuid.UUID, *, trained_on_own_works_attested: bool) -> Decision:
    """R2: a model trained elsewhere becomes yours only on your word that it was trained on
    works you hold the rights to; the import records that attestation."""
    if not trained_on_own_works_attested:
        return refuse(
            Rule.R2,
            "Confirm that the model was trained only on works you hold the rights to "
            "before importing it.",
        )
    return allow(
        Rule.R2,
        "You attest the model was trained on works you hold the rights to; it belongs to you.",
    )


def may_train_on(
    user_id: uuid.UUID, artwork: ArtworkFacts, grants: Iterable[UsageGrant], *, at: datetime
) -> Decision:
    """R2: train only on your own works or licensed ones, and never on a work opted out."""
    if artwork.training_opt_out:
        if user_id == artwork.owner_id:
            return refuse(
                Rule.R2,
                "You opted this work out of training; clear the opt-out to train on it.",
            )
        return refuse(Rule.R2, "Its owner opted this work out of training.")
    if user_id == artwork.owner_id:
        return allow(Rule.R2, "You own this work.")
    for grant in grants:
        if (
            grant.subject_id == artwork.id
            and grant.licensee_id == user_id
            and grant.licensor_id == artwork.owner_id
            and Purpose.AI_TRAINING in grant.purposes
            and grant.in_force(at)
        ):
            return allow(Rule.R2, "You hold a training license for this work from its owner.")
    return refuse(
        Rule.R2,
        "You may train only on your own works or works whose owner granted you a training license.",
    )


def may_train_model(
    user_id: uuid.UUID,
    artworks: Sequence[ArtworkFacts],
    grants: Sequence[UsageGrant],
    *,
    at: datetime,
) -> Decision:
    """R2: a training set is allowed only if every work in it is; the first refusal names why."""
    if not artworks:
        return refuse(Rule.R2, "A style needs at least one work to train on.")
    for artwork in artworks:
        decision = may_train_on(user_id, artwork, grants, at=at)
        if not decision.allowed:
            return refuse(Rule.R2, f"Work {artwork.id}: {decision.reason}")
    return allow(Rule.R2, "Every work in the set is yours or licensed to you for training.")


# ------------------------------------------------------------------------------------ R3, R4


def owner_of_generation(maker_id: uuid.UUID, model: ModelFacts) -> OwnershipDecision:
    """R3/R4: an image belongs to the owner of the model that made it, whoever wrote the prompt."""
    if maker_id == model.owner_id:
        return OwnershipDecision(
            True, Rule.R3, "Images made with your model belong to you.", model.owner_id
        )
    return OwnershipDecision(
        True,
        Rule.R4,
        "Images made with someone else's model belong to that model's owner; "
        "license an image to use it.",
        model.owner_id,
    )


def _licenses_held(
    user_id: uuid.UUID | None, generation: GenerationFacts, grants: Iterable[UsageGrant]
) -> list[UsageGrant]:
    """The licenses the user holds on this image from its owner that name at least one use."""
    return [
        grant
        for grant in grants
        if user_id is not None
        and grant.subject_id == generation.id
        and grant.licensee_id == user_id
        and grant.licensor_id == generation.owner_id
        and grant.purposes
    ]


def _holds_license(
    user_id: uuid.UUID | None,
    generation: GenerationFacts,
    grants: Iterable[UsageGrant],
    at: datetime,
) -> bool:
    """Whether the user holds an in-force license for this image from its owner naming a use."""
    return any(
        license_in_force(grant, at=at).allowed
        for grant in _licenses_held(user_id, generation, grants)
    )


def may_view_generation(
    user_id: uuid.UUID | None,
    generation: GenerationFacts,
    grants: Iterable[UsageGrant] = (),
    *,
    at: datetime | None = None,
) -> Decision:
    """R3/R4/R8: a generated image is visible to its owner, its maker and its licensees."""
    if user_id == generation.owner_id:
        return allow(Rule.R3, "You own this image.")
    if user_id == generation.maker_id:
        return allow(Rule.R4, "You made this image; it belongs to the model's owner.")
    grants = tuple(grants)
    if grants and at is None:
        raise ValueError("pass `at` to decide on licenses")
    if at is not None and _holds_license(user_id, generation, grants, at):
        return allow(Rule.R8, "You hold a license for this image.")
    return refuse(Rule.R3, "Only the owner, the maker and licensees of an image may see it.")


def may_download_generation(
    user_id: uuid.UUID | None,
    generation: GenerationFacts,
    grants: Iterable[UsageGrant],
    *,
    at: datetime,
) -> Decision:
    """R4/R8: the owner may download; anyone else only while a license of theirs is in force, and
    a license that ended or was revoked is named as the reason."""
    if user_id == generation.owner_id:
        return allow(Rule.R3, "You own this image.")
    in_force = [
        license_in_force(grant, at=at) for grant in _licenses_held(user_id, generation, grants)
    ]
    if any(decision.allowed for decision in in_force):
        return TermDecision(
            True, Rule.R8, "You hold a license for this image.", LicenseTerm.DURATION
        )
    if in_force:
        ended = in_force[0]
        return replace(ended, reason=f"{ended.reason} License the image again to download it.")
    if user_id == generation.maker_id:
        return refuse(
            Rule.R4,
            "This image belongs to the model's owner; license it from them to download it.",
        )
    return refuse(Rule.R8, "Only the owner, or someone holding a license, may download it.")


def may_train_on_generation(
    user_id: uuid.UUID | None, generation: GenerationFacts, *, opted_out: bool
) -> Decision:
    """R2: nobody but its owner trains on an image its owner opted out of AI training; anyone
    else still needs a training license from the owner (R8)."""
    if user_id == generation.owner_id:
        return allow(Rule.R3, "Images made with your model are yours (R3).")
    if opted_out:
        return refuse(
            Rule.R2,
            "Its owner opted this image out of AI training (its content credentials say so); "
            "nobody else may train on it.",
        )
    return allow(
        Rule.R2,
        "Its owner did not opt this image out of training; a training license from them is "
        "still needed (R8).",
    )


# ---------------------------------------------------------------------------------------- R5


def may_view_model(user_id: uuid.UUID | None, model: ModelFacts) -> Decision:
    """R5: a private model is its owner's alone; a public one anyone may see."""
    if user_id == model.owner_id:
        return allow(Rule.R5, "You own this model.")
    if model.visibility is Visibility.PUBLIC:
        return allow(Rule.R5, "This model is public.")
    return refuse(Rule.R5, "This model is private to its owner.")


def may_generate(user_id: uuid.UUID | None, model: ModelFacts) -> Decision:
    """R5: the owner may always generate; other signed-in users only with a published model."""
    if user_id is None:
        return refuse(Rule.R5, "Sign in to generate images.")
    if user_id == model.owner_id:
        return allow(Rule.R3, "Your model: the images will belong to you.")
    if model.visibility is Visibility.PUBLIC:
        return allow(
            Rule.R4,
            "A public model: the images you make will belong to its owner, "
            "and you may license them.",
        )
    return refuse(Rule.R5, "This model is private to its owner.")


def may_change_model_visibility(user_id: uuid.UUID, model: ModelFacts) -> Decision:
    """R5: only the owner publishes or unpublishes a model."""
    if user_id == model.owner_id:
        return allow(Rule.R5, "Publishing is the owner's choice.")
    return refuse(Rule.R5, "Only the model's owner may publish or unpublish it.")


# ------------------------------------------------------------------------------------ R6, R7


def may_set_offer(user_id: uuid.UUID, owner_id: uuid.UUID) -> Decision:
    """R6: only the owner sets the price and terms of licenses for their images and models."""
    if user_id == owner_id:
        return allow(Rule.R6, "Owners set their own price and terms.")
    return refuse(Rule.R6, "Only the owner may offer licenses for this work.")


def platform_may_sell(model: ModelFacts) -> Decision:
    """R7: the platform sells licenses on an owner's behalf only for published models."""
    if model.visibility is Visibility.PUBLIC:
        return allow(
            Rule.R7, "The model is public, so the platform may sell on its owner's behalf."
        )
    return refuse(Rule.R7, "The platform sells licenses only for images of public models.")


def may_take_offer(
    generation: GenerationFacts,
    model: ModelFacts,
    offer: OfferFacts,
    licenses: Iterable[UsageGrant],
) -> Decision:
    """R6/R7/R8: whether an offer on an image is open now, whoever would take it.

    The owner's own offer on an image is theirs to make (R6); a model-wide offer is sold by the
    platform on the owner's behalf, which it may do only while the model is public (R7); neither
    sells past an exclusive license (R8). `licenses` are the licenses granted on the image.
    """
    if offer.withdrawn:
        return refuse(Rule.R6, "The owner withdrew this offer.")
    exclusivity = exclusivity_permits(generation, offer, licenses)
    if not exclusivity.allowed:
        return exclusivity
    if offer.channel is SaleChannel.PLATFORM:
        if not platform_may_sell(model).allowed:
            return refuse(
                Rule.R7,
                "This image's model is not published, so the platform cannot sell licenses "
                "for it on the owner's behalf; ask the owner for a direct offer.",
            )
        return allow(Rule.R7, "The platform sells this license on the owner's behalf.")
    return allow(Rule.R6, "The owner offers this license directly.")


def may_buy_license(
    buyer_id: uuid.UUID,
    generation: GenerationFacts,
    model: ModelFacts,
    offer: OfferFacts,
    licenses: Iterable[UsageGrant],
) -> Decision:
    """R3/R6/R7/R8/R11: anyone but the owner may take an open offer on an image that is not an
    open near-copy; `licenses` are the licenses granted on the image (see `may_take_offer`)."""
    if buyer_id == generation.owner_id:
        return refuse(Rule.R3, "You own this image; there is nothing to license.")
    near_copy = may_license_generation(generation)
    if not near_copy.allowed:
        return near_copy
    return may_take_offer(generation, model, offer, licenses)


def may_view_offer(
    user_id: uuid.UUID | None,
    generation: GenerationFacts,
    model: ModelFacts,
    offer: OfferFacts,
    grants: Iterable[UsageGrant] = (),
    *,
    at: datetime,
) -> Decision:
    """R5/R6/R7: whoever may see an image sees its offers; anyone sees an owner's offer on one
    image, and a model-wide offer while the model is public; no one else learns of it."""
    seeing = may_view_generation(user_id, generation, grants, at=at)
    if seeing.allowed:
        return seeing
    if offer.channel is SaleChannel.OWNER:
        return allow(Rule.R6, "The owner offers this image for licensing.")
    if platform_may_sell(model).allowed:
        return allow(Rule.R7, "The platform offers images of this public model for licensing.")
    return refuse(
        Rule.R5,
        "This image's model is private: only the owner, the maker and licensees see its offers.",
    )


def split_proceeds(
    price_minor: int, channel: SaleChannel, *, platform_fee_bps: int
) -> ProceedsSplit:
    """R6/R7: an owner's own sale leaves them everything; a platform sale keeps its fee only."""
    if price_minor < 0:
        raise ValueError("a price cannot be negative")
    if not 0 <= platform_fee_bps <= BASIS_POINTS:
        raise ValueError("the platform fee must be between 0 and 10000 basis points")
    if channel is SaleChannel.OWNER:
        return ProceedsSplit(price_minor, price_minor, 0, Rule.R6)
    platform_minor = price_minor * platform_fee_bps // BASIS_POINTS
    return ProceedsSplit(price_minor, price_minor - platform_minor, platform_minor, Rule.R7)


# ---------------------------------------------------------------------------------------- R8


def _exclusivity(allowed: bool, reason: str) -> TermDecision:
    return TermDecision(allowed, Rule.R8, reason, LicenseTerm.EXCLUSIVITY)


def exclusivity_permits(
    generation: GenerationFacts, offer: OfferFacts, licenses: Iterable[UsageGrant]
) -> Decision:
    """R8: an exclusive license is its holder's alone: once one is granted on an image nothing
    more is sold on it, and one is sold only while nobody holds a license on the image.

    A license counts until it is revoked, expired or not: an image is licensed exclusively once.
    """
    held = [grant for grant in licenses if grant.subject_id == generation.id and not grant.revoked]
    if any(grant.exclusive for grant in held):
        return _exclusivity(False, "This image is licensed exclusively; no other license is sold.")
    if offer.exclusive and held:
        return _exclusivity(
            False,
            "Someone already holds a license on this image, so it cannot be licensed exclusively.",
        )
    if offer.exclusive:
        return _exclusivity(True, "Nobody holds a license on this image, so one may hold it alone.")
    return _exclusivity(True, "No exclusive license holds this image.")


def may_view_license(user_id: uuid.UUID | None, license_: UsageGrant) -> Decision:
    """R8: a license is seen by its two parties only: the owner who granted it and its holder."""
    if user_id == license_.licensor_id:
        return allow(Rule.R8, "You granted this license.")
    if user_id == license_.licensee_id:
        return allow(Rule.R8, "You hold this license.")
    return refuse(Rule.R8, "Only the owner who granted a license and its holder may see it.")


def owner_after_license(generation: GenerationFacts, grant: UsageGrant) -> OwnershipDecision:
    """R8: a license grants uses, never ownership: the owner stays who they were."""
    return OwnershipDecision(
        True,
        Rule.R8,
        "A license grants designated uses, never the copyright or ownership.",
        generation.owner_id,
    )


def grant_permits(grant: UsageGrant, purpose: Purpose, *, at: datetime) -> Decision:
    """R8: a license permits exactly the purposes it names, while it is in force; the other
    terms (territory, copy cap, attribution) are decided by `rights.terms.license_permits`."""
    in_force = license_in_force(grant, at=at)
    if not in_force.allowed:
        return in_force
    return purpose_permits(grant, purpose)


# ---------------------------------------------------------------------------------------- R9


def disclosure_permits(keeps_disclosure: bool, *, derivative: bool) -> Decision:
    """R9: a Hallmark image, re-published or made into a derivative (a tracing, an edit), keeps
    its AI disclosure: the derivative carries the original's credentials as an ingredient."""
    what = "A derivative of a Hallmark image" if derivative else "A Hallmark image"
    if not keeps_disclosure:
        return refuse(
            Rule.R9,
            f"{what} may not be published without its AI disclosure: sign it with the original "
            "as its ingredient (hallmark derive) so it still says it is AI-made, by which "
            "model, owned by whom.",
        )
    return allow(Rule.R9, f"{what} is published with its AI disclosure kept.")


# --------------------------------------------------------------------------------------- R11


def may_publish_generation(user_id: uuid.UUID, generation: GenerationFacts) -> Decision:
    """R11: only the owner publishes an image, and never a near-copy they have not cleared."""
    if user_id != generation.owner_id:
        return refuse(Rule.R3, "Only the image's owner may publish it.")
    if generation.near_copy and not generation.near_copy_cleared:
        return refuse(
            Rule.R11,
            "This image is too close to an existing work; review it and clear it with a reason "
            "before publishing.",
        )
    return allow(Rule.R11, "No unresolved near-copy.")


def may_license_generation(generation: GenerationFacts) -> Decision:
    """R11: a near-copy cannot be licensed until its owner clears it."""
    if generation.near_copy and not generation.near_copy_cleared:
        return refuse(
            Rule.R11,
            "This image is too close to an existing work and cannot be licensed until its owner "
            "clears it.",
        )
    return allow(Rule.R11, "No unresolved near-copy.")


def may_clear_near_copy(user_id: uuid.UUID, generation: GenerationFacts, reason: str) -> Decision:
    """R11: only the owner overrides a near-copy flag, and only with a stated reason."""
    if user_id != generation.owner_id:
        return refuse(Rule.R11, "Only the image's owner may clear a near-copy flag.")
    if not generation.near_copy:
        return refuse(Rule.R11, "This image is not flagged as a near-copy.")
    if not reason.strip():
        return refuse(Rule.R11, "Give a reason for clearing the near-copy flag; it is recorded.")
    return allow(Rule.R11, "The owner cleared the flag with a recorded reason.")
