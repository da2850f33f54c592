"""Hallmark: an AI studio owned by its artists."""

import os

# OpenMP threads waiting for work sleep instead of spinning, so a training's threads do not
# burn the cores an API process beside it needs (read when the OpenMP runtime loads, so set
# before torch or FAISS is imported; an operator's own value wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
