"""Artworks: uploads, captions, training opt-outs and rights attestations."""
