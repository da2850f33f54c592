"""Similarity: image fingerprints, their FAISS index, and the near-copy checks of R1 and R11."""
