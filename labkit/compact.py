"""Compact networks for Fashion-MNIST: the block x width x resolution sweep and its explorer.

The networks are ``labkit.models.CompactNet`` built from a block-config table (the format
NAS reuses); ``labkit.zoo.block_config(block)`` swaps the table's block type. The three
knobs of MobileNetV1 (Howard et al. 2017, arXiv:1704.04861) and its successors:

- block type: any name of ``labkit.blocks.BLOCKS``;
- width multiplier alpha: every channel count times alpha (cost ~ alpha^2);
- resolution multiplier rho: the input resampled to rho * 28 pixels (cost ~ rho^2),
  done inside the model by ``Resized`` so that accuracy, MACs and latency all see it.

Training every point is too slow for a notebook run, so ``python -m labkit.compact sweep``
trains the grid once (a short recipe, ``SWEEP_RECIPE``) and caches accuracy, size and
MACs in ``notebooks/cache/compact_sweep.json``; the notebook re-measures every point's
latency live (``measure_latency``), and ``sweep_explorer`` shows them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from torch import nn

from . import metrics, validate
from .blocks import BLOCKS
from .paths import ROOT, cache_dir, read_cache, write_json
from .plots import check_points, tradeoff_figure
from .widgets import LiveWidget, _distinct, describe, show_figure

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
    from .models import CompactNet
    from .zoo import block_config
    validate.choice(block, BLOCKS, "block")
    net = CompactNet(block_config(block), width=width)
    return net if resolution == 28 else Resized(net, resolution)


def grid(blocks=SWEEP_BLOCKS, widths=SWEEP_WIDTHS, resolutions=SWEEP_RESOLUTIONS) -> list[dict]:
    return [{"block": b, "width": w, "resolution": r} for b in blocks for w in widths for r in resolutions]


def train_point(config: dict, recipe: dict | None = None, limit: int | None = None, progress=None) -> dict:
    """Train ``sweep_model(**config)`` with ``recipe`` and measure accuracy (%), fp32 size
    (bytes), MACs and parameters: one sweep point (no latency: see ``measure_latency``).
    ``progress(fraction, text)`` follows the training (a widget's progress bar)."""
    from .size import size_bytes
    from .train import evaluate, train
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


# ---------------------------------------------------------------- one block against a 3x3 conv
def compare_blocks(channels: int = 64, resolution: int = 56, batch_size: int = 1, repeats: int = 20,
                   names=None) -> list[dict]:
    """Every block of ``BLOCKS`` (default expansion) mapping ``channels`` to ``channels`` at
    ``resolution`` x ``resolution``, stride 1: parameters, MACs and latency (timed
    interleaved), the share of MACs in depthwise convolutions, and the ratios to the standard
    3x3 convolution ``conv`` (> 1: cheaper)."""
    names = list(names or BLOCKS)
    if "conv" not in names:
        names = ["conv"] + names
    mods = {n: BLOCKS[n](channels, channels, stride=1).eval() for n in names}
    shape = (batch_size, channels, resolution, resolution)
    times = metrics.compare_latency(mods, shape, repeats=repeats)
    from .trend import depthwise_macs_share
    rows = [{"block": n, "params": metrics.count_params(m), "macs": metrics.count_macs(m, shape),
             "dw_share": depthwise_macs_share(m, shape), "latency_ms": times[n].median_ms} for n, m in mods.items()]
    ref = rows[names.index("conv")]
    for r in rows:
        r["params_ratio"] = ref["params"] / r["params"]
        r["macs_ratio"] = ref["macs"] / r["macs"]
        r["measured_ratio"] = ref["latency_ms"] / r["latency_ms"]
    return rows


def blocks_figure(settings: dict) -> "Figure":
    """Bars per block: how many times fewer parameters, MACs, and measured milliseconds than
    the 3x3 convolution (log scale; above 1 = cheaper), one panel per ``{title: rows}``."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.2 * len(settings), 4), layout="constrained")
    axes = fig.subplots(1, len(settings), squeeze=False)[0]
    keys = (("params_ratio", "parameters"), ("macs_ratio", "MACs"), ("measured_ratio", "latency (measured)"))
    for ax, (title, rows) in zip(axes, settings.items()):
        rows = [r for r in rows if r["block"] != "conv"]
        for j, (k, label) in enumerate(keys):
            ax.bar([i + (j - 1) * 0.27 for i in range(len(rows))], [r[k] for r in rows], width=0.27,
                   label=f"{label}", zorder=2)
        ax.axhline(1, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(rows)), [r["block"] for r in rows])
        ax.set_ylabel("times cheaper than a 3x3 conv")
        ax.grid(True, axis="y", alpha=0.3, zorder=0)
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------- the explorer widget
class SweepExplorer(LiveWidget):
    """One selector per swept parameter over a precomputed grid; see ``sweep_explorer``."""

    def __init__(self, points, params=PARAMS, baseline=None, live=None, title=None):
        super().__init__()
        self.points = [dict(p) for p in check_points(points)]
        self.params = tuple(params)
        for k in self.params:
            check_points(self.points, k)
        if baseline is not None:
            check_points([baseline])
        if live is not None and not callable(live):
            raise TypeError("live must be a callable live(config, progress) -> point")
        self.baseline, self.live, self.title = baseline, live, title
        self.selectors = {}
        for k in self.params:
            values = _distinct(p["config"][k] for p in self.points)
            if all(isinstance(v, (int, float)) for v in values):
                w = widgets.SelectionSlider(options=[(str(v), v) for v in values], value=values[-1],
                                            description=k, continuous_update=False)
            else:
                w = widgets.ToggleButtons(options=values, value=values[0], description=k)
            w.observe(self._on_change, names="value")
            self.selectors[k] = w
        self.label = widgets.Label()
        self.out = widgets.Output()
        self.button = widgets.Button(description="train this one live", icon="play", disabled=live is None)
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="live")
        self.button.on_click(lambda _b: self.run_live())
        self.children = (list(self.selectors.values()) + [self.label]
                         + ([widgets.HBox([self.button, self.progress])] if live else []) + [self.out])
        self._update()

    @property
    def config(self) -> dict:
        return {k: w.value for k, w in self.selectors.items()}

    @property
    def current(self):
        """The point of the selected configuration (the live one if trained), or None."""
        matches = [p for p in self.points if all(p["config"][k] == v for k, v in self.config.items())]
        return max(matches, key=lambda p: p.get("label") == "live") if matches else None

    def _update(self):
        point = self.current
        if point is None:
            self._say(", ".join(f"{k}={v}" for k, v in self.config.items()) + ": not in the sweep"
                      + (" (train it live)" if self.live else ""))
        else:
            self._say(describe(point, self.params, self.baseline))
        show_figure(self.out, tradeoff_figure(self.points, highlight=point, baseline=self.baseline, title=self.title))

    def _on_change(self, _change):
        self._guarded(self._update)

    def select(self, **values):
        """Select a configuration (same as moving the selectors); returns its point or None."""
        for k, v in values.items():
            if k not in self.selectors:
                raise ValueError(f"{k!r} is not a swept parameter; choose from {list(self.selectors)}")
            options = [o[1] if isinstance(o, tuple) else o for o in self.selectors[k].options]
            if v not in options:
                raise ValueError(f"{k}={v!r} is not in the sweep; choose one of {options}")
        for k, v in values.items():
            self.selectors[k].unobserve(self._on_change, names="value")
            self.selectors[k].value = v
            self.selectors[k].observe(self._on_change, names="value")
        self._update()
        return self.current

    def run_live(self):
        """Train the selected configuration now with ``live(config, progress)`` (same as the
        button); the point replaces the cached one. Errors go to the label; returns the point or None."""
        if self.live is None:
            raise RuntimeError("this explorer has no live computation: pass live=callable(config, progress)")
        cfg = self.config

        def compute(progress):
            point = dict(self.live(cfg, progress))
            point.setdefault("config", cfg)
            check_points([point])
            return point
        point = self._run(f"training {cfg} ...", compute)
        if point is None:
            return None
        point["label"] = "live"
        self.points = [p for p in self.points if p["config"] != point["config"]] + [point]
        self._update()
        return point


def sweep_explorer(points, params=PARAMS, baseline=None, live=None, title=None) -> SweepExplorer:
    """A trade-off explorer over a grid: one selector per parameter in ``params`` (sliders for
    numbers, buttons for names), the accuracy-size plot (colour = latency, area = MACs, Pareto
    front) with the selection circled, and an optional button that trains it live
    (``live(config, progress) -> point``)."""
    return SweepExplorer(points, params, baseline=baseline, live=live, title=title)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.compact", description="The compact-net sweep behind notebook 01's explorer.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sweep", help=f"train the {len(grid())}-point grid ({SWEEP_RECIPE['epochs']} epochs each) and cache it")
    args = p.parse_args(argv)
    from .runtime import setup
    setup(quiet=True)
    if args.cmd == "sweep":
        doc = run_sweep()
        path = sweep_cache()
        print(f"{len(doc['points'])} points in {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
