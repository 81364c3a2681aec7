"""Notebook 09's still figures: every family's Pareto front on accuracy x bytes and accuracy x latency."""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..ui.plots import fmt_bytes
from . import pareto
from .records import families as _families

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
          "tab:cyan", "0.35")


def fronts_figure(entries, axes=("size_bytes", "latency_ms"), batch_size: int = 1) -> Figure:
    """One panel per axis: every batch-``batch_size`` point (small, in its family's colour) and each
    family's front as a step line, with its hypervolume in the legend."""
    fams = _families(entries)
    color = {f: COLORS[i % len(COLORS)] for i, f in enumerate(fams)}
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    for k, x in enumerate(axes):
        ax = fig.add_subplot(1, len(axes), k + 1)
        res = pareto.fronts(entries, x, batch_size)
        for f in fams:
            pts = [e for e in entries if e["family"] == f and e["batch_size"] == batch_size and e.get(x)]
            ax.scatter([p[x] for p in pts], [p["accuracy_pct"] for p in pts], s=10, color=color[f], alpha=0.35)
            fr = res.get(f, {}).get("front", [])
            ax.step([p[x] for p in fr], [p["accuracy_pct"] for p in fr], where="post", color=color[f], lw=1.8,
                    marker="o", ms=4, label=f"{f} (HV {res[f]['hypervolume']:.0f})" if f in res else f)
        ax.set_xscale("log")
        if x == "size_bytes":
            ax.xaxis.set_major_locator(LogLocator(base=2, numticks=8))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_bytes(v, 0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(80, 94.5)
        ax.set_xlabel(pareto.AXES[x])
        ax.set_ylabel("accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right", title="front (hypervolume)", title_fontsize=8)
    fig.suptitle(f"Pareto fronts per family (batch {batch_size}; points below 80 % are off the axes)", fontsize=11)
    return fig
