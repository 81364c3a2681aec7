"""Figures of notebook 01's block comparison: MACs vs measured latency of each building block.
"""
from __future__ import annotations

from .. import metrics, speedups
from ..blocks import BLOCKS
from ..ui import plots


# ---------------------------------------------------------------- one block against a 3x3 conv
def compare_blocks(channels: int = 64, resolution: int = 56, batch_size: int = 1, repeats: int = 20,
                   names=None) -> list[dict]:
    """Every block of ``BLOCKS`` (default expansion) mapping ``channels`` to ``channels`` at
    ``resolution`` x ``resolution``, stride 1: parameters, MACs and latency (timed
    together by the lab's timing protocol, ``conv`` the A/A control), the share of MACs in depthwise
    convolutions, and the ratios to the standard 3x3 convolution ``conv`` (> 1: cheaper):
    ``measured_ratio`` is the speedup (the median of the paired per-round ratios), each block but
    ``conv`` with its interval and verdict (``labkit.speedups.fields``: ``speedup``, ``speedup_lo``,
    ``speedup_hi``, ``within_noise``, ``noise_floor``, ``floor_line``)."""
    names = list(names or BLOCKS)
    if "conv" not in names:
        names = ["conv"] + names
    mods = {n: BLOCKS[n](channels, channels, stride=1).eval() for n in names}
    shape = (batch_size, channels, resolution, resolution)
    times = metrics.compare_latency(mods, shape, repeats=repeats, control="conv", table="blocks vs a 3x3 conv")
    from .trend import depthwise_macs_share
    rows = [{"block": n, "params": metrics.count_params(m), "macs": metrics.count_macs(m, shape),
             "dw_share": depthwise_macs_share(m, shape), "latency_ms": times[n].median_ms} for n, m in mods.items()]
    ref = rows[names.index("conv")]
    for r in rows:
        r["params_ratio"] = ref["params"] / r["params"]
        r["macs_ratio"] = ref["macs"] / r["macs"]
        if r["block"] == "conv":
            r.update(measured_ratio=1.0, floor_line=times.floor_line())
        else:
            r.update(speedups.fields(times, r["block"], "conv"))
            r["measured_ratio"] = r["speedup"]
    return rows


def blocks_table(rows: list[dict]) -> str:
    """``compare_blocks`` rows as text: parameters, MACs, depthwise share, the parameter and MACs
    ratios to the 3x3 conv beside the measured speedup (its 95 % interval, or "≈1 (within noise)");
    the run's A/A noise floor under the table."""
    from ..text import text_table
    from ..timing import CELL_WIDTH
    shown = [{**r, "latency": f"{r['latency_ms']:9.3f} ms",
              "speedup": "1 (reference)".rjust(CELL_WIDTH) if r["block"] == "conv" else speedups.cell(r)} for r in rows]
    table = text_table(shown, {"block": "s", "params": ",d", "macs": ",d", "dw_share": lambda v: f"{100 * v:.0f} %",
                               "params_ratio": lambda v: f"{v:.2f}x", "macs_ratio": lambda v: f"{v:.2f}x",
                               "latency": "s", "speedup": "s"})
    return "\n".join([table, "speedup: median of paired per-round ratios [95 % bootstrap interval]",
                      *speedups.floor_lines(rows, lambda r: "blocks")])


def blocks_figure(settings: dict):
    """Bars per block: how many times fewer parameters, MACs, and measured milliseconds than
    the 3x3 convolution (log scale; above 1 = cheaper), one panel per ``{title: rows}``."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.2 * len(settings), 4), layout="constrained")
    axes = fig.subplots(1, len(settings), squeeze=False)[0]
    keys = (("params_ratio", "parameters"), ("macs_ratio", "MACs"), ("measured_ratio", "latency (measured)"))
    for ax, (title, rows) in zip(axes, settings.items()):
        rows = [r for r in rows if r["block"] != "conv"]
        for j, (k, label) in enumerate(keys):
            err = None
            if k == "measured_ratio" and all(speedups.has_interval(r) for r in rows):   # the 95 % interval
                err = speedups.yerr(rows)
            ax.bar([i + (j - 1) * 0.27 for i in range(len(rows))], [r[k] for r in rows], width=0.27,
                   label=f"{label}", zorder=2, yerr=err, capsize=2 if err else 0)
        ax.axhline(1, color="k", lw=0.8)
        plots.ratio_axis(ax)
        ax.set_xticks(range(len(rows)), [r["block"] for r in rows])
        ax.set_ylabel("times cheaper than a 3x3 conv")
        ax.grid(True, axis="y", alpha=0.3, zorder=0)
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig
