"""Licenses on generated images: owners' offers, purchases, signed certificates (R6–R8)."""
