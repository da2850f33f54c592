"""Use cases of the gallery: an owner chooses previews and lists images; anyone browses them,
watermarked (the clean file stays with the owner and licensees, R4/R8)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.db import utcnow
from hallmark.errors import Forbidden, InvalidInput, NotFound
from hallmark.gallery.models import GalleryListing
from hallmark.gallery.repository import GalleryRepository, ListedImage, OwnImage, PublicModel
from hallmark.gallery.watermark import PreviewCache
from hallmark.generations.facts import generation_facts
from hallmark.generations.models import Generation
from hallmark.generations.repository import GenerationRepository
from hallmark.generations.service import get_visible_generation
from hallmark.storage import BlobStore
from hallmark.styles.facts import model_facts
from hallmark.styles.models import StyleModel
from hallmark.styles.repository import StyleRepository
from hallmark.styles.service import get_visible_style

MAX_PREVIEWS = 6
MAX_SEARCH_LENGTH = 100
# How many of a model's newest images the owner picks previews and listings from on its page.
CHOICES_SHOWN = 24


@dataclass(frozen=True)
class ModelWithPreviews:
    """A public model in the gallery, with its owner's name and the previews they chose."""

    model: PublicModel
    preview_ids: list[uuid.UUID]


def _search_text(text: str | None) -> str | None:
    """The search words trimmed, or None for "everything"; overlong searches are refused."""
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_SEARCH_LENGTH:
        raise InvalidInput(f"A search has at most {MAX_SEARCH_LENGTH} characters.")
    return cleaned or None


def curated_style(session: Session, user: User, style_id: uuid.UUID) -> StyleModel:
    """A model whose gallery the user may curate: theirs; others' public ones are refused (R3),
    private ones do not exist to them (R5)."""
    style = get_visible_style(session, user, style_id)
    decision = rights.may_curate_gallery(user.id, model_facts(style))
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    return style


def _not_a_choice(generation_id: uuid.UUID) -> Forbidden:
    """One refusal for a missing image and for someone else's: neither leaks that it exists."""
    return Forbidden(
        f"Image {generation_id} is not among your images made with this model.", rule=rights.Rule.R3
    )


def choose_previews(
    session: Session, user: User, style_id: uuid.UUID, generation_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Make up to MAX_PREVIEWS of the owner's own images of the model its previews, in order."""
    unique_ids = list(dict.fromkeys(generation_ids))
    if len(unique_ids) > MAX_PREVIEWS:
        raise InvalidInput(f"A model shows at most {MAX_PREVIEWS} previews.")
    style = curated_style(session, user, style_id)
    model = model_facts(style)
    found = GenerationRepository(session).get_many(unique_ids)
    for generation_id in unique_ids:
        generation = found.get(generation_id)
        if generation is None or generation.owner_id != user.id:
            raise _not_a_choice(generation_id)
        decision = rights.may_choose_preview(user.id, model, generation_facts(generation))
        if not decision.allowed:
            if decision.rule is rights.Rule.R3:
                raise _not_a_choice(generation_id)
            raise Forbidden(f"Image {generation_id}: {decision.reason}", rule=decision.rule)
    GalleryRepository(session).replace_previews(style.id, unique_ids)
    return unique_ids


def previews_of(session: Session, user: User | None, style_id: uuid.UUID) -> list[uuid.UUID]:
    """A model's chosen previews, for anyone who may see the model (R5)."""
    style = get_visible_style(session, user, style_id)
    return GalleryRepository(session).previews_of_models([style.id]).get(style.id, [])


def list_generation(session: Session, user: User, generation_id: uuid.UUID) -> GalleryListing:
    """The owner lists an image of their public model for licensing (R3/R7/R11); listing twice
    keeps the first listing."""
    generation = get_visible_generation(session, user, generation_id)
    style = StyleRepository(session).get(generation.style_id)
    decision = rights.may_list_generation(user.id, generation_facts(generation), model_facts(style))
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    listings = GalleryRepository(session)
    listing = listings.get_or_none(generation.id)
    if listing is None:
        listing = listings.add(
            GalleryListing(generation_id=generation.id, style_id=style.id, listed_at=utcnow())
        )
    return listing


def unlist_generation(session: Session, user: User, generation_id: uuid.UUID) -> None:
    """The owner takes an image out of the gallery; licenses already sold stay valid (R3)."""
    generation = get_visible_generation(session, user, generation_id)
    decision = rights.may_unlist_generation(user.id, generation_facts(generation))
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    GalleryRepository(session).unlist(generation.id)


def set_gallery_choices(
    session: Session,
    user: User,
    style_id: uuid.UUID,
    *,
    preview_ids: Sequence[uuid.UUID],
    listed_ids: Sequence[uuid.UUID],
) -> None:
    """The owner's choices from the model's page: these previews, and these of the images shown
    there listed (the others shown there unlisted)."""
    choose_previews(session, user, style_id, preview_ids)
    wanted = set(listed_ids)
    for image in own_images(session, user, style_id):
        image_id = image.generation.id
        if image_id in wanted and not image.listed:
            list_generation(session, user, image_id)
        elif image_id not in wanted and image.listed:
            unlist_generation(session, user, image_id)
        wanted.discard(image_id)
    if wanted:
        raise _not_a_choice(next(iter(wanted)))


def own_images(session: Session, user: User, style_id: uuid.UUID) -> list[OwnImage]:
    """The owner's newest images of their model, with what the gallery shows of each."""
    style = curated_style(session, user, style_id)
    return GalleryRepository(session).own_images_of(style.id, user.id, limit=CHOICES_SHOWN)


def shown_image(
    session: Session, viewer: User | None, generation_id: uuid.UUID
) -> tuple[Generation, StyleModel]:
    """An image the gallery shows the viewer, and its model: listed or chosen as a preview of a
    public model (R7), or the viewer's own. Nobody else learns that the image exists."""
    generation = GenerationRepository(session).get_or_none(generation_id)
    if generation is None:
        raise NotFound("No such image.")
    style = StyleRepository(session).get(generation.style_id)
    gallery = GalleryRepository(session)
    decision = rights.may_view_preview(
        viewer.id if viewer else None,
        generation_facts(generation),
        model_facts(style),
        listed=gallery.is_listed(generation.id),
        chosen=gallery.is_preview(generation.id),
    )
    if not decision.allowed:
        raise NotFound("No such image.")
    return generation, style


def preview_bytes(
    session: Session,
    blobs: BlobStore,
    cache: PreviewCache,
    viewer: User | None,
    generation_id: uuid.UUID,
) -> bytes:
    """The watermarked preview of an image the gallery shows the viewer; the clean file stays
    with its owner and licensees (R4/R8)."""
    generation, _style = shown_image(session, viewer, generation_id)
    return cache.get_or_make(generation.sha256, lambda: blobs.get(generation.sha256))


def browse_listed(
    session: Session,
    text: str | None = None,
    style_id: uuid.UUID | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ListedImage], int]:
    """A page of images listed for licensing, of public models whose style matches the search."""
    search = _search_text(text)
    gallery = GalleryRepository(session)
    return (
        gallery.listed_images(search, style_id, limit=limit, offset=offset),
        gallery.count_listed_images(search, style_id),
    )


def browse_models(
    session: Session, text: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[ModelWithPreviews], int]:
    """A page of public models matching the search, each with its chosen previews."""
    search = _search_text(text)
    gallery = GalleryRepository(session)
    models = gallery.public_models(search, limit=limit, offset=offset)
    previews = gallery.previews_of_models([found.style.id for found in models])
    return (
        [ModelWithPreviews(found, previews.get(found.style.id, [])) for found in models],
        gallery.count_public_models(search),
    )


def previews_of_public_models(
    session: Session, styles: Sequence[StyleModel]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The chosen previews of the public ones among these models, in one query (R5)."""
    shown = [style.id for style in styles if rights.may_view_model(None, model_facts(style))]
    return dict(GalleryRepository(session).previews_of_models(shown))
