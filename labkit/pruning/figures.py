"""Figures of notebook 02: weight histogram, sensitivity scan, sparse-vs-dense break-even.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter
from torch import nn
from .sensitivity import Scan
from .. import speedups
from ..layers import get_layer
from ..ui import plots
from .masks import n_pruned


def weight_histogram(model: nn.Module, name: str, sparsity, bins: int = 120):
    """Histogram of one layer's weights with the magnitude threshold that ``sparsity`` implies, as a Figure."""
    from matplotlib.figure import Figure
    w = get_layer(model, name).weight.detach().reshape(-1).cpu()
    k = n_pruned(w.numel(), sparsity)
    tau = float(w.abs().sort().values[k - 1]) if k else 0.0
    fig = Figure(figsize=(6.4, 2.8), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(w.numpy(), bins=bins, color="0.55")
    ax.axvspan(-tau, tau, color="crimson", alpha=0.15, label=f"|w| <= {tau:.4f}: the {sparsity:.0%} pruned")
    ax.set_xlabel(f"weight value (layer {name}, {w.numel():,} weights)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return fig


def sensitivity_figure(scan: Scan, allocation: dict | None = None, title=None):
    """Accuracy drop vs sparsity, one line per layer (the allocation marked), as a Figure."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    xs = [0.0] + list(scan.sparsities)            # a layer left dense loses nothing: every line starts at (0, 0)
    for name in scan.accuracy:
        ys = [0.0] + list(scan.drop(name))
        line, = ax.plot(xs, ys, marker="o", ms=4, label=f"{name} ({scan.weights[name]:,} w)")
        if allocation is not None and name in allocation:
            s = float(allocation[name])
            ax.plot([s], [float(np.interp(s, xs, ys))], marker="*", ms=14, color=line.get_color(),
                    markeredgecolor="k", zorder=4, clip_on=False)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("sparsity of that layer alone")
    ax.set_ylabel("accuracy drop (pt, sensitivity images)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="layer" + (" (★ = allocation)" if allocation else ""), title_fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def break_even_figure(settings: dict[str, list[dict]], title=None):
    """Measured speedup of the CSR kernel over dense vs sparsity, one line per setting (bars: the
    speedups' 95 % intervals, where the rows have them), as a Figure."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for label, rows in settings.items():
        line, = ax.plot([r["sparsity"] for r in rows], [r["speedup"] for r in rows], marker="o", label=label)
        ci = [r for r in rows if speedups.has_interval(r)]                   # the 95 % interval of each speedup
        if ci:
            ax.errorbar([r["sparsity"] for r in ci], [r["speedup"] for r in ci], fmt="none", ecolor=line.get_color(),
                        yerr=speedups.yerr(ci),
                        capsize=2, lw=0.8)
    ax.axhline(1.0, color="crimson", lw=1, ls="--", label="break-even")
    plots.ratio_axis(ax)
    ax.set_xlabel("sparsity (fraction of zero weights)")
    ax.set_ylabel("dense time / sparse time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig
