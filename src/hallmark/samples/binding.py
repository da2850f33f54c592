"""Teach the base model's text adapter which colour and place each named object has.

The frozen MiniLM tokens say an object's colour but hardly which third of the picture it is in
(`bench/text_binding.py`), and flow matching's gradient alone barely teaches a text adapter
that. The world's captions label it for free: every object a caption names once has a noun
token, a colour, a row and a column. Small linear heads read those from the noun token after
the adapter, and their cross-entropy is added to the base model's training loss, so the
tokens the UNet attends to carry the binding in a linearly readable form. The heads are used
only in training and do not ship.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerBase

from hallmark.samples.scenes import COLUMNS, KIND_WORDS, PALETTE, ROWS, WIDE_KINDS, Kind, Scene

COLOUR_NAMES = tuple(sorted(PALETTE))
IGNORED = -100  # cross-entropy's ignore_index: a wide object names no column


def noun_start(caption: str, kind: Kind) -> int | None:
    """Where the caption names this kind (its first character), if it does so exactly once."""
    words = [word for pair in KIND_WORDS[kind] for word in pair]
    matches = list(re.finditer(r"\b(" + "|".join(words) + r")\b", caption))
    return matches[0].start() if len(matches) == 1 else None


@dataclass(frozen=True)
class BindingTargets:
    """For each object named once in a batch's captions: where its noun is, and what it is."""

    captions: torch.Tensor  # (n,) which caption of the batch
    tokens: torch.Tensor  # (n,) the noun's first token in that caption
    colours: torch.Tensor  # (n,) index into COLOUR_NAMES
    rows: torch.Tensor  # (n,) index into ROWS
    columns: torch.Tensor  # (n,) index into COLUMNS, or IGNORED

    def __len__(self) -> int:
        return int(self.captions.shape[0])


def binding_targets(
    tokenizer: PreTrainedTokenizerBase,
    captions: Sequence[str],
    scenes: Sequence[Scene],
    max_tokens: int,
) -> BindingTargets:
    """The labelled noun tokens of a batch; blank (dropped) captions label nothing."""
    labelled: list[tuple[int, int, int, int, int]] = []
    for index, (caption, scene) in enumerate(zip(captions, scenes, strict=True)):
        if not caption:
            continue
        offsets = tokenizer(caption, return_offsets_mapping=True)["offset_mapping"]
        kinds = Counter(obj.kind for obj in scene.objects)
        for obj in scene.objects:
            start = noun_start(caption, obj.kind) if kinds[obj.kind] == 1 else None
            if start is None:
                continue
            token = next(
                (i for i, (begin, end) in enumerate(offsets) if begin == start and end > begin),
                None,
            )
            if token is None or token >= max_tokens:
                continue
            column = IGNORED if obj.kind in WIDE_KINDS else COLUMNS.index(obj.column)
            labelled.append(
                (index, token, COLOUR_NAMES.index(obj.colour), ROWS.index(obj.row), column)
            )
    fields = list(zip(*labelled, strict=True)) if labelled else [(), (), (), (), ()]
    return BindingTargets(*(torch.tensor(values, dtype=torch.long) for values in fields))


class BindingHeads(torch.nn.Module):
    """Linear read-outs of a noun token's colour, row and column."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.colour = torch.nn.Linear(width, len(COLOUR_NAMES))
        self.row = torch.nn.Linear(width, len(ROWS))
        self.column = torch.nn.Linear(width, len(COLUMNS))

    def forward(self, nouns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits for colour, row and column of each noun token."""
        return self.colour(nouns), self.row(nouns), self.column(nouns)


def binding_loss(
    heads: BindingHeads, tokens: torch.Tensor, targets: BindingTargets
) -> torch.Tensor:
    """Summed cross-entropy of colour, row and column at the labelled noun tokens."""
    if len(targets) == 0:
        return tokens.sum() * 0.0
    nouns = tokens[targets.captions, targets.tokens]
    colour, row, column = heads(nouns)
    loss = F.cross_entropy(colour, targets.colours) + F.cross_entropy(row, targets.rows)
    if bool((targets.columns != IGNORED).any()):
        loss = loss + F.cross_entropy(column, targets.columns, ignore_index=IGNORED)
    return loss


@torch.no_grad()
def binding_accuracy(
    heads: BindingHeads, tokens: torch.Tensor, targets: BindingTargets
) -> dict[str, float]:
    """How often the heads name each label right at the labelled noun tokens."""
    nouns = tokens[targets.captions, targets.tokens]
    colour, row, column = heads(nouns)
    named = targets.columns != IGNORED
    return {
        "colour": float((colour.argmax(1) == targets.colours).float().mean()),
        "row": float((row.argmax(1) == targets.rows).float().mean()),
        "column": float((column.argmax(1)[named] == targets.columns[named]).float().mean()),
    }
