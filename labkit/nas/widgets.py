"""Notebook 07's widget: a latency budget slider -> the best architecture found under it (its
config table, accuracy, latency) on the accuracy-vs-latency plot with its Pareto front.

The points are precomputed (the ground truth's architectures with their LUT latencies, and the
search's retrained finds), so a move only picks the best point under the budget and redraws the
selection ring (``labkit.ui.plots.TradeoffPlot``, blitting): well under 0.2 s.
"""
from __future__ import annotations

import ipywidgets as widgets

from ..ui.plots import TradeoffPlot
from ..ui.widgets import StaticView, show_png


def best_under(points: list[dict], budget_ms: float) -> dict | None:
    """The most accurate point with ``latency_ms <= budget_ms`` (None if there is none)."""
    ok = [p for p in points if p["latency_ms"] <= budget_ms]
    return max(ok, key=lambda p: p["accuracy_pct"]) if ok else None


def table(arch) -> str:
    """The architecture as its config table, one row per stage (HTML)."""
    from . import space
    head = "<tr><th>stage</th><th>block</th><th>expand</th><th>out</th><th>repeats</th><th>stride</th><th>kernel</th></tr>"
    rows = "".join(f"<tr><td>{s}</td>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>"
                   for s, r in enumerate(space.canonical(arch)))
    return f"<table>{head}{rows}</table>"


class BudgetExplorer(StaticView, widgets.VBox):
    """Slider over latency budgets; shows the best point under each. ``points``: dicts with
    ``accuracy_pct``, ``size_bytes``, ``macs``, ``latency_ms``, ``arch`` and a ``label``."""

    def __init__(self, points: list[dict], budgets: list[float], title: str | None = None):
        super().__init__()
        self.points = [dict(p, config={"arch": p.get("label", "")}) for p in points]
        self.slider = widgets.SelectionSlider(options=[(f"{b:.2f} ms", b) for b in budgets], value=budgets[-1],
                                              description="budget", continuous_update=True)
        self.label = widgets.Label()
        self.arch = widgets.HTML()
        self.out = widgets.Output()
        self.plot = TradeoffPlot(self.points, title=title, x="latency_ms")
        self.children = [self.slider, self.label, self.arch, self.out]
        self.slider.observe(lambda _c: self._update(), names="value")
        self._update()

    @property
    def current(self):
        return best_under(self.points, self.slider.value)

    def _update(self):
        p = self.current
        if p is None:
            self.label.value = f"nothing found under {self.slider.value:.2f} ms: raise the budget"
            self.arch.value = ""
        else:
            self.label.value = (f"budget {self.slider.value:.2f} ms: {p.get('label', '')}: accuracy {p['accuracy_pct']:.2f} % "
                                f"| {p['latency_ms']:.2f} ms | {p['macs']:,} MACs")
            self.arch.value = table(p["arch"])
        show_png(self.out, self.plot.png(p))

    def select(self, budget):
        """Move the slider to ``budget`` (one of its values); returns the point shown."""
        values = [v for _, v in self.slider.options]
        if budget not in values:
            raise ValueError(f"budget {budget!r} is not on the slider; choose one of {values}")
        self.slider.value = budget
        return self.current


def budget_explorer(points: list[dict], budgets: list[float], title: str | None = None) -> BudgetExplorer:
    """The notebook's one-line widget (see ``BudgetExplorer``)."""
    return BudgetExplorer(points, budgets, title)


def gt_points(gt: dict, lut: dict, offset: float = 0.0) -> list[dict]:
    """The ground truth's architectures as points: mean accuracy over seeds, LUT latency (+ ``offset``)."""
    from . import latency, space
    return [{"accuracy_pct": a["accuracy_pct"], "size_bytes": a["size_bytes"], "macs": a["macs"],
             "latency_ms": latency.predict(lut, a["arch"]) + offset, "arch": a["arch"],
             "label": f"#{a['index']} {space.describe(a['arch'])}"} for a in gt["archs"]]


def budgets_of(points: list[dict], n: int = 12) -> list[float]:
    """``n`` budgets from the fastest point's latency to the slowest's, rounded to 0.01 ms."""
    lo, hi = min(p["latency_ms"] for p in points), max(p["latency_ms"] for p in points)
    return sorted({round(lo + (hi - lo) * i / (n - 1), 2) for i in range(n)})


def bench_widgets():
    """For ``labkit.ui.catalogue``: the notebook's explorer over the cached ground truth and LUT."""
    from . import latency, truth
    lat = latency.load_sweep()
    pts = gt_points(truth.load_sweep(), lat["lut"]["min"], latency.overhead(lat["fit"]))
    budgets = budgets_of(pts)
    return {"": (lambda: budget_explorer(pts, budgets), budgets[::2])}
