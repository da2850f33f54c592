"""Content credentials (C2PA): every generated image says it is AI-made, by which model (R9)."""
