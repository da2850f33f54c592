"""Generations: images made with a style model, their owner under R3/R4, and who may see them."""
