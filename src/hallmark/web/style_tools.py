"""What a model's page shows its owner beyond the prompt box: the gallery choices and the
usage register's link."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.gallery import service as gallery
from hallmark.styles.models import StyleModel


def owner_tools(session: Session, user: User, style: StyleModel) -> dict[str, Any]:
    """The owner's newest images of the model, to pick previews and listings from (nothing for
    anyone else)."""
    if style.owner_id != user.id:
        return {}
    return {
        "gallery_images": gallery.own_images(session, user, style.id),
        "max_previews": gallery.MAX_PREVIEWS,
    }
