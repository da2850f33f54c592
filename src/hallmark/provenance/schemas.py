"""Response shapes of the provenance API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class RegistryMatchPublic(BaseModel):
    """A registered image the file matches by its perceptual hash."""

    kind: str
    id: str
    owner_username: str
    method: str
    distance: int


class VerificationPublic(BaseModel):
    """What a file's content credentials say, and whether they hold."""

    verdict: str
    signer: str | None
    generator: str | None
    ai_generated: bool | None
    facts: dict[str, Any]
    training_mining: dict[str, str]
    derived_from: list[dict[str, Any]]
    problems: list[str]
    registry_matches: list[RegistryMatchPublic]
    summary: str
