"""Use cases of the usage register: a model's owner reads who used it, on a page or as CSV."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.errors import Forbidden
from hallmark.styles.facts import model_facts
from hallmark.styles.models import StyleModel
from hallmark.styles.service import get_visible_style
from hallmark.usage.repository import UsageEntry, UsageRepository

# The most rows one CSV export holds; larger registers are exported in several parts.
MAX_EXPORT_IMAGES = 10_000


def register_style(session: Session, user: User | None, style_id: uuid.UUID) -> StyleModel:
    """The model whose register the user may read: their own (R3). Another's public model is
    refused; a private one does not exist to them (R5)."""
    style = get_visible_style(session, user, style_id)
    decision = rights.may_view_usage_register(user.id if user else None, model_facts(style))
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    return style


def usage_register(
    session: Session, user: User, style_id: uuid.UUID, *, limit: int = 50, offset: int = 0
) -> tuple[StyleModel, list[UsageEntry], int]:
    """A page of a model's register (newest image first), its total, and the model."""
    style = register_style(session, user, style_id)
    usage = UsageRepository(session)
    return (
        style,
        usage.entries_for_style(style.id, limit=limit, offset=offset),
        usage.count_for_style(style.id),
    )
