"""The studio engine: a base model trained here, fine-tuned per artist, painted in their texture."""

from hallmark.engines.studio.engine import ENGINE_NAME, StudioEngine

__all__ = ["ENGINE_NAME", "StudioEngine"]
