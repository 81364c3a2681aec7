"""Figures of notebook 01: MACs by year, accuracy vs MACs, and latency vs MACs.
"""
from __future__ import annotations

from matplotlib.figure import Figure
from ..ui.plots import fmt_count, pareto_front


# ---------------------------------------------------------------- figures
def _year_colors(years):
    from matplotlib import colormaps
    ys = sorted(set(years))
    cmap = colormaps["viridis"]
    return {y: cmap(i / max(1, len(ys) - 1)) for i, y in enumerate(ys)}


def trend_figure(rows: list[dict], title: str | None = None) -> Figure:
    """The seeds' chart: one bar per model (GMACs, log scale), ordered by year, with ImageNet
    top-1 accuracy on a second axis."""
    rows = sorted(rows, key=lambda r: (r["year"], r["macs"]))
    colors = _year_colors(r["year"] for r in rows)
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    ax = fig.add_subplot()
    xs = range(len(rows))
    ax.bar(xs, [r["macs"] / 1e9 for r in rows], color=[colors[r["year"]] for r in rows], zorder=2)
    ax.set_yscale("log")
    ax.set_ylabel("GMACs per image (bars, log scale)")
    ax.set_xticks(list(xs), [r["model"] for r in rows], rotation=90, fontsize=6)
    ax.set_xlim(-0.7, len(rows) - 0.3)
    ax.grid(True, axis="y", alpha=0.3, zorder=0)
    acc = ax.twinx()
    acc.plot(list(xs), [r["accuracy_pct"] for r in rows], "o", color="crimson", ms=3.5, zorder=3)
    acc.set_ylabel("ImageNet top-1 (%) (red dots)", color="crimson")
    acc.tick_params(axis="y", colors="crimson")
    start = 0
    for i, r in enumerate(rows + [None]):
        if r is None or r["year"] != rows[start]["year"]:
            ax.axvline(i - 0.5, color="0.6", lw=0.6)
            ax.text((start + i - 1) / 2, 1.01, str(rows[start]["year"]), transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=8)
            start = i
    ax.set_title(title or "ImageNet classifiers in torchvision: compute per model by year, and accuracy", pad=16)
    return fig


def scatter_figure(rows: list[dict], x: str = "macs", title: str | None = None, label_front: bool = True) -> Figure:
    """Accuracy vs ``x`` (``"macs"`` or ``"params"``, log scale), colour = year, the Pareto
    front (no model both cheaper and more accurate) as a step line, its models named."""
    if x not in ("macs", "params"):
        raise ValueError(f"x must be 'macs' or 'params', got {x!r}")
    colors = _year_colors(r["year"] for r in rows)
    fig = Figure(figsize=(7.5, 5), layout="constrained")
    ax = fig.add_subplot()
    for y in sorted(colors):
        pts = [r for r in rows if r["year"] == y]
        ax.scatter([r[x] for r in pts], [r["accuracy_pct"] for r in pts], color=colors[y], s=28,
                   edgecolors="k", linewidths=0.4, label=str(y), zorder=3)
    front = pareto_front(rows, x=x, y="accuracy_pct")
    ax.step([r[x] for r in front], [r["accuracy_pct"] for r in front], where="post", color="0.35",
            lw=1.2, zorder=2, label="Pareto front")
    if label_front:
        for r in front:
            ax.annotate(r["model"], (r[x], r["accuracy_pct"]), xytext=(4, -9), textcoords="offset points", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("MACs per image" if x == "macs" else "parameters")
    ax.xaxis.set_major_formatter(lambda v, _: fmt_count(v))
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    ax.set_title(title or f"accuracy vs {'MACs' if x == 'macs' else 'parameters'}")
    return fig


def latency_figure(rows: list[dict], batch_sizes=None, title: str | None = None) -> Figure:
    """Measured latency vs MACs (log-log), one panel per batch size; colour = share of MACs
    in depthwise convolutions. The dashed line is the median GMAC/s of the models: points
    above it run slower than their MACs predict."""
    batch_sizes = batch_sizes or sorted({r["batch_size"] for r in rows})
    top = max(0.05, max(r["dw_share"] for r in rows))
    fig = Figure(figsize=(6 * len(batch_sizes), 4.6), layout="constrained")
    axes = fig.subplots(1, len(batch_sizes), squeeze=False)[0]
    for ax, b in zip(axes, batch_sizes):
        pts = [r for r in rows if r["batch_size"] == b]
        macs = [r["macs"] * b for r in pts]
        ms = [r["median_ms"] for r in pts]
        sc = ax.scatter(macs, ms, c=[r["dw_share"] for r in pts], cmap="plasma", vmin=0, vmax=top,
                        s=45, edgecolors="k", linewidths=0.5, zorder=3)
        for r, xv, yv in zip(pts, macs, ms):
            ax.annotate(r["model"], (xv, yv), xytext=(4, 3), textcoords="offset points", fontsize=7)
        rate = sorted(m / t for m, t in zip(macs, ms))[len(ms) // 2]          # MACs per ms
        lo, hi = min(macs) / 1.5, max(macs) * 1.5
        ax.plot([lo, hi], [lo / rate, hi / rate], "--", color="0.5", lw=1,
                label=f"median: {rate / 1e6:.1f} GMAC/s")
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.set_xlabel(f"MACs per batch of {b}")
        ax.set_ylabel("latency (ms)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        ax.set_title(f"batch {b}")
    fig.colorbar(sc, ax=list(axes), label="share of MACs in depthwise convs")
    if title:
        fig.suptitle(title)
    return fig
