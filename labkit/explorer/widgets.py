"""Notebook 09's explorer: every record's point, filtered by family and constraints, on the axis
of your choice, with each family's Pareto front; the selected point's config and notebook below.

Fast on all records: one figure per axis is drawn once (every point in grey, the legend, the
axes); a move redraws only the moving artists (the points that pass the filters, the fronts,
the constraint lines, the selection ring) on the saved background (``labkit.ui.plots.MovingFigure``).
"""
from __future__ import annotations

import json

import ipywidgets as widgets
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..ui.plots import MovingFigure, fmt_bytes
from ..ui.widgets import LiveWidget, show_png
from . import pareto
from .records import NOT_TECHNIQUES, families

ANY = float("inf")
KIB_STOPS = (4, 8, 16, 32, 50, 64, 100, 128, 256, 512, 1024, 2048)        # the constraint sliders' stops
REL_STOPS = (0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.5, 2)      # latency / its own baseline's (like for like)
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
          "tab:cyan", "0.35")
# no absolute latency: the records' latencies come from many runs (only each run's own ratios compare)
AXIS_CHOICES = (("size (bytes)", "size_bytes"), ("latency / its own baseline (like for like)", "rel_latency"),
                ("MACs", "macs"), ("parameters", "params"))


class _AxisPlot:
    """The explorer's figure for one x axis: a still background and the moving artists."""

    def __init__(self, points, fams, colors, x):
        self.x = x
        fig = Figure(figsize=(8.2, 4.6), layout="constrained")
        ax = self.ax = fig.add_subplot()
        points = pareto.timed(points, x) or points[:1]
        xs = [p[x] or 1.0 for p in points]
        ax.scatter(xs, [p["accuracy_pct"] for p in points], s=14, color="0.85", zorder=1)
        ax.set_xscale("log")
        if x == "rel_latency":
            ax.axvline(1.0, color="0.6", lw=0.8, zorder=0)      # its baseline (and every "within noise" point)
        if x == "size_bytes":
            ax.xaxis.set_major_locator(LogLocator(base=2, numticks=8))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_bytes(v, 0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(pareto.AXES[x])
        ax.set_ylabel("accuracy (%)")
        ax.grid(True, alpha=0.3)
        lo = min(p["accuracy_pct"] for p in points)
        ax.set_ylim(max(lo - 2, 0), 100.5)
        span = (min(xs) / 1.5, max(xs) * 1.5)
        ax.set_xlim(*span)
        handles = [Line2D([], [], ls="-", marker="o", color=colors[f], label=f) for f in fams]
        handles += [Line2D([], [], ls="none", marker="o", color="0.85", label="filtered out"),
                    Line2D([], [], ls="--", color="crimson", label="constraints")]
        fig.legend(handles=handles, loc="outside right upper", fontsize=9, frameon=False, title="family (front)")
        self.shown = ax.scatter([], [], s=30, edgecolors="k", linewidths=0.4, zorder=3)
        self.fronts = {f: ax.plot([], [], drawstyle="steps-post", color=colors[f], lw=1.6, zorder=2)[0] for f in fams}
        self.vline = ax.axvline(span[1], ls="--", color="crimson", lw=1)
        self.hline = ax.axhline(0, ls="--", color="crimson", lw=1)
        self.ring = ax.scatter([xs[0]], [points[0]["accuracy_pct"]], s=260, facecolors="none", edgecolors="crimson",
                               linewidths=2, zorder=5)
        self.view = MovingFigure(fig, [self.shown, *self.fronts.values(), self.vline, self.hline, self.ring])


class Explorer(LiveWidget):
    """Filters (families, max bytes, max latency over its own baseline, min accuracy), an axis, a point chooser; see ``explorer``."""

    def __init__(self, entries, live=None, live_seconds=None, title=None):
        super().__init__()
        self.points = [e for e in entries if e["batch_size"] == 1 and e["family"] not in NOT_TECHNIQUES]
        if not self.points:
            raise ValueError("no batch-1 technique points in the records: execute notebooks 00-06 first (make notebooks)")
        self.families = families(self.points)
        self.colors = {f: COLORS[i % len(COLORS)] for i, f in enumerate(self.families)}
        self.live, self.title = live, title
        self.family_box = widgets.SelectMultiple(options=self.families, value=tuple(self.families), rows=min(8, len(self.families)),
                                                 description="families")
        self.axis = widgets.Dropdown(options=AXIS_CHOICES, value="size_bytes", description="x axis")
        # "any" is the loosest stop: no bound (inf), or accuracy >= 0
        self.max_kib = widgets.SelectionSlider(options=[(f"{v:g}", float(v)) for v in KIB_STOPS] + [("any", ANY)],
                                               value=ANY, description="≤ KiB", continuous_update=False)
        self.max_rel = widgets.SelectionSlider(options=[(f"{v:g}x", float(v)) for v in REL_STOPS] + [("any", ANY)],
                                               value=ANY, description="≤ latency", continuous_update=False,
                                               tooltip="batch-1 latency over its own run's baseline (like for like)")
        self.min_acc = widgets.SelectionSlider(options=[("any", 0.0)] + [(f"{v}", float(v)) for v in range(50, 95)],
                                               value=0.0, description="≥ acc %", continuous_update=False)
        self.choice = widgets.Dropdown(description="point", layout=widgets.Layout(width="95%"))
        self.label = widgets.Label()
        self.detail = widgets.HTML()
        self.out = widgets.Output()
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="live")
        self._live_button("re-measure here", live_seconds, disabled=live is None,
                          tooltip="rebuild one model per family and time them side by side now")
        self.plots: dict = {}
        controls = widgets.HBox([self.family_box, widgets.VBox([self.axis, self.max_kib, self.max_rel, self.min_acc])])
        self.children = [controls, self.choice, self.label, self.detail, widgets.HBox([self.button, self.progress]), self.out]
        for name, w in (("families", self.family_box), ("axis", self.axis), ("max-kib", self.max_kib), ("max-rel", self.max_rel),
                        ("min-acc", self.min_acc), ("choice", self.choice), ("label", self.label), ("figure", self.out),
                        ("live", self.button)):
            w.add_class(f"labkit-explorer-{name}")      # for the browser tests (tests/browser)
        for w in (self.family_box, self.axis, self.max_kib, self.max_rel, self.min_acc):
            w.observe(self._on_filter, names="value")
        self.choice.observe(self._on_choice, names="value")
        for _, x in AXIS_CHOICES:       # every axis's background drawn now: switching axes is a move too
            self._plot(x).view.draw()
        self._filter()

    # ---------------------------------------------------------------- state
    def matching(self) -> list[dict]:
        """The points that pass the filters, most accurate first."""
        return pareto.query(self.points, max_bytes=self.max_kib.value * 1024, max_rel_latency=self.max_rel.value,
                            min_accuracy_pct=self.min_acc.value,
                            families=set(self.family_box.value))

    @property
    def current(self):
        i = self.choice.value
        return None if i is None else self.points[i]

    def _filter(self):
        self.shown = self.matching()
        index = {id(p): i for i, p in enumerate(self.points)}
        keep = self.choice.value
        options = [(f"{p['accuracy_pct']:.2f} % | {fmt_bytes(p['size_bytes'])} | {p['label']}", index[id(p)]) for p in self.shown]
        self._quiet = True          # one render below, not one per option change
        try:
            self.choice.options = options
            ids = [i for _, i in options]
            self.choice.value = keep if keep in ids else (ids[0] if ids else None)
        finally:
            self._quiet = False
        self._update()

    def _update(self):
        p = self.current
        n, total = len(self.shown), len(self.points)
        rules = [f"≤ {self.max_kib.value:g} KiB" if self.max_kib.value < ANY else "",
                 f"≤ {self.max_rel.value:g}x its baseline's latency" if self.max_rel.value < ANY else "",
                 f"≥ {self.min_acc.value:.0f} %" if self.min_acc.value > 0 else ""]
        rules = ", ".join(r for r in rules if r) or "no constraint"
        head = f"{n} of {total} points meet {rules}"
        if p is None:
            self._say(head + ": none selected")
            self.detail.value = ""
        else:
            self._say(f"{head} | selected: {p['label']} ({p['notebook']}): accuracy {p['accuracy_pct']:.2f} % "
                      f"({p['drop_pt']:+.2f} pt), {fmt_bytes(p['size_bytes'])} ({p['x_smaller']:.1f}x smaller), "
                      f"speed {p['speed']} ({p['against']})")
            self.detail.value = (f"<b>{p['technique']}</b> ({p['family']}) from <code>notebooks/{p['notebook']}.ipynb</code>, "
                                 f"config <code>{json.dumps(p['config'])}</code>")
        with self._lock:
            show_png(self.out, self._frame(p))

    def _plot(self, x):
        if x not in self.plots:
            self.plots[x] = _AxisPlot(self.points, self.families, self.colors, x)
            if self.title:
                self.plots[x].ax.set_title(self.title, fontsize=11)
        return self.plots[x]

    def _frame(self, sel) -> bytes:
        x = self.axis.value
        plot = self._plot(x)
        shown = pareto.timed(self.shown, x)
        plot.shown.set_offsets([[p[x], p["accuracy_pct"]] for p in shown] or [[float("nan"), float("nan")]])
        plot.shown.set_facecolors([self.colors[p["family"]] for p in shown] or ["none"])
        for fam, line in plot.fronts.items():
            f = pareto.front([p for p in shown if p["family"] == fam], x) if fam in self.family_box.value else []
            line.set_data([p[x] for p in f], [p["accuracy_pct"] for p in f])
        limit = {"size_bytes": self.max_kib.value * 1024, "rel_latency": self.max_rel.value}.get(x)
        limit = None if limit is None or limit == ANY else limit
        plot.vline.set_visible(limit is not None)
        if limit is not None:
            plot.vline.set_xdata([limit, limit])
        plot.hline.set_visible(self.min_acc.value > 0)
        if self.min_acc.value > 0:
            plot.hline.set_ydata([self.min_acc.value] * 2)
        on_axis = sel is not None and bool(pareto.timed([sel], x))
        plot.ring.set_visible(on_axis)
        if on_axis:
            plot.ring.set_offsets([[sel[x], sel["accuracy_pct"]]])
        return plot.view.png()

    # ---------------------------------------------------------------- events
    def _on_filter(self, _change):
        self._guarded(self._filter)

    def _on_choice(self, _change):
        self._guarded(self._update)

    def select(self, point=None, families=None, x=None, max_kib="keep", max_rel="keep", min_acc="keep"):
        """Set any control (as a user would) and render once; ``point``: an index into ``points`` or a
        label. Returns the selected point."""
        self._quiet = True
        try:
            if families is not None:
                self.family_box.value = tuple(f for f in self.families if f in families)
            if x is not None:
                self.axis.value = x
            for slider, v in ((self.max_kib, max_kib), (self.max_rel, max_rel), (self.min_acc, min_acc)):
                if v != "keep":
                    slider.value = _nearest(slider, v)
        finally:
            self._quiet = False
        self._filter()
        if point is not None:
            i = point if isinstance(point, int) else next(
                (k for k, p in enumerate(self.points) if p["label"] == point), None)
            if i is None or i not in [v for _, v in self.choice.options]:
                raise ValueError(f"point {point!r} is not among the {len(self.shown)} points that pass the filters")
            if self.choice.value == i:
                self._update()
            else:
                self.choice.value = i
        return self.current

    def run_live(self):
        """Re-measure (``live(progress) -> list of points``) and add the points it returns as family
        ``live``-marked entries of their own family; errors go to the label."""
        if self.live is None:
            raise RuntimeError("this explorer has no live computation: pass live=callable(progress)")
        new = self._run("re-measuring ...", lambda progress: list(self.live(progress)))
        if new is None:
            return None
        self.points.extend(new)
        self.plots = {}
        self._filter()
        return new


def _nearest(slider, v):
    """The slider option closest to ``v`` (``None``: "any")."""
    opts = [o for _, o in slider.options]
    if v is None:
        return ANY if ANY in opts else 0.0
    return min(opts, key=lambda o: abs(o - v) if o != ANY else float("inf"))


def explorer(entries, live=None, live_seconds=None, title=None) -> Explorer:
    """The trade-off explorer over ``entries`` (``labkit.explorer.load()``): batch-1 points of every
    technique family, filters, an x axis (bytes, latency relative to its own run's baseline like for
    like, MACs, parameters: never an absolute latency, the records' come from many runs), each family's
    front over the points that pass (a simulated point on none of latency), the selected point's
    config, speed with its interval and notebook; ``live(progress) -> [entries]`` behind the
    "re-measure here" button."""
    return Explorer(entries, live=live, live_seconds=live_seconds, title=title)


def bench_widgets():
    """For ``labkit.ui.catalogue``: the explorer over the committed records; moves drag the
    constraints and switch axes as a lecturer would."""
    from ..ui import catalogue
    from .records import load
    entries = load(exclude=["09_explorer"])

    def tiny(progress):         # catalogue.TINY_LIVE (the browser test of the buttons): no re-measure
        progress(0.5, "tiny live run (browser test)")
        return [dict(entries[0], label="live: " + entries[0]["label"])]
    moves = [{"max_kib": 1e9}, {"max_kib": 400}, {"max_kib": 100}, {"max_kib": 50, "min_acc": 85},
             {"max_rel": 1.0}, {"x": "rel_latency"}, {"min_acc": 90}, {"x": "params"},
             {"max_kib": None, "max_rel": None, "min_acc": None}, {"x": "size_bytes"}]
    return {"": (lambda: explorer(entries, live=tiny if catalogue.TINY_LIVE else None), moves)}


def remeasure_live(progress, repeats: int = 5) -> list[dict]:
    """The explorer's live run: rebuild one model per family (``remeasure.representatives``), time them
    like for like now at batch 1 (eager vs eager, deployed vs deployed: ``remeasure.remeasure``), and
    return them as entries (``source="live"``, each with its own run's speed and interval)."""
    from . import remeasure
    progress(0.1, "rebuilding one model per family")
    models, hows = remeasure.representatives()
    progress(0.4, "timing eager vs eager, deployed vs deployed")
    measured = remeasure.remeasure(models, hows, batch_sizes=(1,), repeats=repeats)
    return [e for e in remeasure.as_entries(measured, hows, "live") if e["family"] not in NOT_TECHNIQUES]
