"""The gallery: an owner's previews and listings, browsing and searching, watermarked previews."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.errors import Forbidden, InvalidInput, NotFound
from hallmark.gallery import service
from hallmark.gallery.watermark import PreviewCache, watermarked_preview
from hallmark.generations.models import Generation
from hallmark.instance import Instance
from hallmark.styles.models import StyleModel
from hallmark.styles.service import unpublish_style
from tests.conftest import Generate, MakeStyle


def test_the_owner_chooses_previews_among_their_own_images_of_that_model(
    session: Session,
    owner: User,
    maker: User,
    public_style: StyleModel,
    make_style: MakeStyle,
    generate: Generate,
) -> None:
    made_by_owner = generate(owner, public_style)
    made_by_maker = generate(maker, public_style)  # the owner's too (R4)
    other_model = make_style(owner, public=True)
    of_another_model = generate(owner, other_model)

    chosen = service.choose_previews(
        session, owner, public_style.id, [made_by_maker.id, made_by_owner.id, made_by_maker.id]
    )

    assert chosen == [made_by_maker.id, made_by_owner.id]
    assert service.previews_of(session, None, public_style.id) == chosen
    with pytest.raises(Forbidden) as refused:
        service.choose_previews(session, owner, public_style.id, [of_another_model.id])
    assert refused.value.rule == "R3"
    assert service.previews_of(session, None, public_style.id) == chosen  # nothing half-written


def test_previews_are_refused_to_others_and_capped(
    session: Session,
    owner: User,
    maker: User,
    public_style: StyleModel,
    make_style: MakeStyle,
    generate: Generate,
) -> None:
    image = generate(maker, public_style)
    private = make_style(owner)

    with pytest.raises(Forbidden):
        service.choose_previews(session, maker, public_style.id, [image.id])
    with pytest.raises(NotFound):
        service.choose_previews(session, maker, private.id, [])
    with pytest.raises(NotFound):
        service.previews_of(session, None, private.id)
    with pytest.raises(InvalidInput, match="at most 6"):  # refused before any is looked up
        service.choose_previews(session, owner, public_style.id, [uuid.uuid4() for _ in range(7)])


def test_listing_is_the_owners_for_public_models_and_unlisting_takes_it_out(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    public_style: StyleModel,
    generate: Generate,
) -> None:
    image = generate(maker, public_style)

    with pytest.raises(Forbidden):
        service.list_generation(session, maker, image.id)  # the maker does not own it (R4)
    with pytest.raises(NotFound):
        service.list_generation(session, stranger, image.id)
    first = service.list_generation(session, owner, image.id)
    again = service.list_generation(session, owner, image.id)

    assert again.listed_at == first.listed_at
    assert [item.generation_id for item in service.browse_listed(session)[0]] == [image.id]
    with pytest.raises(Forbidden):
        service.unlist_generation(session, maker, image.id)
    service.unlist_generation(session, owner, image.id)
    assert service.browse_listed(session) == ([], 0)


def test_the_gallery_finds_listed_images_by_style_and_hides_unpublished_models(
    session: Session, owner: User, maker: User, make_style: MakeStyle, generate: Generate
) -> None:
    herons, kites = make_style(owner, public=True), make_style(owner, public=True)
    herons.name, herons.description = "Herons 100%", "Wading birds in ink"
    kites.name = "Kites"
    heron_image, kite_image = generate(maker, herons), generate(owner, kites)
    for image in (heron_image, kite_image):
        service.list_generation(session, owner, image.id)

    by_text, total = service.browse_listed(session, "INK")
    by_name, _ = service.browse_listed(session, "kite")
    literal, _ = service.browse_listed(session, "0%")
    by_style, _ = service.browse_listed(session, style_id=kites.id)
    models, model_total = service.browse_models(session, "heron")

    assert [item.generation_id for item in by_text] == [heron_image.id]
    assert total == 1
    assert by_text[0].owner_username == owner.username
    assert [item.generation_id for item in by_name] == [kite_image.id]
    assert [item.generation_id for item in literal] == [heron_image.id]
    assert [item.generation_id for item in by_style] == [kite_image.id]
    assert ([found.model.style.id for found in models], model_total) == ([herons.id], 1)
    unpublish_style(session, owner, kites.id)
    assert [item.generation_id for item in service.browse_listed(session)[0]] == [heron_image.id]
    with pytest.raises(InvalidInput):
        service.browse_listed(session, "x" * 101)


def test_public_models_carry_their_chosen_previews_in_order(
    session: Session, owner: User, public_style: StyleModel, generate: Generate
) -> None:
    first, second = generate(owner, public_style), generate(owner, public_style)
    service.choose_previews(session, owner, public_style.id, [second.id, first.id])

    models, _ = service.browse_models(session)

    assert [found.preview_ids for found in models] == [[second.id, first.id]]


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """The mean absolute difference of two pictures' pixels, 0-255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_the_preview_is_a_downscaled_copy_with_the_notice_drawn_across_it() -> None:
    clean = Image.new("RGB", (1024, 768), (40, 90, 160))
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG")

    preview = Image.open(io.BytesIO(watermarked_preview(buffer.getvalue())))

    assert preview.size == (512, 384)
    same_size = clean.resize(preview.size)
    assert mean_difference(preview.convert("RGB"), same_size) > 8
    # The notice runs across the whole picture: every quarter of it is marked.
    for box in ((0, 0, 256, 192), (256, 0, 512, 192), (0, 192, 256, 384), (256, 192, 512, 384)):
        assert mean_difference(preview.crop(box).convert("RGB"), same_size.crop(box)) > 5


def test_previews_are_served_to_anyone_only_while_shown_and_cached_on_disk(
    session: Session,
    instance: Instance,
    owner: User,
    maker: User,
    public_style: StyleModel,
    generate: Generate,
    tmp_path: Path,
) -> None:
    image: Generation = generate(maker, public_style)
    cache = PreviewCache(tmp_path / "previews")

    with pytest.raises(NotFound):
        service.preview_bytes(session, instance.blobs, cache, None, image.id)
    owners_view = service.preview_bytes(session, instance.blobs, cache, owner, image.id)
    service.list_generation(session, owner, image.id)
    anyones_view = service.preview_bytes(session, instance.blobs, cache, None, image.id)

    assert owners_view == anyones_view == cache.path_for(image.sha256).read_bytes()
    assert anyones_view != instance.blobs.get(image.sha256)
    cache.path_for(image.sha256).write_bytes(b"kept")  # served from the cache from now on
    assert service.preview_bytes(session, instance.blobs, cache, maker, image.id) == b"kept"
    unpublish_style(session, owner, public_style.id)
    with pytest.raises(NotFound):
        service.preview_bytes(session, instance.blobs, cache, maker, image.id)


def test_the_choices_from_the_models_page_set_previews_and_listings_together(
    session: Session, owner: User, maker: User, public_style: StyleModel, generate: Generate
) -> None:
    kept, dropped, never = (generate(maker, public_style) for _ in range(3))
    service.list_generation(session, owner, dropped.id)

    service.set_gallery_choices(
        session, owner, public_style.id, preview_ids=[never.id], listed_ids=[kept.id]
    )

    shown = {
        image.generation.id: (image.preview, image.listed)
        for image in service.own_images(session, owner, public_style.id)
    }
    assert shown == {kept.id: (False, True), dropped.id: (False, False), never.id: (True, False)}
