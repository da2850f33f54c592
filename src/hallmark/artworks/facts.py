"""Artworks as the rules see them: rows in, `rights` facts out, so any slice can ask a rule."""

from __future__ import annotations

from hallmark import rights
from hallmark.artworks.models import Artwork


def artwork_facts(artwork: Artwork) -> rights.ArtworkFacts:
    """The facts the rules need about an artwork."""
    return rights.ArtworkFacts(
        id=artwork.id, owner_id=artwork.owner_id, training_opt_out=artwork.training_opt_out
    )
