"""Hallmark: an AI studio owned by its artists."""

__version__ = "0.1.0"
