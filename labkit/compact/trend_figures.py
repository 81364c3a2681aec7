"""Figures of notebook 01: MACs by year, accuracy vs MACs, and latency vs MACs.
"""
from __future__ import annotations

from matplotlib.figure import Figure
from ..ui.plots import annotate_apart, fmt_count, pareto_front


# ---------------------------------------------------------------- figures
def _year_colors(years):
    from matplotlib import colormaps
    ys = sorted(set(years))
    cmap = colormaps["viridis"]
    return {y: cmap(i / max(1, len(ys) - 1)) for i, y in enumerate(ys)}


def trend_figure(rows: list[dict], title: str | None = None) -> Figure:
    """The seeds' chart, readable from the back of a lecture hall: one column per family (in order
    of year), its models' compute as dots on a bar spanning their range (GMACs, log scale), and the
    family's best ImageNet top-1 on a second axis."""
    fams = sorted({(r["year"], r["family"]) for r in rows})
    colors = _year_colors(r["year"] for r in rows)
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax = fig.add_subplot()
    acc = ax.twinx()
    best = []
    for i, (year, fam) in enumerate(fams):
        members = [r for r in rows if r["family"] == fam]
        g = [r["macs"] / 1e9 for r in members]
        ax.bar(i, max(g) / min(g) * min(g) - min(g) if len(g) > 1 else min(g) * 0.08, bottom=min(g) if len(g) > 1
               else min(g) * 0.96, width=0.6, color=colors[year], alpha=0.55, zorder=2)
        ax.scatter([i] * len(g), g, s=16, color=colors[year], edgecolors="k", linewidths=0.4, zorder=3)
        best.append(max(r["accuracy_pct"] for r in members))
    acc.plot(range(len(fams)), best, "D", color="crimson", ms=7, zorder=4)
    ax.set_yscale("log")
    every = [r["macs"] / 1e9 for r in rows]
    ax.set_ylim(min(every) / 1.6, max(every) * 1.6)
    ax.set_ylabel("GMACs per image of each model (log scale)", fontsize=11)
    acc.set_ylabel("best ImageNet top-1 of the family (%)", color="crimson", fontsize=11)
    acc.tick_params(axis="y", colors="crimson", labelsize=10)
    ax.tick_params(axis="y", labelsize=10)
    ax.set_xticks(range(len(fams)), [f"{fam}\n{year}" for year, fam in fams], rotation=55, ha="right", fontsize=10,
                  rotation_mode="anchor")
    ax.set_xlim(-0.6, len(fams) - 0.4)
    ax.grid(True, axis="y", alpha=0.3, zorder=0)
    ax.set_title(title or f"ImageNet classifiers in torchvision: {len(rows)} models in {len(fams)} families, "
                          "compute and best accuracy by year", fontsize=12)
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
    ax.set_xscale("log")
    ax.set_xlabel("MACs per image" if x == "macs" else "parameters")
    ax.xaxis.set_major_formatter(lambda v, _: fmt_count(v))
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    ax.set_title(title or f"accuracy vs {'MACs' if x == 'macs' else 'parameters'}")
    if label_front:            # the front's models, named where a label fits without overlapping another
        annotate_apart(ax, [r[x] for r in front], [r["accuracy_pct"] for r in front], [r["model"] for r in front])
    return fig


def latency_figure(rows: list[dict], batch_sizes=None, title: str | None = None) -> Figure:
    """Measured latency vs MACs (log-log), one panel per batch size; colour = share of MACs
    in depthwise convolutions. The dashed line is the median GMAC/s of the models: points
    above it run slower than their MACs predict."""
    batch_sizes = batch_sizes or sorted({r["batch_size"] for r in rows})
    top = max(0.05, max(r["dw_share"] for r in rows))
    fig = Figure(figsize=(6 * len(batch_sizes), 4.6), layout="constrained")
    axes = fig.subplots(1, len(batch_sizes), squeeze=False)[0]
    labelled = []
    for ax, b in zip(axes, batch_sizes):
        pts = [r for r in rows if r["batch_size"] == b]
        macs = [r["macs"] * b for r in pts]
        ms = [r["median_ms"] for r in pts]
        sc = ax.scatter(macs, ms, c=[r["dw_share"] for r in pts], cmap="plasma", vmin=0, vmax=top,
                        s=45, edgecolors="k", linewidths=0.5, zorder=3)
        labelled.append((ax, macs, ms, [r["model"] for r in pts]))
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
    bar = fig.colorbar(sc, ax=list(axes), label="share of MACs in depthwise convs")
    bar.ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    if title:
        fig.suptitle(title)
    for ax, xs, ys, names in labelled:        # after the layout is final: labels that do not overlap
        annotate_apart(ax, xs, ys, names, offsets=((4, 3), (4, -10), (-4, 3), (-4, -10)))
    return fig
