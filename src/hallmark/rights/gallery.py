"""Who sees a model's usage register, and what the gallery shows: pure rules, no I/O.

The gallery shows an owner's chosen previews of a public model and the images they list for
licensing; anyone may see those, watermarked, while the clean file stays under R4/R8.
"""

from __future__ import annotations

import uuid

from hallmark.rights.decisions import Decision, Rule, allow, refuse
from hallmark.rights.facts import GenerationFacts, ModelFacts, Visibility
from hallmark.rights.rules import may_license_generation, may_publish_generation


def may_view_usage_register(user_id: uuid.UUID | None, model: ModelFacts) -> Decision:
    """R3: who generated what with a model, and who licensed it, is for the model's owner only."""
    if user_id is not None and user_id == model.owner_id:
        return allow(Rule.R3, "Images made with your model are yours, and so is their register.")
    return refuse(Rule.R3, "Only the model's owner may see who used it.")


def may_choose_preview(
    user_id: uuid.UUID, model: ModelFacts, generation: GenerationFacts
) -> Decision:
    """R3/R11: the owner shows as previews only their own images made with that very model."""
    curating = may_curate_gallery(user_id, model)
    if not curating.allowed:
        return curating
    if generation.model_id != model.id:
        return refuse(Rule.R3, "A preview must be an image made with this model.")
    if generation.owner_id != user_id:
        return refuse(Rule.R3, "A preview must be an image you own.")
    shown = may_publish_generation(user_id, generation)
    if not shown.allowed:
        return shown
    return allow(Rule.R3, "Your image, made with your model.")


def may_list_generation(
    user_id: uuid.UUID, generation: GenerationFacts, model: ModelFacts
) -> Decision:
    """R3/R7/R11: the owner lists an image of their public model for licensing, never a
    near-copy they have not cleared."""
    if user_id != generation.owner_id:
        return refuse(Rule.R3, "Only the image's owner may list it for licensing.")
    if model.visibility is not Visibility.PUBLIC:
        return refuse(
            Rule.R5, "Publish the model first: the gallery shows images of public models only."
        )
    clean = may_license_generation(generation)
    if not clean.allowed:
        return clean
    return allow(Rule.R7, "Listed: anyone may see a watermarked preview and license it.")


def may_view_preview(
    user_id: uuid.UUID | None,
    generation: GenerationFacts,
    model: ModelFacts,
    *,
    listed: bool,
    chosen: bool,
) -> Decision:
    """R3/R5/R7/R11: anyone sees the watermarked preview of an image the owner shows in the
    gallery (listed, or chosen as a preview) of a public model; its owner always sees it."""
    if user_id is not None and user_id == generation.owner_id:
        return allow(Rule.R3, "You own this image.")
    if model.visibility is not Visibility.PUBLIC:
        return refuse(Rule.R5, "This image's model is private to its owner.")
    if not (listed or chosen):
        return refuse(Rule.R3, "The owner does not show this image in the gallery.")
    clean = may_license_generation(generation)
    if not clean.allowed:
        return clean
    return allow(Rule.R7, "Shown in the gallery, watermarked until licensed.")


def may_curate_gallery(user_id: uuid.UUID | None, model: ModelFacts) -> Decision:
    """R3: only a model's owner chooses what the gallery shows of it."""
    if user_id is not None and user_id == model.owner_id:
        return allow(Rule.R3, "Your model: you choose what the gallery shows of it.")
    return refuse(Rule.R3, "Only the model's owner chooses what the gallery shows of it.")


def may_unlist_generation(user_id: uuid.UUID, generation: GenerationFacts) -> Decision:
    """R3: only an image's owner takes it out of the gallery; licenses already sold stay."""
    if user_id == generation.owner_id:
        return allow(Rule.R3, "Taken out of the gallery; licenses already sold stay valid.")
    return refuse(Rule.R3, "Only the image's owner may take it out of the gallery.")
