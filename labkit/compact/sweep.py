"""Notebook 01's compact-net sweep: block type x width x input resolution, each trained briefly
and measured (``python -m labkit sweep compact``), and re-timed live in the notebook.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
import torch
import torch.nn.functional as F
from torch import nn
from .. import metrics, validate
from ..blocks import BLOCKS
from ..paths import ROOT, cache_dir, read_cache, write_json


SWEEP_BLOCKS = ("ir", "ds", "mb3", "shuffle", "ghost", "sandglass")


SWEEP_WIDTHS = (0.5, 1.0)


SWEEP_RESOLUTIONS = (14, 20, 28)


SWEEP_RECIPE = {"epochs": 1, "lr": 4e-3, "batch_size": 256, "seed": 0}   # short: the zoo trains 6 epochs


PARAMS = ("block", "width", "resolution")


def sweep_cache() -> Path:
    return cache_dir() / "compact_sweep.json"


class Resized(nn.Module):
    """Resample the input to ``resolution`` x ``resolution`` (bilinear, antialiased), then
    run ``net``: MobileNetV1's resolution multiplier, inside the model."""

    def __init__(self, net: nn.Module, resolution: int):
        super().__init__()
        if not isinstance(resolution, int) or resolution < 8:
            raise ValueError(f"resolution must be a whole number of pixels >= 8, got {resolution!r}: e.g. 20")
        self.net, self.resolution = net, resolution

    def forward(self, x):
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear",
                              align_corners=False, antialias=True)
        return self.net(x)


def sweep_model(block: str = "ir", width: float = 1.0, resolution: int = 28) -> nn.Module:
    """The compact net's table with ``block`` in place of its ``ir`` rows, at ``width``,
    seeing ``resolution`` x ``resolution`` inputs (28: no resampling)."""
    from ..models import CompactNet
    from ..zoo import block_config
    validate.choice(block, BLOCKS, "block")
    net = CompactNet(block_config(block), width=width)
    return net if resolution == 28 else Resized(net, resolution)


def grid(blocks=SWEEP_BLOCKS, widths=SWEEP_WIDTHS, resolutions=SWEEP_RESOLUTIONS) -> list[dict]:
    return [{"block": b, "width": w, "resolution": r} for b in blocks for w in widths for r in resolutions]


def train_point(config: dict, recipe: dict | None = None, limit: int | None = None, progress=None) -> dict:
    """Train ``sweep_model(**config)`` with ``recipe`` and measure accuracy (%), fp32 size
    (bytes), MACs and parameters: one sweep point (no latency: see ``measure_latency``).
    ``progress(fraction, text)`` follows the training (a widget's progress bar)."""
    from ..size import size_bytes
    from ..train import evaluate, train
    recipe = {**SWEEP_RECIPE, **(recipe or {})}
    torch.manual_seed(recipe["seed"])
    model = sweep_model(**config)
    t0 = time.perf_counter()
    train(model, epochs=recipe["epochs"], lr=recipe["lr"], batch_size=recipe["batch_size"], seed=recipe["seed"],
          limit=limit, progress=False, report=progress, desc=" ".join(f"{k}={v}" for k, v in config.items()))
    seconds = time.perf_counter() - t0
    return {"config": dict(config), "accuracy_pct": round(evaluate(model), 2),
            "size_bytes": size_bytes(model, "fp32"), "macs": metrics.count_macs(model),
            "params": metrics.count_params(model), "train_seconds": round(seconds, 1),
            "recipe": {**recipe, "limit": limit}}


def measure_latency(points: list[dict], batch_size: int = 1, repeats: int = 15,
                    also: dict[str, nn.Module] | None = None) -> tuple[list[dict], dict[str, float]]:
    """Copies of ``points`` with ``latency_ms`` measured now, every architecture timed
    interleaved (random weights: the time of a forward pass does not depend on them), and the
    median ms of the models in ``also`` (e.g. a baseline) timed in the same interleaved run."""
    models = {f"point {i}": sweep_model(**p["config"]) for i, p in enumerate(points)}
    extra = dict(also or {})
    clash = set(extra) & set(models)
    if clash:
        raise ValueError(f"rename the models in also=: {sorted(clash)} clash with the sweep's own names")
    times = metrics.compare_latency({**models, **extra}, (batch_size, 1, 28, 28), repeats=repeats)
    out = [{**p, "latency_ms": times[f"point {i}"].median_ms} for i, p in enumerate(points)]
    return out, {k: times[k].median_ms for k in extra}


def read_sweep(path: str | Path | None = None) -> dict:
    return read_cache(path or sweep_cache(), "python -m labkit.compact sweep")


def run_sweep(configs: list[dict] | None = None, path: str | Path | None = None, resume: bool = True) -> dict:
    """Train every configuration (default: the full grid) and write the cache after each one
    (a re-run resumes: points already trained with the same recipe are kept)."""
    path = Path(path) if path else sweep_cache()
    configs = configs or grid()
    doc = {"command": "python -m labkit.compact sweep", "recipe": SWEEP_RECIPE,
           "torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads(), "points": []}
    if resume and path.exists():
        old = json.loads(path.read_text())
        if old.get("recipe") == SWEEP_RECIPE:
            doc["points"] = [p for p in old["points"] if p["config"] in configs]
    done = [p["config"] for p in doc["points"]]
    for i, cfg in enumerate(configs):
        if cfg in done:
            continue
        p = train_point(cfg)
        doc["points"] = sorted(doc["points"] + [p], key=lambda q: configs.index(q["config"]))
        write_json(doc, path)
        print(f"[{i + 1}/{len(configs)}] {cfg}: {p['accuracy_pct']:.2f} %, {p['size_bytes']:,} bytes, "
              f"{p['macs']:,} MACs, {p['train_seconds']:.0f} s", flush=True)
    return doc


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.compact", description="The compact-net sweep behind notebook 01's explorer.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sweep", help=f"train the {len(grid())}-point grid ({SWEEP_RECIPE['epochs']} epochs each) and cache it")
    args = p.parse_args(argv)
    from ..env import setup
    setup(quiet=True)
    if args.cmd == "sweep":
        doc = run_sweep()
        path = sweep_cache()
        print(f"{len(doc['points'])} points in {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
