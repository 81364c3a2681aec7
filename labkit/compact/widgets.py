"""Notebook 01's explorer over the compact-net sweep, with a live "train this one" button.
"""
from __future__ import annotations

import ipywidgets as widgets
from ..ui.plots import TradeoffPlot, check_points
from ..ui.widgets import LiveWidget, _distinct, describe, show_png
from .sweep import PARAMS


# ---------------------------------------------------------------- the explorer widget
class SweepExplorer(LiveWidget):
    """One selector per swept parameter over a precomputed grid; see ``sweep_explorer``."""

    def __init__(self, points, params=PARAMS, baseline=None, live=None, title=None, live_seconds=None):
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
        self._live_button("train this one live", live_seconds, disabled=live is None)
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="live")
        self.plot = None          # drawn once per set of points (again after a live run)
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
        with self._lock:
            if self.plot is None:
                self.plot = TradeoffPlot(self.points, baseline=self.baseline, title=self.title)
            show_png(self.out, self.plot.png(point))

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
        self.plot = None
        self._update()
        return point


def sweep_explorer(points, params=PARAMS, baseline=None, live=None, title=None, live_seconds=None) -> SweepExplorer:
    """A trade-off explorer over a grid: one selector per parameter in ``params`` (sliders for
    numbers, buttons for names), the accuracy-size plot (colour = latency, area = MACs, Pareto
    front) with the selection circled, and an optional button that trains it live
    (``live(config, progress) -> point``; ``live_seconds``: how long that takes, for the button)."""
    return SweepExplorer(points, params, baseline=baseline, live=live, title=title, live_seconds=live_seconds)


def bench_width():
    """For ``labkit.ui.catalogue``, notebook 00: ``tradeoff_dashboard`` over the compact net's widths,
    the CNN as baseline (batch 1)."""
    from ..ui.catalogue import _live          # the bench does not train; the browser test's tiny run does
    from .. import compact, points, zoo
    from ..ui.widgets import tradeoff_dashboard
    sweep, models = compact.compact_width_sweep(batch_size=1, repeats=5)
    cnn = points.measure({"cnn": zoo.load("cnn"), **models}, batch_size=1, repeats=5)["cnn"]
    cnn_point = {"config": {"width": "cnn"}, **cnn.as_dict()}
    return {"": (lambda: tradeoff_dashboard(sweep, "width", baseline=cnn_point, live=_live(cnn_point),
                                            live_values=[0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5],
                                            title="compact net: width multiplier (batch-1 latency)"),
                 [0.25, 0.5, 0.75, 1.0])}


def bench_explorer():
    """For ``labkit.ui.catalogue``, notebook 01: ``sweep_explorer`` over the 36-point block x width x
    resolution grid."""
    from ..ui.catalogue import _live          # the bench does not train; the browser test's tiny run does
    from .. import metrics, size, zoo
    from ..train import evaluate
    from .sweep import load_sweep, retime
    sweep = load_sweep()
    cnn = zoo.load("cnn")
    pts, cnn_ms = retime(sweep["points"], cnn, batch_size=32, repeats=2)
    cnn_point = {"config": {"block": "cnn", "width": 1.0, "resolution": 28}, "accuracy_pct": evaluate(cnn),
                 "size_bytes": size.size_bytes(cnn, "fp32"), "macs": metrics.count_macs(cnn), "latency_ms": cnn_ms}
    blocks = list(dict.fromkeys(p["config"]["block"] for p in pts))
    moves = [{"block": b, "width": w, "resolution": r} for b in blocks for w, r in ((1.0, 28), (0.5, 20))]
    return {"": (lambda: sweep_explorer(pts, baseline=cnn_point, live=_live(cnn_point),
                                                title="compact nets on Fashion-MNIST (cached accuracy; latency now, batch 32)"),
                 moves)}
