"""Request and response shapes of the jobs API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hallmark.schemas import MAX_DB_INT
from hallmark.styles.schemas import OwnershipNoticePublic


class TrainingRequest(BaseModel):
    """How to train: steps, size, LoRA rank, learning rate, device (unset: engine defaults)."""

    steps: int | None = Field(default=None, ge=1, le=100_000)
    resolution: int | None = Field(default=None, ge=64, le=2048, multiple_of=64)
    rank: int | None = Field(default=None, ge=1, le=256)
    learning_rate: float | None = Field(default=None, gt=0, le=1)
    device: str = Field(default="cpu", pattern=r"^(cpu|mps|cuda(:\d+)?)$")
    min_side: int | None = Field(default=None, ge=32, le=4096)
    checkpoint_every: int | None = Field(default=None, ge=0, le=MAX_DB_INT)
    validation_every: int | None = Field(
        default=None, ge=0, le=MAX_DB_INT, description="Sample images every N steps"
    )
    validation_prompt: str | None = Field(default=None, max_length=500)


class GenerationAsk(BaseModel):
    """What to draw and how (sampler settings left unset take the engine's defaults)."""

    prompt: str = Field(min_length=1, max_length=4000)
    negative_prompt: str | None = Field(default=None, max_length=4000)
    count: int = Field(default=1, ge=1, le=16)
    seed: int = Field(default=0, ge=0, le=MAX_DB_INT)
    steps: int | None = Field(default=None, ge=1, le=200)
    guidance: float | None = Field(default=None, ge=0, le=30)
    width: int | None = Field(default=None, ge=64, le=2048, multiple_of=8)
    height: int | None = Field(default=None, ge=64, le=2048, multiple_of=8)
    strength: float = Field(default=1.0, ge=0, le=2)
    acknowledge_ownership: bool = Field(
        default=False,
        description="With someone else's model: you accept that the images will be its owner's "
        "(R4); required on your first use of that model, remembered after",
    )

    def engine_request(self) -> dict[str, Any]:
        """What the job asks the engine for: the settings given, without the acknowledgement."""
        return self.model_dump(exclude_none=True, exclude={"acknowledge_ownership"})


class JobPublic(BaseModel):
    """A job as its requester sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    state: str
    style_id: uuid.UUID
    progress: float
    step: int
    total: int
    eta_seconds: float | None
    loss: float | None
    message: str
    error: str | None
    attempts: int
    result: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class GenerationQueued(JobPublic):
    """A queued generation, with whose the images will be when the model is someone else's."""

    ownership_notice: OwnershipNoticePublic | None = None
