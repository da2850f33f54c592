"""Use cases of generations: record an image under its owner (R3/R4), show it, hand it out."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hallmark import __version__, rights
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks.images import ImageInfo, inspect_image
from hallmark.blob_lifecycle import store_blob_for_row
from hallmark.db import utcnow
from hallmark.engines import EngineError, GenerationRequest, ModelArtifact, get_engine
from hallmark.errors import Conflict, Forbidden, InvalidInput, NotFound
from hallmark.generations.facts import generation_facts
from hallmark.generations.models import Generation
from hallmark.generations.repository import GenerationRepository, GenerationRole
from hallmark.instance import Instance
from hallmark.licensing.facts import usage_grant
from hallmark.licensing.repository import LicensingRepository
from hallmark.provenance.manifests import GenerationCredentials
from hallmark.provenance.service import sign_generated_image
from hallmark.similarity.service import PreparedImage
from hallmark.styles.facts import model_facts
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.repository import StyleRepository

MAX_PROMPT_LENGTH = 4000
MAX_GENERATED_BYTES = 64 * 1024 * 1024
MAX_GENERATED_PIXELS = 64_000_000


def check_may_generate(maker: User, style: StyleModel) -> rights.Decision:
    """Refuse a generation the rules forbid (R5), or one the style is not ready for."""
    decision = rights.may_generate(maker.id, model_facts(style))
    if not decision.allowed:
        if not rights.may_view_model(maker.id, model_facts(style)):
            raise NotFound("No such style.")
        raise Forbidden(decision.reason, rule=decision.rule)
    if style.status != StyleStatus.READY.value:
        raise Conflict("This style is not trained yet.")
    return decision


@dataclass(frozen=True)
class GenerationPlan:
    """What signing and storing a style's images needs, read before the engine runs.

    Plain data, so the engine, the signing and the fingerprinting run outside any transaction.
    """

    maker_id: uuid.UUID
    maker_username: str
    style_id: uuid.UUID
    style_name: str
    engine: str
    base_model: str
    hide_prompts: bool
    allow_ai_training: bool
    owner_id: uuid.UUID
    owner_username: str
    ownership_rule: str
    training_artwork_ids: tuple[uuid.UUID, ...]
    model_provenance: str = "trained"  # or "imported", on the owner's attestation (R2)
    model_attested_at: str | None = None


@dataclass(frozen=True)
class SignedGeneration:
    """An engine's image signed with its content credentials and hashed, ready to be stored."""

    id: uuid.UUID
    image: bytes
    info: ImageInfo
    prepared: PreparedImage
    prompt: str
    negative_prompt: str | None
    seed: int
    parameters: dict[str, Any]


def plan_generation(session: Session, maker: User, style: StyleModel) -> GenerationPlan:
    """Check the maker may generate with the style (R5) and read who will own the images (R3/R4)."""
    check_may_generate(maker, style)
    ownership = rights.owner_of_generation(maker.id, model_facts(style))
    assert ownership.owner_id is not None
    owner = UserRepository(session).get(ownership.owner_id)
    return GenerationPlan(
        maker_id=maker.id,
        maker_username=maker.username,
        style_id=style.id,
        style_name=style.name,
        engine=style.engine,
        base_model=style.base_model,
        hide_prompts=style.hide_prompts,
        allow_ai_training=style.allow_ai_training,
        owner_id=owner.id,
        owner_username=owner.username,
        ownership_rule=ownership.rule.value,
        training_artwork_ids=tuple(work.artwork_id for work in style.training_works),
        model_provenance=style.provenance,
        model_attested_at=style.attested_at.isoformat() if style.attested_at else None,
    )


def sign_generation(
    instance: Instance,
    plan: GenerationPlan,
    *,
    prompt: str,
    seed: int,
    image: bytes,
    negative_prompt: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> SignedGeneration:
    """Sign an engine's image (R9) and hash it for the copy guard, touching no database.

    Content credentials come first: the stored file, its SHA-256 and its fingerprint are of the
    signed file.
    """
    if len(prompt) > MAX_PROMPT_LENGTH:
        raise InvalidInput(f"A prompt has at most {MAX_PROMPT_LENGTH} characters.")
    engine_output = inspect_image(
        image, max_bytes=MAX_GENERATED_BYTES, max_pixels=MAX_GENERATED_PIXELS, min_side=1
    )
    generation_id = uuid.uuid4()
    credentials = GenerationCredentials(
        generation_id=str(generation_id),
        model_id=str(plan.style_id),
        model_name=plan.style_name,
        engine=plan.engine,
        base_model=plan.base_model,
        owner_id=str(plan.owner_id),
        owner_username=plan.owner_username,
        ownership_rule=plan.ownership_rule,
        maker_username=plan.maker_username,
        prompt=None if plan.hide_prompts else prompt,
        seed=seed,
        training_mining="allowed" if plan.allow_ai_training else "notAllowed",
        license_url=(
            f"{instance.settings.resolved_public_url}/api/generations/{generation_id}/offers"
        ),
        software_version=__version__,
        model_provenance=plan.model_provenance,
        model_attested_at=plan.model_attested_at,
    )
    signed = sign_generated_image(instance.signing_identity, image, engine_output.mime, credentials)
    info = inspect_image(
        signed, max_bytes=MAX_GENERATED_BYTES, max_pixels=MAX_GENERATED_PIXELS, min_side=1
    )
    prepared = PreparedImage.from_bytes(signed)
    # The copy guard's search reads the local features of the image and of its mirror; computed
    # now, they take no time in the write transaction that stores the image.
    _ = prepared.features, prepared.mirrored_features
    return SignedGeneration(
        id=generation_id,
        image=signed,
        info=info,
        prepared=prepared,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seed=seed,
        parameters=dict(parameters or {}),
    )


def store_generation(
    session: Session, instance: Instance, plan: GenerationPlan, signed: SignedGeneration
) -> Generation:
    """Record a signed image under its owner, after checking it is not a near-copy (R11).

    The rules are asked again on the rows as they are now: the style may have been unpublished
    while the engine ran.
    """
    maker = UserRepository(session).get_or_none(plan.maker_id)
    style = StyleRepository(session).get_or_none(plan.style_id)
    if maker is None or style is None:
        raise NotFound("No such style.")
    check_may_generate(maker, style)
    near = instance.copy_guard.near_copies_of(
        session,
        signed.prepared,
        include_generations=False,
        also_artworks=plan.training_artwork_ids,
    )
    store_blob_for_row(session, instance.blobs, signed.image)
    info = signed.info
    generation = Generation(
        id=signed.id,
        style_id=plan.style_id,
        maker_id=plan.maker_id,
        owner_id=plan.owner_id,
        ownership_rule=plan.ownership_rule,
        prompt=signed.prompt,
        negative_prompt=signed.negative_prompt,
        seed=signed.seed,
        parameters=dict(signed.parameters),
        sha256=info.sha256,
        mime=info.mime,
        width=info.width,
        height=info.height,
    )
    if near:
        closest = near[0]
        generation.near_copy = True
        generation.near_copy_artwork_id = closest.artwork_id
        generation.near_copy_method = closest.method.value
        generation.near_copy_distance = closest.distance
    GenerationRepository(session).add(generation)
    instance.copy_guard.record(
        session,
        signed.prepared,
        owner_id=generation.owner_id,
        sha256=info.sha256,
        generation_id=generation.id,
    )
    return generation


def record_generation(
    session: Session,
    instance: Instance,
    maker: User,
    style: StyleModel,
    *,
    prompt: str,
    seed: int,
    image: bytes,
    negative_prompt: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> Generation:
    """Store an image an engine made, owned by the model's owner whoever prompted it (R3/R4).

    It is compared with the style's training set and every registered artwork first: a near-copy
    is flagged (R11) and cannot be published or licensed until its owner clears it.
    """
    plan = plan_generation(session, maker, style)
    signed = sign_generation(
        instance,
        plan,
        prompt=prompt,
        seed=seed,
        image=image,
        negative_prompt=negative_prompt,
        parameters=parameters,
    )
    return store_generation(session, instance, plan, signed)


def make_images(artifact: ModelArtifact, engine: str, request: GenerationRequest) -> list[bytes]:
    """Run a style's engine (the long part, outside any transaction); each image as PNG bytes."""
    if len(request.prompt) > MAX_PROMPT_LENGTH:
        raise InvalidInput(f"A prompt has at most {MAX_PROMPT_LENGTH} characters.")
    try:
        images = get_engine(engine).generate(artifact, request)
    except EngineError as error:
        raise InvalidInput(str(error)) from None
    made = []
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        made.append(buffer.getvalue())
    return made


def sign_generations(
    instance: Instance,
    plan: GenerationPlan,
    request: GenerationRequest,
    images: Sequence[bytes],
    first: int = 0,
) -> Iterator[SignedGeneration]:
    """Sign the engine's images from number `first` on, one at a time, each with its own seed
    (no database work: callers store each in a transaction of their choosing)."""
    for number in range(first, len(images)):
        yield sign_generation(
            instance,
            plan,
            prompt=request.prompt,
            seed=request.seed + number,
            image=images[number],
            negative_prompt=request.negative_prompt,
            parameters=request.as_dict(),
        )


def _grants_of(
    session: Session, viewer: User | None, generation: Generation
) -> list[rights.UsageGrant]:
    """The licenses the viewer holds on an image, as the rules see them (R8)."""
    if viewer is None:
        return []
    licenses = LicensingRepository(session).licenses_held_on(viewer.id, generation.id)
    return [usage_grant(license_) for license_ in licenses]


# The functions below read the viewer's licenses themselves; a caller that already holds them as
# `grants` may pass them instead.


def get_visible_generation(
    session: Session,
    viewer: User | None,
    generation_id: uuid.UUID,
) -> Generation:
    """A generation for its owner, maker or licensees; to anyone else it does not exist."""
    generation = GenerationRepository(session).get_or_none(generation_id)
    if generation is None or not rights.may_view_generation(
        viewer.id if viewer else None,
        generation_facts(generation),
        _grants_of(session, viewer, generation),
        at=utcnow(),
    ):
        raise NotFound("No such image.")
    return generation


def download_decision(
    session: Session,
    viewer: User | None,
    generation: Generation,
) -> rights.Decision:
    """Whether the viewer may download an image's file: its owner, or a licensee (R4/R8)."""
    return rights.may_download_generation(
        viewer.id if viewer else None,
        generation_facts(generation),
        _grants_of(session, viewer, generation),
        at=utcnow(),
    )


def download_generation(
    session: Session,
    viewer: User | None,
    generation_id: uuid.UUID,
) -> Generation:
    """The image whose file the viewer may download; a viewer who may not see it finds none."""
    generation = get_visible_generation(session, viewer, generation_id)
    decision = download_decision(session, viewer, generation)
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    return generation


def list_generations(
    session: Session,
    user: User,
    role: GenerationRole = GenerationRole.ALL,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Generation], int]:
    """A page of the images a user made or owns, and their total count."""
    repository = GenerationRepository(session)
    return (
        repository.list_for_user(user.id, role, limit=limit, offset=offset),
        repository.count_for_user(user.id, role),
    )


def clear_near_copy(
    session: Session, user: User, generation_id: uuid.UUID, reason: str
) -> Generation:
    """The owner overrides a near-copy flag with a recorded reason (R11)."""
    generation = get_visible_generation(session, user, generation_id)
    decision = rights.may_clear_near_copy(user.id, generation_facts(generation), reason)
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    generation.near_copy_cleared_at = utcnow()
    generation.near_copy_cleared_reason = reason.strip()
    session.flush()
    return generation
