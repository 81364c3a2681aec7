"""Figures of notebook 06: singular-value energy per layer, reconstruction error vs rank, and the
MACs-predicted vs measured speedup of every factorized layer."""
from __future__ import annotations

from torch import nn

from .. import speedups
from ..layers import weighted_layers
from ..ui import plots
from . import factor


def spectrum_figure(model: nn.Module, marks: dict | None = None, title=None):
    """Cumulative energy vs rank (as a fraction of the full rank) for every layer: a Linear's
    singular values, a Conv2d's output-mode unfolding; ``marks`` ``{layer: rank}`` starred; the FC
    layers' parameter break-even rank as a dotted line. A Figure."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for name, layer in weighted_layers(model).items():
        W = layer.weight if isinstance(layer, nn.Linear) else factor.unfold(layer.weight.detach(), 0)
        e = factor.energy(W).numpy()
        x = [(i + 1) / len(e) for i in range(len(e))]
        line, = ax.plot(x, e, label=f"{name} {type(layer).__name__} {tuple(layer.weight.shape)}")
        if isinstance(layer, nn.Linear) and min(W.shape) > 1:
            m, n = W.shape
            ax.axvline(factor.break_even_rank(m, n) / len(e), color=line.get_color(), ls=":", lw=1)
        if marks and marks.get(name):
            r = marks[name] if isinstance(marks[name], int) else marks[name][0]
            ax.plot([r / len(e)], [e[r - 1]], marker="*", ms=13, color=line.get_color(), markeredgecolor="k")
    ax.set_xlabel("rank / full rank (dotted: an FC layer's parameter break-even rank mn/(m+n))")
    ax.set_ylabel("energy kept (sum s_i^2 up to the rank)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return fig


def error_figure(curves: dict[str, list[tuple[int, float]]], title=None):
    """Relative reconstruction error vs parameters kept, one line per method: ``{label: [(params, error)]}``."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for label, pts in curves.items():
        ax.plot([p for p, _ in pts], [e for _, e in pts], marker="o", ms=4, label=label)
    ax.set(xscale="log", xlabel="weights of the factorized layer", ylabel="relative error ||K - K_r|| / ||K||",
           title=title or "")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def speedup_figure(rows: list[dict], title=None):
    """Measured speedup vs MACs ratio, one panel per batch size, one colour per layer; the diagonal is
    "as fast as MACs predict", bars the speedups' 95 % intervals, red rings mark layers with fewer MACs
    that are measured slower (the interval below 1, outside the noise)."""
    from matplotlib.figure import Figure
    batches = sorted({r["batch_size"] for r in rows})
    fig = Figure(figsize=(6.4 * min(len(batches), 2) / 1.3, 3.6), layout="constrained")
    axes = fig.subplots(1, len(batches), squeeze=False)[0]
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    colours = {n: f"C{i}" for i, n in enumerate(layers)}
    for ax, b in zip(axes, batches):
        sel = [r for r in rows if r["batch_size"] == b]
        for n in layers:
            pts = [r for r in sel if r["layer"] == n]
            ax.scatter([r["macs_ratio"] for r in pts], [r["speedup"] for r in pts], color=colours[n], s=25, label=n,
                       zorder=3)
            ci = [r for r in pts if speedups.has_interval(r)]               # the 95 % interval of each speedup
            if ci:
                ax.errorbar([r["macs_ratio"] for r in ci], [r["speedup"] for r in ci], fmt="none", ecolor=colours[n],
                            yerr=speedups.yerr(ci),
                            lw=0.8, capsize=2, zorder=3)
        bad = [r for r in sel if r["slower"]]
        ax.scatter([r["macs_ratio"] for r in bad], [r["speedup"] for r in bad], s=120, facecolors="none",
                   edgecolors="crimson", linewidths=1.5, zorder=4, label="fewer MACs, slower")
        top = max([r["macs_ratio"] for r in sel] + [r["speedup"] for r in sel] + [1.5])
        ax.plot([0.1, top], [0.1, top], color="0.5", lw=0.8, ls="--")
        ax.axhline(1.0, color="crimson", lw=0.8, ls=":")
        plots.ratio_axis(ax, "x")
        plots.ratio_axis(ax, "y")
        ax.set_xlabel("MACs ratio (predicted speedup)")
        ax.set_ylabel("measured speedup (dense / factorized)")
        ax.set_title(f"batch {b}" if not title else f"{title}, batch {b}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7, title="layer", title_fontsize=7)
    return fig
