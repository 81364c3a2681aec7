"""Trade-off plots: accuracy vs size (or latency, or MACs) of a sweep of compressed models.

A sweep point is a dict with ``accuracy_pct`` (%), ``size_bytes``, ``latency_ms``, ``macs``
and ``config`` (the swept parameters, e.g. ``{"width": 0.5}``), optionally ``label``.
Figures are built as ``matplotlib.figure.Figure`` objects (no pyplot state), so they are
safe under any backend and inside widget callbacks.
"""
from __future__ import annotations

import io
from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .. import pareto
from ..env import figure_png  # noqa: F401  (re-exported: the PNG a cell shows, labkit.env)
from ..points import MEASURES
from ..text import fmt_bytes, fmt_count, fmt_ratio, point_name, text_table  # noqa: F401  (re-exported)

REQUIRED = (*MEASURES, "config")
X_AXES = {"size_bytes": "size", "latency_ms": "latency (ms)", "macs": "MACs"}


def check_points(points, param=None) -> list:
    """Raise a one-line error naming the fix if ``points`` is not a usable sweep; return it as a list."""
    if points is None or isinstance(points, (str, bytes, Mapping)) or len(points) == 0:
        raise ValueError("no sweep points: compute a sweep first (a list of dicts with "
                         + ", ".join(REQUIRED) + ")")
    points = list(points)
    for i, p in enumerate(points):
        if not isinstance(p, Mapping):
            raise TypeError(f"point {i} is a {type(p).__name__}, not a dict with " + ", ".join(REQUIRED))
        missing = [k for k in REQUIRED if k not in p]
        if missing:
            raise ValueError(f"point {i} is missing key {missing[0]!r}: every point needs "
                             + ", ".join(REQUIRED))
        if not isinstance(p["config"], Mapping):
            raise TypeError(f"point {i}: 'config' must be a dict of the swept parameters, "
                            f"got {type(p['config']).__name__}")
        if param is not None and param not in p["config"]:
            raise ValueError(f"point {i} has no {param!r} in its config; param must be one of "
                             f"{sorted(p['config'])}")
    return points


def annotate_apart(ax, xs, ys, labels, fontsize: int = 7, offsets=((4, -9), (4, 4), (-4, 4), (-4, -9))) -> int:
    """Name points without overlapping labels: each label tries ``offsets`` (points) in turn and is
    placed at the first where it overlaps no label placed before it and stays inside the axes;
    a label that fits nowhere is left out (the point keeps its marker). Returns how many were placed."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else None
    if renderer is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        renderer = FigureCanvasAgg(fig).get_renderer()
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    inside = ax.get_window_extent(renderer)
    boxes, placed = [], 0
    for x, y, text in zip(xs, ys, labels):
        for dx, dy in offsets:
            t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                            ha="left" if dx >= 0 else "right")
            box = t.get_window_extent(renderer)
            fits = (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1)
            if fits and not any(box.overlaps(b) for b in boxes):
                boxes.append(box)
                placed += 1
                break
            t.remove()
    return placed


def ratio_axis(ax, which: str = "y") -> None:
    """A log axis for ratios (speedups, times cheaper), ticked at powers of two and labelled
    ``0.25x ... 4x`` instead of ``4x10^0``."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log", base=2)
    axis.set_major_locator(LogLocator(base=2, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda v, _: fmt_ratio(v)))
    axis.set_minor_formatter(NullFormatter())


def pareto_front(points, x: str = "size_bytes", y: str = "accuracy_pct") -> list:
    """Points no other point dominates (smaller-or-equal ``x`` and greater-or-equal ``y``,
    one of them strictly), sorted by ``x`` (``labkit.pareto.front``)."""
    return pareto.front(points, x, y)


# Batch-1 timings on a shared 2-core machine move by a few per cent between runs (notebook 00
# measured 3.46-3.58 ms for one model); a latency spread below this fraction of the median is
# noise, and colour then shows one fixed value instead of stretching the noise over the map.
LATENCY_NOISE = 0.10
MARKERS = ("o", "s", "^", "D", "v", "P")     # one per point label ("uniform", "mixed", "live", ...)
FIXED_COLOR = "tab:blue"


def within_noise(values, noise: float = LATENCY_NOISE) -> bool:
    """True if ``max - min`` of ``values`` is at most ``noise`` times their median."""
    values = sorted(values)
    return values[-1] - values[0] <= noise * values[len(values) // 2]


class MovingFigure:
    """A figure drawn once, whose few ``moving`` artists are redrawn on the saved background for
    every new frame (matplotlib's blitting): a slider move costs a restore, a few artists and a
    PNG encode (~0.03 s) instead of building and drawing the whole figure (~0.3 s on 2 cores).
    Set the moving artists' data, then call ``png()``; hide one with ``set_visible(False)``."""

    def __init__(self, fig: Figure, moving=(), dpi: int = 100):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        self.fig, self.moving = fig, list(moving)
        for a in self.moving:
            a.set_animated(True)           # left out of the background
        fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(fig)
        self._background = None

    def draw(self):
        """Draw the background now (the first ``png`` does it otherwise); later frames reuse it."""
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)

    def png(self) -> bytes:
        """The current frame as PNG bytes."""
        if self._background is None:
            self.draw()
        else:
            self.canvas.restore_region(self._background)
        for a in self.moving:
            if a.get_visible():
                self.fig.draw_artist(a)
        return encode_png(self.canvas)


def encode_png(canvas) -> bytes:
    """The RGBA buffer of an Agg ``canvas`` as PNG bytes (fast zlib level: ~5 ms for 640x420)."""
    from PIL import Image
    width, height = canvas.get_width_height(physical=True)
    buf = io.BytesIO()
    Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
        buf, format="png", compress_level=1)
    return buf.getvalue()


class TradeoffPlot:
    """The trade-off figure of a sweep, drawn once; ``png(highlight)`` circles and names one point
    (a ``MovingFigure``: the ring and its name are the only artists redrawn). See ``tradeoff_figure``."""

    def __init__(self, points, baseline=None, title=None, x: str = "size_bytes", dpi: int = 100):
        points = check_points(points)
        if x not in X_AXES:
            raise ValueError(f"x={x!r} is not an axis; choose one of {list(X_AXES)}")
        self.x = x
        fig = Figure(figsize=(8.0, 4.6), layout="constrained")
        ax = self.ax = fig.add_subplot()
        self.area = _draw_tradeoff(ax, fig, points, baseline, x)
        if title:
            ax.set_title(title, fontsize=11)
        # the moving artists: the selection ring and its name (outside the layout: a long name
        # must not squeeze the axes; placed inside the axes by ``png``)
        self.ring = ax.scatter([points[0][x]], [points[0]["accuracy_pct"]], s=420, facecolors="none",
                               edgecolors="crimson", linewidths=2, zorder=6)
        self.note = ax.annotate("", (points[0][x], points[0]["accuracy_pct"]), xytext=(0, 0),
                                textcoords="offset points", fontsize=9, color="crimson", zorder=7,
                                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
        self.note.set_in_layout(False)
        self.view = MovingFigure(fig, [self.ring, self.note], dpi=dpi)
        self.fig = fig

    def place(self, highlight):
        """Move the ring and the name onto ``highlight`` (None: hide them)."""
        self.ring.set_visible(highlight is not None)
        self.note.set_visible(highlight is not None)
        if highlight is None:
            return
        hx, hy = highlight[self.x], highlight["accuracy_pct"]
        self.ring.set_offsets([[hx, hy]])
        self.ring.set_sizes([3 * self.area(highlight["macs"]) + 200])   # around the marker, whatever its size
        if self.view._background is None:      # limits and layout are final after the first draw
            self.view.draw()
        fx, fy = self.ax.transAxes.inverted().transform(self.ax.transData.transform((hx, hy)))
        right, high = fx > 0.5, fy > 0.6       # name the point towards the middle of the axes
        self.note.xy = (hx, hy)
        self.note.set_text(point_name(highlight))
        self.note.set_position((-12 if right else 12, -16 if high else 12))
        self.note.set_horizontalalignment("right" if right else "left")
        self.note.set_verticalalignment("top" if high else "bottom")
        self._keep_inside()

    def _keep_inside(self):
        """Shift the name so that its box lies inside the axes (a long name near an edge)."""
        renderer = self.view.canvas.get_renderer()
        box, frame = self.note.get_window_extent(renderer), self.ax.get_window_extent(renderer)
        dx = max(frame.x0 - box.x0, 0) + min(frame.x1 - box.x1, 0)
        dy = max(frame.y0 - box.y0, 0) + min(frame.y1 - box.y1, 0)
        if dx or dy:
            px = 72 / self.fig.dpi                   # display pixels -> offset points
            ox, oy = self.note.get_position()
            self.note.set_position((ox + dx * px, oy + dy * px))

    def png(self, highlight=None) -> bytes:
        self.place(highlight)
        return self.view.png()


def _draw_tradeoff(ax, fig, points, baseline, x):
    """The still part of the trade-off figure: points (colour = latency, area ~ MACs, marker =
    label), Pareto front, baseline, legends. Returns the marker area of a MACs count."""
    xs = [p[x] for p in points]
    lat = [p["latency_ms"] for p in points]
    top = max(p["macs"] for p in points) or 1      # (the baseline's star is not scaled)
    area = lambda macs: 30 + 270 * macs / top  # noqa: E731
    macs = sorted({p["macs"] for p in points})
    one_size = len(macs) == 1 or macs[0] >= 0.95 * macs[-1]
    # colour: latency, one range over the points and the baseline; a fixed colour if the points'
    # latencies are all equal or within noise
    fixed = within_noise(lat)
    span = lat + ([baseline["latency_ms"]] if baseline else [])
    lo, hi = min(span), max(span)
    if lo == hi:
        lo, hi = lo * 0.9 - 1e-3, hi * 1.1 + 1e-3
    labels = _distinct_labels(points)
    sc = None
    for i, name in enumerate(labels):
        group = [p for p in points if (p.get("label") or "") == name]
        kw = {"color": FIXED_COLOR} if fixed else {"c": [p["latency_ms"] for p in group], "cmap": "viridis",
                                                   "vmin": lo, "vmax": hi}
        sc = ax.scatter([p[x] for p in group], [p["accuracy_pct"] for p in group],
                        s=[area(p["macs"]) for p in group], marker=MARKERS[i % len(MARKERS)],
                        edgecolors="k", linewidths=0.5, zorder=3, alpha=0.9,
                        label=(name or "sweep point") if len(labels) > 1 else None, **kw)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls="none", marker="o", markersize=16, markerfacecolor="none", markeredgecolor="crimson",
                      markeredgewidth=2, label="selected")]
    if fixed:
        text = f"{_ms(min(lat))} ms" if min(lat) == max(lat) else f"{_ms(min(lat))}-{_ms(max(lat))} ms (noise)"
        handles.append(_dot(FIXED_COLOR, f"latency {text}"))
    else:
        bar = fig.colorbar(sc, ax=ax, label="latency (ms)", pad=0.01)
        if baseline:
            bar.ax.axhline(baseline["latency_ms"], color="darkorange", lw=2.5)
            bar.ax.text(0.5, baseline["latency_ms"], "baseline", rotation=90, ha="center", va="bottom",
                        fontsize=7, transform=bar.ax.get_yaxis_transform())
    front = pareto_front(points, x=x)
    ax.step([p[x] for p in front], [p["accuracy_pct"] for p in front], where="post",
            color="0.45", lw=1.2, zorder=2, label="Pareto front")
    if baseline is not None:
        bx, by = baseline[x], baseline["accuracy_pct"]
        ax.axhline(by, ls="--", lw=0.8, color="darkorange", zorder=1)
        ax.axvline(bx, ls="--", lw=0.8, color="darkorange", zorder=1)
        ax.scatter([bx], [by], marker="*", s=260, color="darkorange", edgecolors="k", linewidths=0.6, zorder=5,
                   label=f"baseline, {_ms(baseline['latency_ms'])} ms" if fixed else "baseline")
    if x != "latency_ms" and min(xs + ([baseline[x]] if baseline else [])) > 0:
        ax.set_xscale("log")
        if x == "size_bytes":
            ax.xaxis.set_major_locator(LogLocator(base=2, numticks=8))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_bytes(v, 0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel("accuracy (%)")
    ax.grid(True, which="major", alpha=0.3)
    # legends outside the axes, right: what the marks are, then what marker area means
    ax_handles, _ = ax.get_legend_handles_labels()
    fig.legend(handles=ax_handles + handles, loc="outside right upper", fontsize=9,
                       markerscale=0.6, frameon=False)
    if one_size:
        sizes = [_dot("0.8", f"{fmt_count(macs[-1])} MACs: every point", s=area(macs[-1]))]
    else:
        shown = [macs[0], macs[len(macs) // 2], macs[-1]] if len(macs) > 2 else macs
        sizes = [_dot("0.8", f"{fmt_count(m)}", s=area(m)) for m in dict.fromkeys(shown)]
    fig.legend(handles=sizes, loc="outside right lower", fontsize=9, title="area: MACs",
               title_fontsize=9, frameon=False, labelspacing=1.3, borderpad=0.8)
    return area


def _ms(v) -> str:
    """A latency with the digits that matter: 0.79, 3.52, 12.6, 236."""
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _dot(color, label, s=60, marker="o"):
    """A legend handle: a marker of area ``s`` (points^2, as in ``scatter``)."""
    from matplotlib.lines import Line2D
    return Line2D([], [], ls="none", marker=marker, markersize=s ** 0.5, markerfacecolor=color,
                  markeredgecolor="k", markeredgewidth=0.5, label=label)


def _distinct_labels(points) -> list:
    out = []
    for p in points:
        name = p.get("label") or ""
        if name not in out:
            out.append(name)
    return out


def tradeoff_figure(points, highlight=None, baseline=None, title=None, x: str = "size_bytes") -> Figure:
    """Accuracy vs ``x`` (log scale unless latency) of a sweep: colour = latency (one range with
    the baseline; a fixed colour when every point's latency is within ``LATENCY_NOISE``), marker
    area ~ MACs with its legend, a marker per point ``label`` (e.g. uniform vs mixed), Pareto
    front as a step line, ``highlight`` circled and named inside the axes, ``baseline`` a star."""
    plot = TradeoffPlot(points, baseline=baseline, title=title, x=x)
    plot.place(highlight)
    for a in plot.view.moving:
        a.set_animated(False)
    return plot.fig


def sample_grid(dataset, per_class: int = 8, classes=None, title=None) -> Figure:
    """A grid of ``per_class`` images of each class (rows), labelled with the class names.

    ``dataset`` has ``.images`` (uint8 [N, H, W]), ``.labels`` and ``.classes``, like
    ``labkit.data.fashion_mnist(split)``; the first images of each class are shown.
    """
    classes = classes or dataset.classes
    fig = Figure(figsize=(per_class * 0.75 + 1.6, len(classes) * 0.75), layout="constrained")
    axes = fig.subplots(len(classes), per_class, squeeze=False)
    for row, name in enumerate(classes):
        idx = (dataset.labels == row).nonzero().flatten()[:per_class]
        for col in range(per_class):
            ax = axes[row][col]
            ax.set_xticks([]), ax.set_yticks([])
            if col < len(idx):
                ax.imshow(dataset.images[idx[col]].numpy(), cmap="gray_r", vmin=0, vmax=255)
        axes[row][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


