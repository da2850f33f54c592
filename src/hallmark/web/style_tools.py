"""What a model's page shows: the ownership notice for others, and for its owner the gallery
choices and the usage register's link."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.gallery import service as gallery
from hallmark.styles import service as styles
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


def create_page_context(session: Session, user: User, style: StyleModel) -> dict[str, Any]:
    """The create page's style, and for someone else's the ownership notice of the rules (R4)
    with whether this person still has to acknowledge it."""
    found = styles.notice_for_viewer(session, user, style)
    notice, acknowledged = found if found else (None, True)
    mine = style.owner_id == user.id
    return {
        "style": style,
        "notice": notice,
        "acknowledged": acknowledged,
        "mine": mine,
        **owner_tools(session, user, style),
    }
