"""Training a style with its engine: the owner's works in, a trained model folder out (R2)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.artworks.facts import artwork_facts
from hallmark.artworks.repository import ArtworkRepository
from hallmark.db import utcnow
from hallmark.engines import (
    EngineError,
    ModelArtifact,
    ProgressCallback,
    StopCheck,
    TrainingConfig,
    TrainingImage,
    get_engine,
    training_defaults,
)
from hallmark.errors import Conflict, Forbidden, InvalidInput
from hallmark.instance import Instance
from hallmark.styles.artifacts import model_folder
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.repository import StyleRepository
from hallmark.styles.service import owned_style, set_style_status


def style_directory(instance: Instance, style_id: uuid.UUID) -> Path:
    """Where a style's trained model and checkpoints live, in the data directory."""
    return instance.settings.data_dir / "styles" / str(style_id)


def load_artifact(instance: Instance, style: StyleModel) -> ModelArtifact:
    """A trained style's model folder: from the blob store (cached on this host), or, for a
    style trained before models were kept there, from the folder it was trained in."""
    try:
        if style.artifact_sha256:
            return ModelArtifact.load(model_folder(instance, style.artifact_sha256))
        return ModelArtifact.load(style_directory(instance, style.id))
    except EngineError as error:
        raise Conflict(f"This style has no trained model yet: {error}") from None


@dataclass(frozen=True)
class TrainingPlan:
    """Everything a training run needs, read from the database before the long work starts."""

    style_id: uuid.UUID
    engine: str
    images: list[TrainingImage]
    config: TrainingConfig


def plan_training(
    session: Session,
    instance: Instance,
    owner: User,
    style_id: uuid.UUID,
    knobs: Mapping[str, Any] | None = None,
) -> TrainingPlan:
    """Check the owner may train this style on its works (R2) and read what training needs.

    `knobs` override the engine's training defaults; the base model and folder are the style's.
    """
    style = owned_style(session, owner, style_id)
    works = ArtworkRepository(session).get_many([w.artwork_id for w in style.training_works])
    decision = rights.may_train_model(
        owner.id, [artwork_facts(a) for a in works.values()], (), at=utcnow()
    )
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    try:
        get_engine(style.engine)
    except EngineError as error:
        raise InvalidInput(str(error)) from None
    if not style.base_model:
        raise InvalidInput("Set the style's base model (a diffusers folder, checkpoint or hub id).")
    images = [
        TrainingImage(
            Image.open(io.BytesIO(instance.blobs.get(artwork.sha256))).convert("RGB"),
            artwork.caption,
        )
        for artwork in works.values()
    ]
    try:
        config = TrainingConfig(
            base_model=style.base_model,
            output_dir=style_directory(instance, style.id),
            **{**training_defaults(style.engine), **(knobs or {})},
        )
    except TypeError as error:
        raise InvalidInput(f"Unknown training setting: {error}") from None
    set_style_status(session, style, StyleStatus.TRAINING)
    return TrainingPlan(style.id, style.engine, images, config)


def run_training(
    plan: TrainingPlan, on_progress: ProgressCallback, should_stop: StopCheck
) -> ModelArtifact:
    """The long part, outside any database transaction: the engine learns the style."""
    return get_engine(plan.engine).train(plan.images, plan.config, on_progress, should_stop)


def record_training_outcome(
    session: Session,
    style_id: uuid.UUID,
    outcome: StyleStatus,
    artifact_sha256: str | None = None,
) -> StyleModel:
    """Mark the style ready after training (naming the blob of its model), back to draft if
    stopped, failed on an error."""
    style = StyleRepository(session).get_or_none(style_id)
    if style is None:
        raise Conflict("The style was deleted during training.")
    if artifact_sha256 is not None:
        style.artifact_sha256 = artifact_sha256
    return set_style_status(session, style, outcome)
