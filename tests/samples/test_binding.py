"""The text adapter's binding loss: which tokens it labels, with what, and that it can be learnt."""

from __future__ import annotations

import random

import pytest
import torch

from hallmark.engines.studio.network import TextAdapter
from hallmark.engines.studio.text import EMBEDDING_DIM, MAX_TOKENS, TextEncoder
from hallmark.samples import describe, random_scene
from hallmark.samples.binding import (
    COLOUR_NAMES,
    IGNORED,
    BindingHeads,
    binding_accuracy,
    binding_loss,
    binding_targets,
)
from hallmark.samples.scenes import COLUMNS, ROWS, Scene, SceneObject


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder()


BOAT = SceneObject("boat", "red", ((0.05, 0.8, 0.25, 0.9),))
BIRDS = SceneObject("bird", "white", ((0.75, 0.05, 0.8, 0.1), (0.85, 0.1, 0.9, 0.15)))
SEA = SceneObject("sea", "blue", ((0.0, 0.7, 1.0, 1.0),))


def test_each_object_named_once_is_labelled_at_its_noun_with_its_colour_and_place(
    encoder: TextEncoder,
) -> None:
    scene = Scene("day", "clear", (SEA, BOAT, BIRDS))
    caption = "a red boat in the bottom left and two white birds at the top right over the blue sea"

    targets = binding_targets(encoder.tokenizer, [caption], [scene], MAX_TOKENS)

    ids = encoder.tokenizer(caption)["input_ids"]
    labelled = {
        encoder.tokenizer.convert_ids_to_tokens(ids[int(token)]): (
            COLOUR_NAMES[int(colour)],
            ROWS[int(row)],
            COLUMNS[int(column)] if column != IGNORED else None,
        )
        for token, colour, row, column in zip(
            targets.tokens, targets.colours, targets.rows, targets.columns, strict=True
        )
    }
    assert labelled == {
        "boat": ("red", "bottom", "left"),
        "birds": ("white", "top", "right"),
        "sea": ("blue", "bottom", None),  # the sea spans the width: no column to learn
    }


def test_dropped_captions_and_kinds_named_twice_label_nothing(encoder: TextEncoder) -> None:
    second_boat = SceneObject("boat", "yellow", ((0.7, 0.8, 0.9, 0.9),))
    scene = Scene("day", "clear", (BOAT, second_boat, BIRDS))
    caption = "a red boat at the bottom left, a yellow boat at the bottom right, two white birds"

    targets = binding_targets(encoder.tokenizer, [caption, ""], [scene, scene], MAX_TOKENS)

    assert len(targets) == 1
    assert int(targets.captions[0]) == 0
    assert COLOUR_NAMES[int(targets.colours[0])] == "white"
    empty = binding_targets(encoder.tokenizer, [""], [scene], MAX_TOKENS)
    assert len(empty) == 0
    assert float(binding_loss(BindingHeads(EMBEDDING_DIM), torch.zeros(1, 4, 384), empty)) == 0.0


def test_an_adapter_trained_on_the_binding_loss_learns_where_each_object_is(
    encoder: TextEncoder,
) -> None:
    rng = random.Random(5)
    scenes = [random_scene(rng) for _ in range(48)]
    captions = [describe(scene, rng) for scene in scenes]
    encoded = encoder.encode(captions)
    targets = binding_targets(encoder.tokenizer, captions, scenes, MAX_TOKENS)
    torch.manual_seed(0)
    adapter, heads = TextAdapter(1), BindingHeads(EMBEDDING_DIM)
    optimizer = torch.optim.Adam([*adapter.parameters(), *heads.parameters()], lr=1e-3)

    def loss() -> torch.Tensor:
        return binding_loss(heads, adapter(encoded.embeddings, encoded.mask), targets)

    before = float(loss().detach())
    for _ in range(60):
        optimizer.zero_grad()
        loss().backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    assert float(loss().detach()) < before / 2
    accuracy = binding_accuracy(heads, adapter(encoded.embeddings, encoded.mask), targets)
    assert accuracy["column"] > 0.8 and accuracy["colour"] > 0.8, accuracy
