"""Training a style with its engine: the owner's works in, a trained model folder out (R2)."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from pathlib import Path

from PIL import Image
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.artworks.repository import ArtworkRepository
from hallmark.artworks.service import artwork_facts
from hallmark.db import utcnow
from hallmark.engines import (
    EngineError,
    ModelArtifact,
    ProgressCallback,
    StopCheck,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
    get_engine,
)
from hallmark.errors import Conflict, Forbidden, InvalidInput
from hallmark.instance import Instance
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import owned_style, set_style_status


def style_directory(instance: Instance, style_id: uuid.UUID) -> Path:
    """Where a style's trained model and checkpoints live, in the data directory."""
    return instance.settings.data_dir / "styles" / str(style_id)


def load_artifact(instance: Instance, style: StyleModel) -> ModelArtifact:
    """A trained style's model folder."""
    try:
        return ModelArtifact.load(style_directory(instance, style.id))
    except EngineError as error:
        raise Conflict(f"This style has no trained model yet: {error}") from None


def train_style(
    session: Session,
    instance: Instance,
    owner: User,
    style_id: uuid.UUID,
    *,
    settings: TrainingConfig | None = None,
    on_progress: ProgressCallback = lambda progress: None,
    should_stop: StopCheck = lambda: False,
) -> StyleModel:
    """Train the owner's style on its works (checked again under R2), resuming if interrupted.

    `settings` carries the engine's knobs; its base model and folder are the style's own.
    """
    style = owned_style(session, owner, style_id)
    works = ArtworkRepository(session).get_many([w.artwork_id for w in style.training_works])
    decision = rights.may_train_model(
        owner.id, [artwork_facts(a) for a in works.values()], (), at=utcnow()
    )
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    try:
        engine = get_engine(style.engine)
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
    config = replace(
        settings or TrainingConfig(base_model=style.base_model, output_dir=Path()),
        base_model=style.base_model,
        output_dir=style_directory(instance, style.id),
    )
    set_style_status(session, style, StyleStatus.TRAINING)
    try:
        engine.train(images, config, on_progress, should_stop)
    except TrainingStopped:
        set_style_status(session, style, StyleStatus.DRAFT)
        raise
    except EngineError as error:
        set_style_status(session, style, StyleStatus.FAILED)
        raise InvalidInput(str(error)) from None
    return set_style_status(session, style, StyleStatus.READY)
