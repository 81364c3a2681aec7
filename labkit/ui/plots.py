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

from ..points import MEASURES

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


def fmt_bytes(n, digits: int = 2) -> str:
    """``512 B``, ``1.50 KiB``, ``2.25 MiB``, ``1.00 GiB``."""
    n = float(n)
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {unit}"
    return f"{n:.0f} B"


def fmt_count(n) -> str:
    """``950``, ``12.3 k``, ``2.1 M``, ``1.5 G`` (for MACs and parameter counts)."""
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f}"


def pareto_front(points, x: str = "size_bytes", y: str = "accuracy_pct") -> list:
    """Points no other point dominates (smaller-or-equal ``x`` and greater-or-equal ``y``,
    one of them strictly), sorted by ``x``."""
    def dominated(p):
        return any(q[x] <= p[x] and q[y] >= p[y] and (q[x] < p[x] or q[y] > p[y]) for q in points)
    return sorted((p for p in points if not dominated(p)), key=lambda p: (p[x], -p[y]))


def point_name(p, limit: int = 48) -> str:
    """A short name for a point: its label and its scalar config (``live: width=0.5``), cut at
    ``limit`` characters (nested config values such as a per-layer table are left out)."""
    cfg = ", ".join(f"{k}={v}" for k, v in p["config"].items() if not isinstance(v, (dict, list, tuple)))
    name = f"{p['label']}: {cfg}" if p.get("label") else cfg
    return name if len(name) <= limit else name[:limit - 1] + "…"


def tradeoff_figure(points, highlight=None, baseline=None, title=None, x: str = "size_bytes") -> Figure:
    """Accuracy vs ``x`` (log scale unless latency): colour = latency, marker area ~ MACs,
    Pareto front as a step line, ``highlight`` circled, ``baseline`` a star with guide lines."""
    points = check_points(points)
    if x not in X_AXES:
        raise ValueError(f"x={x!r} is not an axis; choose one of {list(X_AXES)}")
    xs = [p[x] for p in points]
    ys = [p["accuracy_pct"] for p in points]
    lat = [p["latency_ms"] for p in points]
    top = max(p["macs"] for p in points) or 1
    area = [30 + 270 * p["macs"] / top for p in points]
    lo, hi = min(lat), max(lat)
    if lo == hi:  # one point, or equal latencies: give the colour scale some width
        lo, hi = lo * 0.9 - 1e-3, hi * 1.1 + 1e-3

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    sc = ax.scatter(xs, ys, c=lat, s=area, cmap="viridis", vmin=lo, vmax=hi,
                    edgecolors="k", linewidths=0.5, zorder=3)
    fig.colorbar(sc, ax=ax, label="latency (ms)")
    front = pareto_front(points, x=x)
    ax.step([p[x] for p in front], [p["accuracy_pct"] for p in front], where="post",
            color="0.45", lw=1.2, zorder=2, label="Pareto front")
    if highlight is not None:
        hx, hy = highlight[x], highlight["accuracy_pct"]
        ax.scatter([hx], [hy], s=420, facecolors="none", edgecolors="crimson", linewidths=2,
                   zorder=4, label="selected")
        below = hy < (min(ys + [hy]) + max(ys + [hy])) / 2      # name above a low point, below a high one
        note = ax.annotate(point_name(highlight), (hx, hy), xytext=(8, 10 if below else -14), textcoords="offset points",
                           fontsize=8, color="crimson", annotation_clip=True)
        note.set_in_layout(False)        # a long name must not squeeze the axes
    if baseline is not None:
        bx, by = baseline[x], baseline["accuracy_pct"]
        ax.axhline(by, ls="--", lw=0.8, color="darkorange", zorder=1)
        ax.axvline(bx, ls="--", lw=0.8, color="darkorange", zorder=1)
        ax.scatter([bx], [by], marker="*", s=260, color="darkorange", edgecolors="k",
                   linewidths=0.6, zorder=5, label="baseline")

    if x != "latency_ms" and min(xs + ([baseline[x]] if baseline else [])) > 0:
        ax.set_xscale("log")
        if x == "size_bytes":
            ax.xaxis.set_major_locator(LogLocator(base=2, numticks=8))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_bytes(v, 0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel("accuracy (%)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, markerscale=0.5)
    if title:
        ax.set_title(title)
    return fig


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (touches no global pyplot state)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


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


def text_table(rows: list[dict], columns: dict[str, str]) -> str:
    """Rows as an aligned text table; ``columns`` maps a row key to a format spec or a
    callable, e.g. ``{"model": "s", "accuracy_pct": ".2f", "size_bytes": fmt_bytes}``."""
    def cell(row, key, spec):
        v = row.get(key, "")
        return spec(v) if callable(spec) else format(v, spec)
    cells = [[cell(r, k, s) for k, s in columns.items()] for r in rows]
    head = list(columns)
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
