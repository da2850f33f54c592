"""Style models as the rules see them: rows in, `rights` facts out, so any slice can ask a rule."""

from __future__ import annotations

from hallmark import rights
from hallmark.styles.models import StyleModel


def model_facts(style: StyleModel) -> rights.ModelFacts:
    """The facts the rules need about a style model."""
    return rights.ModelFacts(
        id=style.id, owner_id=style.owner_id, visibility=rights.Visibility(style.visibility)
    )
