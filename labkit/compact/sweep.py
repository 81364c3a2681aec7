"""Notebook 01's compact-net sweep: block type x width x input resolution, each trained briefly
and measured (``recipe``; ``python -m labkit sweep compact`` caches it through ``labkit.cache``,
resuming an interrupted run), and re-timed live in the notebook. ``load_sweep`` reads the cache and
``sweep`` recomputes it, both in the shape the explorer reads (``view``).
"""
from __future__ import annotations

import time
from typing import Callable
import torch
import torch.nn.functional as F
from torch import nn
from .. import metrics, points, validate
from ..blocks import BLOCKS


SWEEP_BLOCKS = ("ir", "ds", "mb3", "shuffle", "ghost", "sandglass")


SWEEP_WIDTHS = (0.5, 1.0)


SWEEP_RESOLUTIONS = (14, 20, 28)


SWEEP_RECIPE = {"epochs": 1, "lr": 4e-3, "batch_size": 256, "seed": 0}   # short: the zoo trains 6 epochs


PARAMS = ("block", "width", "resolution")


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


def train_point(config: dict, recipe: dict | None = None, limit: int | None = None, progress=None,
                eval_limit: int | None = None) -> dict:
    """Train ``sweep_model(**config)`` with ``recipe`` (on the first ``limit`` training images)
    and measure accuracy (%, on the first ``eval_limit`` test images), fp32 size (bytes), MACs and
    parameters: one sweep point (no latency: see ``retime``).
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
    return {"config": dict(config), "accuracy_pct": round(evaluate(model, limit=eval_limit), 2),
            "size_bytes": size_bytes(model, "fp32"), "macs": metrics.count_macs(model),
            "params": metrics.count_params(model), "train_seconds": round(seconds, 1),
            "recipe": {**recipe, "limit": limit, **({"eval_limit": eval_limit} if eval_limit is not None else {})}}


def retime(points_: list[dict], baseline: nn.Module, batch_size: int = 1, repeats: int = 15) -> tuple[list[dict], float]:
    """Copies of sweep points with ``latency_ms`` measured now beside ``baseline`` in one interleaved
    run (``labkit.points.retime``; each architecture with random weights: the time of a forward
    pass does not depend on them), and the baseline's ms."""
    return points.retime(points_, lambda p: sweep_model(**p["config"]), baseline, batch_size, repeats)


def recipe(blocks=SWEEP_BLOCKS, widths=SWEEP_WIDTHS, resolutions=SWEEP_RESOLUTIONS, training: dict | None = None,
           limit: int | None = None, eval_limit: int | None = None, done: list[dict] | None = None,
           checkpoint: Callable[[list[dict]], None] | None = None, log=print):
    """Train every configuration of ``grid(blocks, widths, resolutions)`` with ``SWEEP_RECIPE``
    (``training`` overrides some of it) on the first ``limit`` training images (all by default),
    evaluated on the first ``eval_limit`` test images (all). Resumable: points in ``done`` trained
    with the same recipe are kept, and ``checkpoint(rows)`` gets the rows so far after each point
    (``labkit.cache.run`` wires both to a ``.partial.json`` file)."""
    configs = grid(blocks, widths, resolutions)
    training = {**SWEEP_RECIPE, **(training or {})}
    same = {**training, "limit": limit, **({"eval_limit": eval_limit} if eval_limit is not None else {})}
    points = [p for p in (done or []) if p.get("config") in configs and p.get("recipe") == same]
    for i, cfg in enumerate(configs):
        if cfg in [p["config"] for p in points]:
            continue
        p = train_point(cfg, training, limit=limit, eval_limit=eval_limit)
        points = sorted(points + [p], key=lambda q: configs.index(q["config"]))
        if checkpoint:
            checkpoint(points)
        log(f"[{i + 1}/{len(configs)}] {cfg}: {p['accuracy_pct']:.2f} %, {p['size_bytes']:,} bytes, "
            f"{p['macs']:,} MACs, {p['train_seconds']:.0f} s")
    params = {"recipe": training, "blocks": list(blocks), "widths": list(widths), "resolutions": list(resolutions),
              "limit": limit, "eval_limit": eval_limit}
    return points, params, {}


def view(doc: dict) -> dict:
    """A cached compact sweep as the explorer reads it: ``{recipe, points}`` plus the cache's
    ``command``, ``labkit``, ``torch``, ``threads``, ``created``, ``seconds``."""
    from .. import cache
    return {**cache.meta(doc), "recipe": doc["params"]["recipe"], "points": [dict(r) for r in doc["rows"]]}


def sweep(**kwargs) -> dict:
    """Train the sweep now (``recipe(**kwargs)``, not written to the cache), in the shape of ``load_sweep``."""
    from .. import cache
    return view(cache.compute("compact", **kwargs))


def load_sweep(path=None) -> dict:
    """The cached sweep (``python -m labkit sweep compact``) in the shape of ``view``, or a one-line
    error naming that command."""
    from .. import cache
    return cache.read("compact", path)
