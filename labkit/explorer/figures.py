"""Notebook 09's still figures: every family's Pareto front on accuracy x bytes and accuracy x latency
relative to each point's own baseline (like for like, with the run's 95 % interval; never an
absolute latency: the records' come from many runs)."""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..ui.plots import fmt_bytes
from . import pareto
from .records import families as _families

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
          "tab:cyan", "0.35")


def fronts_figure(entries, axes=("size_bytes", "rel_latency"), batch_size: int = 1) -> Figure:
    """One panel per axis: every batch-``batch_size`` point (small, in its family's colour) and each
    family's front as a step line, with its hypervolume in the legend. On ``rel_latency`` a point's
    bar is its speedup's 95 % interval (a point within noise sits at 1, its baseline: the grey line);
    a simulated point is on the other panels only."""
    fams = _families(entries)
    color = {f: COLORS[i % len(COLORS)] for i, f in enumerate(fams)}
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    for k, x in enumerate(axes):
        ax = fig.add_subplot(1, len(axes), k + 1)
        res = pareto.fronts(entries, x, batch_size)
        for f in fams:
            pts = pareto.timed([e for e in entries if e["family"] == f and e["batch_size"] == batch_size], x)
            ax.scatter([p[x] for p in pts], [p["accuracy_pct"] for p in pts], s=10, color=color[f], alpha=0.35)
            bars = [p for p in pts if x == "rel_latency" and p["rel_latency"] != 1.0]
            if bars:        # the interval of 1 / speedup: [1 / hi, 1 / lo]
                ax.hlines([p["accuracy_pct"] for p in bars], [1 / p["gain"]["hi"] for p in bars],
                          [1 / p["gain"]["lo"] for p in bars], color=color[f], alpha=0.35, lw=0.8)
            fr = res.get(f, {}).get("front", [])
            ax.step([p[x] for p in fr], [p["accuracy_pct"] for p in fr], where="post", color=color[f], lw=1.8,
                    marker="o", ms=4, label=f"{f} (HV {res[f]['hypervolume']:.0f})" if f in res else f)
        ax.set_xscale("log")
        if x == "size_bytes":
            ax.xaxis.set_major_locator(LogLocator(base=2, numticks=8))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_bytes(v, 0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        if x == "rel_latency":
            ax.axvline(1.0, color="0.5", lw=0.8, zorder=0)
        ax.set_ylim(80, 94.5)
        ax.set_xlabel(pareto.AXES[x])
        ax.set_ylabel("accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right", title="front (hypervolume)", title_fontsize=8)
    fig.suptitle(f"Pareto fronts per family (batch {batch_size}; points below 80 % are off the axes)", fontsize=11)
    return fig
