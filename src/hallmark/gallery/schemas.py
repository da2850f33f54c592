"""Request and response shapes of the gallery API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hallmark.gallery.repository import ListedImage
from hallmark.gallery.service import MAX_PREVIEWS, ModelWithPreviews


def preview_url(generation_id: uuid.UUID) -> str:
    """Where anyone fetches an image's watermarked preview."""
    return f"/api/generations/{generation_id}/preview"


class PreviewsChoice(BaseModel):
    """The owner's previews for a model, in the order to show them."""

    generation_ids: list[uuid.UUID] = Field(max_length=MAX_PREVIEWS)


class PreviewPublic(BaseModel):
    """One preview: the image and where its watermarked copy is."""

    generation_id: uuid.UUID
    preview_url: str

    @classmethod
    def of(cls, generation_id: uuid.UUID) -> PreviewPublic:
        """The preview of one image."""
        return cls(generation_id=generation_id, preview_url=preview_url(generation_id))


class StylePreviews(BaseModel):
    """A model's chosen previews."""

    style_id: uuid.UUID
    previews: list[PreviewPublic]


class ListingPublic(BaseModel):
    """An image listed for licensing."""

    model_config = ConfigDict(from_attributes=True)

    generation_id: uuid.UUID
    style_id: uuid.UUID
    listed_at: datetime


class ListedImagePublic(BaseModel):
    """A listed image as the gallery shows it: watermarked, with where to license it."""

    generation_id: uuid.UUID
    style_id: uuid.UUID
    style_name: str
    owner_username: str
    width: int
    height: int
    listed_at: datetime
    preview_url: str
    offers_url: str

    @classmethod
    def of(cls, image: ListedImage) -> ListedImagePublic:
        """Build the response from the repository's row."""
        return cls(
            **image._asdict(),
            preview_url=preview_url(image.generation_id),
            offers_url=f"/api/generations/{image.generation_id}/offers",
        )


class GalleryPage(BaseModel):
    """A page of listed images."""

    items: list[ListedImagePublic]
    total: int
    limit: int
    offset: int


class GalleryModelPublic(BaseModel):
    """A public model in the gallery, with its owner and chosen previews."""

    id: uuid.UUID
    name: str
    description: str | None
    owner_id: uuid.UUID
    owner_username: str
    published_at: datetime | None
    previews: list[PreviewPublic]

    @classmethod
    def of(cls, found: ModelWithPreviews) -> GalleryModelPublic:
        """Build the response from the service's record."""
        style = found.model.style
        return cls(
            id=style.id,
            name=style.name,
            description=style.description,
            owner_id=style.owner_id,
            owner_username=found.model.owner_username,
            published_at=style.published_at,
            previews=[PreviewPublic.of(generation_id) for generation_id in found.preview_ids],
        )


class GalleryModelPage(BaseModel):
    """A page of public models with their previews."""

    items: list[GalleryModelPublic]
    total: int
    limit: int
    offset: int
