"""Notebook 08's dashboard: a byte budget slider over the cached Deep Compression runs -> the
allocation, the decoded model's accuracy, the real file's size, the measured latency, and the
stage-by-stage waterfall (fp32 -> pruned -> shared -> coded). Every move reads precomputed results."""
from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..ui.plots import figure_png, fmt_bytes
from ..ui.widgets import StaticView, show_png

STAGES = ("fp32", "pruned", "shared", "coded")


def waterfall_figure(stages: dict, title: str | None = None) -> Figure:
    """Bars of bytes per stage (log scale), each labelled with its size and x smaller than fp32."""
    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.add_subplot()
    values = [stages[s] for s in STAGES]
    ax.bar(STAGES, values, color=["#888888", "#4c72b0", "#55a868", "#c44e52"])
    ax.set_yscale("log")
    ax.set_ylabel("bytes (log scale)")
    for i, v in enumerate(values):
        ax.text(i, v * 1.1, f"{fmt_bytes(v)}\n{values[0] / v:.0f}x", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(min(values) / 3, values[0] * 8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


class BudgetDashboard(StaticView, widgets.VBox):
    """A model dropdown and a byte-budget slider over ``runs`` (``{model: [row]}``, rows of the
    cached sweep with ``accuracy_pct`` of the decoded file, ``size_bytes``, ``stages``,
    ``config["allocation"]``, ``target_bytes`` and a measured ``latency_ms``); ``baselines``:
    ``{model: row}`` with the fp32 accuracy and latency."""

    def __init__(self, runs: dict, baselines: dict):
        self.runs = {m: sorted(rs, key=lambda r: r["target_bytes"]) for m, rs in runs.items()}
        self.baselines = baselines
        self._png = {(m, r["target_bytes"]): figure_png(waterfall_figure(r["stages"], f"{m}: bytes at each stage"))
                     for m, rs in self.runs.items() for r in rs}        # every waterfall drawn once: a move only shows it
        self.model = widgets.Dropdown(options=list(self.runs), description="model")
        self.slider = widgets.SelectionSlider(options=self._options(self.model.value), description="budget",
                                              layout=widgets.Layout(width="420px"), continuous_update=False)
        self.label = widgets.HTML()
        self.out = widgets.Output()
        self.model.observe(lambda _c: self._switch(), names="value")
        self.slider.observe(lambda _c: self._update(), names="value")
        super().__init__([widgets.HBox([self.model, self.slider]), self.label, self.out])
        self._update()

    def _options(self, model):
        return [(fmt_bytes(r["target_bytes"]), r["target_bytes"]) for r in self.runs[model]]

    def _switch(self):
        self.slider.options = self._options(self.model.value)
        self._update()

    def select(self, budget, model=None):
        """Move to ``model`` (optional) and the run of byte ``budget`` (as a lecturer would)."""
        if model is not None and model != self.model.value:
            self.model.value = model
        self.slider.value = budget
        self._update()

    def text(self) -> str:
        r = next(r for r in self.runs[self.model.value] if r["target_bytes"] == self.slider.value)
        b = self.baselines[self.model.value]
        alloc = ", ".join(f"{n}: {v}" for n, v in r["config"]["allocation"].items())
        return (f"{self.model.value}, budget {fmt_bytes(r['target_bytes'])}: file {r['size_bytes']:,} bytes "
                f"({b['size_bytes'] / r['size_bytes']:.0f}x smaller), decoded accuracy {r['accuracy_pct']:.2f} % "
                f"({r['accuracy_pct'] - b['accuracy_pct']:+.2f} pt), batch-1 latency {r['latency_ms']:.3f} ms "
                f"(fp32 {b['latency_ms']:.3f} ms)<br>allocation (sparsity/bits): {alloc}")

    def _update(self):
        r = next(r for r in self.runs[self.model.value] if r["target_bytes"] == self.slider.value)
        self.label.value = self.text()
        show_png(self.out, self._png[(self.model.value, r["target_bytes"])])


def dashboard(runs: dict, baselines: dict) -> BudgetDashboard:
    return BudgetDashboard(runs, baselines)


def prepare(sweep: dict, repeats: int = 10) -> tuple[dict, dict]:
    """``(runs, baselines)`` for the dashboard from the cached sweep (``sweep.load_dc``): every file
    decoded and timed (batch 1, dense kernels) beside its fp32 model, once, before the slider moves; each
    run keeps its measured ``speedup`` over that fp32 model (``labkit.timing.Timing.speedup``: the same run)."""
    from .. import metrics, zoo
    from .fileformat import from_bytes
    from .sweep import file_of, template
    runs, baselines = {}, {}
    for model, d in sweep["by_model"].items():
        t = template(model)
        decoded = {str(i): from_bytes(file_of(r), t) for i, r in enumerate(d["runs"])}
        lat = metrics.compare_latency({"fp32": zoo.load(model), **decoded}, repeats=repeats)
        runs[model] = [{**r, "latency_ms": lat[str(i)].median_ms, "speedup": lat.speedup(str(i), "fp32")}
                       for i, r in enumerate(d["runs"])]
        baselines[model] = {**d["baseline"], "latency_ms": lat["fp32"].median_ms}
    return runs, baselines


def bench_widgets():
    """For ``labkit.ui.catalogue``: the notebook's dashboard over the cached sweep."""
    from .sweep import load_dc
    runs, baselines = prepare(load_dc(), repeats=3)
    moves = [(r["target_bytes"], m) for m, rs in runs.items() for r in rs]
    return {"": (lambda: dashboard(runs, baselines), moves)}
