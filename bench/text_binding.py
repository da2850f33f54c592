"""Does the frozen text encoder tie each object to its colour and place? A linear probe.

Run: .venv/bin/python bench/text_binding.py [--train-scenes 2000] [--test-scenes 500]
     [--base-model DIR] [--adapter-epochs 30]

The base model reads prompts as MiniLM's token embeddings, and its layouts often put a named
colour in the wrong third. For every object a caption names once, this takes the embedding of
its noun's token ("bird" in "two blue birds near the top to the right") and fits a linear
classifier (softmax regression) from it to the object's colour and column, on captions of
one set of scenes, scored on another. The same probe on the noun's input embedding (before
any attention, so it knows nothing of the caption) and the majority class are the baselines.
High scores mean the tokens the UNet attends to already carry the binding; chance means the
text side cannot tell which object a colour or place belongs to. Last, one trainable
self-attention layer over the frozen tokens, read out at the noun: what a small text adapter
trained with the UNet could make of the same tokens. With --base-model, a base model whose
shape has a text adapter: the same linear probe on the noun token after its trained adapter,
the tokens that model's UNet reads (--adapter-epochs 0 skips the layer trained here).
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from hallmark.engines.studio.network import condition_text
from hallmark.engines.studio.text import TextEncoder
from hallmark.engines.studio.weights import load_base_unet, locate_base
from hallmark.samples import describe, random_scene
from hallmark.samples.binding import noun_start


@dataclass
class Probes:
    """Each object's caption in context, its noun's token and input embedding, colour, column."""

    sequences: list[torch.Tensor]  # every token of the object's caption, in context
    positions: list[int]  # the noun's token in it
    static: list[NDArray[np.float32]]
    colours: list[str]
    columns: list[str]

    @property
    def contextual(self) -> list[NDArray[np.float32]]:
        """The noun token's embedding in its caption."""
        return [
            tokens[at].numpy() for tokens, at in zip(self.sequences, self.positions, strict=True)
        ]


@torch.no_grad()
def collect(encoder: TextEncoder, seed: str, scenes: int) -> Probes:
    """Probe features for every object named once in `scenes` random captions."""
    rng = random.Random(seed)
    probes = Probes([], [], [], [], [])
    table = encoder.model.get_input_embeddings()
    for _ in range(scenes):
        scene = random_scene(rng)
        caption = describe(scene, rng)
        kinds = Counter(obj.kind for obj in scene.objects)
        batch = encoder.tokenizer(caption, return_offsets_mapping=True, return_tensors="pt")
        offsets = batch.pop("offset_mapping")[0].tolist()
        hidden = encoder.model(**batch).last_hidden_state[0]
        for obj in scene.objects:
            noun = noun_start(caption, obj.kind) if kinds[obj.kind] == 1 else None
            if obj.kind == "sea" or noun is None:
                continue
            token = next(i for i, (start, _) in enumerate(offsets) if start == noun and i > 0)
            probes.sequences.append(hidden)
            probes.positions.append(token)
            probes.static.append(table(batch["input_ids"][0, token]).numpy())
            probes.colours.append(obj.colour)
            probes.columns.append(obj.column)
    return probes


@torch.no_grad()
def through_base_adapter(base_model: str, probes: Probes) -> list[NDArray[np.float32]]:
    """Each noun token after the base model's own text adapter, as its UNet reads it."""
    unet = load_base_unet(locate_base(base_model))
    if getattr(unet, "text_adapter", None) is None:
        raise SystemExit(f"The base model {base_model} has no text adapter.")
    features = []
    for tokens, at in zip(probes.sequences, probes.positions, strict=True):
        mask = torch.ones(1, tokens.shape[0], dtype=torch.long)
        features.append(condition_text(unet, tokens[None], mask)[0, at].numpy())
    return features


def probe_accuracy(
    train: list[NDArray[np.float32]],
    train_labels: list[str],
    test: list[NDArray[np.float32]],
    test_labels: list[str],
) -> float:
    """Held-out accuracy of a softmax regression from standardised features to labels."""
    classes = sorted(set(train_labels))
    fit, score = torch.tensor(np.stack(train)), torch.tensor(np.stack(test))
    mean, spread = fit.mean(dim=0), fit.std(dim=0) + 1e-6
    fit, score = (fit - mean) / spread, (score - mean) / spread
    targets = torch.tensor([classes.index(label) for label in train_labels])
    classifier = torch.nn.Linear(fit.shape[1], len(classes))
    optimizer = torch.optim.LBFGS(classifier.parameters(), max_iter=300)

    def objective() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(classifier(fit), targets)
        loss = loss + 1e-3 * classifier.weight.square().sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(objective)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        predicted: list[int] = classifier(score).argmax(dim=1).tolist()
    hits: int = sum(classes[p] == t for p, t in zip(predicted, test_labels, strict=True))
    return hits / len(test_labels)


def adapter_accuracy(train: Probes, test: Probes, label: str, epochs: int = 30) -> float:
    """Held-out accuracy of one trainable attention layer over the frozen tokens, at the noun."""
    torch.manual_seed(0)
    classes = sorted(set(getattr(train, label)))
    layer = torch.nn.TransformerEncoderLayer(384, 6, 768, dropout=0.0, batch_first=True)
    head = torch.nn.Linear(384, len(classes))
    optimizer = torch.optim.AdamW([*layer.parameters(), *head.parameters()], lr=3e-4)

    def logits(probes: Probes, rows: list[int]) -> torch.Tensor:
        padded = torch.nn.utils.rnn.pad_sequence([probes.sequences[i] for i in rows], True)
        lengths = torch.tensor([len(probes.sequences[i]) for i in rows])
        padding = torch.arange(padded.shape[1])[None, :] >= lengths[:, None]
        out = layer(padded, src_key_padding_mask=padding)
        nouns = out[torch.arange(len(rows)), torch.tensor([probes.positions[i] for i in rows])]
        result: torch.Tensor = head(nouns)
        return result

    targets = torch.tensor([classes.index(value) for value in getattr(train, label)])
    for _ in range(epochs):
        order = torch.randperm(len(targets)).tolist()
        for start in range(0, len(order), 64):
            rows = order[start : start + 64]
            loss = torch.nn.functional.cross_entropy(logits(train, rows), targets[rows])
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    with torch.no_grad():
        rows = list(range(len(test.positions)))
        predicted: list[int] = logits(test, rows).argmax(dim=1).tolist()
    truth: list[str] = getattr(test, label)
    hits: int = sum(classes[p] == t for p, t in zip(predicted, truth, strict=True))
    return hits / len(truth)


def main() -> None:
    """Fit and score the probes; print one line per label."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-scenes", type=int, default=2000)
    parser.add_argument("--test-scenes", type=int, default=500)
    parser.add_argument("--adapter-epochs", type=int, default=30)
    parser.add_argument("--base-model", default=None, help="a base model with a text adapter")
    args = parser.parse_args()
    torch.set_num_threads(2)
    encoder = TextEncoder()
    train = collect(encoder, "bench/text-binding/train", args.train_scenes)
    test = collect(encoder, "bench/text-binding/test", args.test_scenes)
    print(f"{len(train.columns)} objects to fit on, {len(test.columns)} to score")
    if args.base_model:
        train_adapted = through_base_adapter(args.base_model, train)
        test_adapted = through_base_adapter(args.base_model, test)
    for label in ("colours", "columns"):
        fit_labels, score_labels = getattr(train, label), getattr(test, label)
        majority = Counter(fit_labels).most_common(1)[0][0]
        chance = sum(value == majority for value in score_labels) / len(score_labels)
        contextual = probe_accuracy(train.contextual, fit_labels, test.contextual, score_labels)
        static = probe_accuracy(train.static, fit_labels, test.static, score_labels)
        line = (
            f"{label}: noun token in context {contextual:.3f}, noun's input embedding "
            f"{static:.3f}, majority class {chance:.3f}"
        )
        if args.base_model:
            base = probe_accuracy(train_adapted, fit_labels, test_adapted, score_labels)
            line += f"; after {args.base_model}'s text adapter {base:.3f}"
        if args.adapter_epochs > 0:
            adapted = adapter_accuracy(train, test, label, args.adapter_epochs)
            line += f"; one attention layer trained here {adapted:.3f}"
        print(line)


if __name__ == "__main__":
    main()
