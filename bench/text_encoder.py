"""The studio's text encoder: prompts grouped by length against every prompt padded to 80 tokens.

Run: .venv/bin/python bench/text_encoder.py [--batches 10] [--batch-size 32]

The base model's training encodes a batch of fresh captions every step. `TextEncoder.encode`
runs prompts of like length together, each group padded only to its longest; the baseline, in
the same run on the same captions, pads every prompt to MAX_TOKENS in one call. Prints seconds
per batch for both, their ratio, and the largest difference between the two embeddings.
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from hallmark.engines.studio.text import MAX_TOKENS, TextEncoder
from hallmark.samples.scenes import describe, random_scene


def padded_to_max(encoder: TextEncoder, prompts: list[str]) -> torch.Tensor:
    """The baseline: one call, every prompt padded to MAX_TOKENS."""
    batch = encoder.tokenizer(
        prompts, padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    with torch.no_grad():
        hidden: torch.Tensor = encoder.model(**batch).last_hidden_state
    return hidden * batch["attention_mask"].unsqueeze(-1)


def main() -> None:
    """Time both ways of encoding the same training captions and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(2)
    encoder = TextEncoder()
    rng = random.Random("bench/text-encoder")
    batches = [
        [describe(random_scene(rng), rng) for _ in range(args.batch_size)]
        for _ in range(args.batches)
    ]
    encoder.encode(batches[0])  # warm up
    grouped_seconds = baseline_seconds = 0.0
    largest_difference = 0.0
    for prompts in batches:
        start = time.perf_counter()
        grouped = encoder.encode(prompts).embeddings
        grouped_seconds += time.perf_counter() - start
        start = time.perf_counter()
        baseline = padded_to_max(encoder, prompts)
        baseline_seconds += time.perf_counter() - start
        largest_difference = max(largest_difference, float((grouped - baseline).abs().max()))
    print(
        f"{args.batches} batches of {args.batch_size} captions: grouped "
        f"{grouped_seconds / args.batches:.3f} s, padded to {MAX_TOKENS} "
        f"{baseline_seconds / args.batches:.3f} s per batch, ratio "
        f"{grouped_seconds / baseline_seconds:.2f}; largest difference {largest_difference:.1e}"
    )


if __name__ == "__main__":
    main()
