"""Generated images as the rules see them: rows in, `rights` facts out, so any slice can ask."""

from __future__ import annotations

from hallmark import rights
from hallmark.generations.models import Generation


def generation_facts(generation: Generation) -> rights.GenerationFacts:
    """The facts the rules need about a generated image."""
    return rights.GenerationFacts(
        id=generation.id,
        model_id=generation.style_id,
        owner_id=generation.owner_id,
        maker_id=generation.maker_id,
        near_copy=generation.near_copy,
        near_copy_cleared=generation.near_copy_cleared_at is not None,
    )
