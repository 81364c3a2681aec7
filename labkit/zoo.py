"""The checkpoint zoo: baselines trained by this repository's own recipes.

Checkpoints are small fp32 ``state_dict`` files in ``labkit/checkpoints/`` with a
``manifest.json`` (sha256, measured test accuracy, the recipe, torch version). Nothing is
downloaded: ``python -m labkit.zoo train NAME`` re-trains one (``all`` for every one),
``python -m labkit.zoo verify`` checks every hash. Files load with ``weights_only=True``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import manifests, validate
from .paths import CHECKPOINTS

MANIFEST = CHECKPOINTS / "manifest.json"


@dataclass(frozen=True)
class Recipe:
    """How a zoo checkpoint is made: a model builder, its kwargs, and training settings."""
    model: str                       # a name of labkit.models.MODELS
    kwargs: dict = field(default_factory=dict)
    epochs: float = 5
    lr: float = 2e-3
    batch_size: int = 128
    seed: int = 0
    trainer: str | None = None       # "module:function" for a model that is not a classifier (returns its test metrics)


def block_config(block: str) -> list[list]:
    """The compact net's table (``labkit.models.COMPACT_CONFIG``) with its ``ir`` rows built
    from another block of ``labkit.blocks.BLOCKS`` (notebook 01 compares them)."""
    from .models import COMPACT_CONFIG
    return [[block if row[0] == "ir" else row[0], *row[1:]] for row in COMPACT_CONFIG]


RECIPES: dict[str, Recipe] = {
    "lenet5": Recipe("lenet5", epochs=10, batch_size=128),
    "cnn": Recipe("cnn", epochs=6, batch_size=128),
    **{f"compact-w{w}": Recipe("compact", {"width": w}, epochs=6, lr=4e-3, batch_size=256)
       for w in (0.25, 0.5, 0.75, 1.0)},
    # notebook 01: the same table and recipe as compact-w1.0, other blocks in place of "ir"
    **{f"compact-{b}": Recipe("compact", {"config": block_config(b)}, epochs=6, lr=4e-3, batch_size=256)
       for b in ("ds", "mb3", "shuffle", "ghost", "sandglass")},
    # the topics' own checkpoints (e.g. notebook 05's narrower teachers, notebook 10's VAE, whose trainer is
    # named by string and imported only when it trains), from the ZOO of their manifest.py
    **{name: Recipe(**d) for _topic, name, d in manifests.collect("ZOO")},
}


class CheckpointError(RuntimeError):
    """A zoo checkpoint is missing or corrupt; the message says how to re-train it."""


def names() -> list[str]:
    return list(RECIPES)


def manifest() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(name: str) -> nn.Module:
    """The untrained model of a zoo entry (the recipe's architecture)."""
    from .models import build as build_model
    r = RECIPES[validate.choice(name, RECIPES, "zoo checkpoint")]
    return build_model(r.model, **r.kwargs)


def path(name: str) -> Path:
    return CHECKPOINTS / f"{validate.choice(name, RECIPES, 'zoo checkpoint')}.pt"


def load(name: str, retrain_if_missing: bool = False, device=None) -> nn.Module:
    """A zoo model with its trained weights, verified by sha256, in eval mode.

    A missing or corrupt file raises ``CheckpointError`` naming the command that re-trains
    it; with ``retrain_if_missing=True`` it is re-trained here instead (and says so).
    """
    from .env import current_device
    p, entry = path(name), manifest().get(name)
    fix = f"re-train it with `python -m labkit.zoo train {name}`, or restore it with `git checkout -- {p.relative_to(CHECKPOINTS.parents[1])}`"
    problem = None
    if entry is None or not p.exists():
        problem = f"zoo checkpoint {name!r} is missing ({p})"
    elif _sha256(p) != entry["sha256"]:
        problem = f"zoo checkpoint {name!r} is corrupt (sha256 mismatch in {p})"
    if problem:
        if not retrain_if_missing:
            raise CheckpointError(f"{problem}: {fix}")
        print(f"{problem}: re-training it now with its recipe ...", flush=True)
        train_entry(name)
    model = build(name)
    state = torch.load(p, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(device or current_device()).eval()


def info(name: str) -> dict:
    """The manifest entry of a checkpoint (accuracy, sha256, recipe, torch version)."""
    entry = manifest().get(validate.choice(name, RECIPES, "zoo checkpoint"))
    if entry is None:
        raise CheckpointError(f"zoo checkpoint {name!r} has no manifest entry: re-train it with `python -m labkit.zoo train {name}`")
    return entry


def train_entry(name: str, progress: bool = True) -> dict:
    """Train one zoo entry from its recipe, save it, and update the manifest."""
    from . import metrics
    from .env import setup
    from .train import evaluate, train
    r = RECIPES[validate.choice(name, RECIPES, "zoo checkpoint")]
    setup(seed=r.seed, device="cpu", quiet=True)
    model = build(name)
    t0 = time.perf_counter()
    if r.trainer:                    # not a classifier: its own loop, which returns its test metrics
        import importlib
        module, _, fn = r.trainer.partition(":")
        scores = getattr(importlib.import_module(module), fn)(model, r, progress=progress)
    else:
        train(model, epochs=r.epochs, lr=r.lr, batch_size=r.batch_size, seed=r.seed, device="cpu",
              progress=progress, desc=name)
    seconds = time.perf_counter() - t0
    acc = None if r.trainer else evaluate(model, "test", device="cpu")
    CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    p = path(name)
    tmp = p.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(p)
    entry = {"file": p.name, "sha256": _sha256(p), "bytes": p.stat().st_size,
             "test_accuracy_pct": None if acc is None else round(acc, 2), **(scores if r.trainer else {}),
             "params": metrics.count_params(model),
             "macs": None if r.trainer else metrics.count_macs(model), "recipe": asdict(r),
             "train_seconds": round(seconds, 1), "threads": torch.get_num_threads(),
             "torch": torch.__version__.split("+")[0],
             "command": f"python -m labkit.zoo train {name}"}
    m = manifest()
    m[name] = entry
    tmp = MANIFEST.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(m.items())), indent=2) + "\n")
    tmp.replace(MANIFEST)
    score = f"test accuracy {acc:.2f} %" if acc is not None else ", ".join(f"{k} {v}" for k, v in scores.items())
    print(f"{name}: {score}, {entry['params']:,} params, {entry['bytes']:,} bytes, {seconds:.0f} s")
    return entry


def verify() -> list[str]:
    """Names of checkpoints that are missing or fail their hash (empty: all good)."""
    bad = []
    for name in RECIPES:
        entry, p = manifest().get(name), path(name)
        if entry is None or not p.exists() or _sha256(p) != entry["sha256"]:
            bad.append(name)
    return bad


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.zoo", description="Train or verify the checkpoint zoo.")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="re-train checkpoints from their recipes")
    t.add_argument("names", nargs="+", help=f"one or more of {', '.join(RECIPES)}, or 'all'")
    sub.add_parser("verify", help="check every checkpoint against the manifest")
    sub.add_parser("list", help="list checkpoints with their accuracy")
    args = p.parse_args(argv)
    if args.cmd == "train":
        todo = list(RECIPES) if args.names == ["all"] else args.names
        for n in todo:
            train_entry(n)
    elif args.cmd == "verify":
        bad = verify()
        for n in bad:
            print(f"missing or corrupt: {n} (re-train: python -m labkit.zoo train {n})")
        print("all checkpoints verified" if not bad else f"{len(bad)} bad")
        return 1 if bad else 0
    else:
        for n, e in manifest().items():
            score = f"{e['test_accuracy_pct']:6.2f} %" if e["test_accuracy_pct"] is not None else "   -    "
            print(f"{n:15s} {score}  {e['params']:>9,} params  {e['bytes']:>9,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
