"""Figures of notebook 01's block comparison: MACs vs measured latency of each building block.
"""
from __future__ import annotations

from .. import metrics
from ..blocks import BLOCKS
from ..ui import plots


# ---------------------------------------------------------------- one block against a 3x3 conv
def compare_blocks(channels: int = 64, resolution: int = 56, batch_size: int = 1, repeats: int = 20,
                   names=None) -> list[dict]:
    """Every block of ``BLOCKS`` (default expansion) mapping ``channels`` to ``channels`` at
    ``resolution`` x ``resolution``, stride 1: parameters, MACs and latency (timed
    interleaved), the share of MACs in depthwise convolutions, and the ratios to the standard
    3x3 convolution ``conv`` (> 1: cheaper)."""
    names = list(names or BLOCKS)
    if "conv" not in names:
        names = ["conv"] + names
    mods = {n: BLOCKS[n](channels, channels, stride=1).eval() for n in names}
    shape = (batch_size, channels, resolution, resolution)
    times = metrics.compare_latency(mods, shape, repeats=repeats)
    from .trend import depthwise_macs_share
    rows = [{"block": n, "params": metrics.count_params(m), "macs": metrics.count_macs(m, shape),
             "dw_share": depthwise_macs_share(m, shape), "latency_ms": times[n].median_ms} for n, m in mods.items()]
    ref = rows[names.index("conv")]
    for r in rows:
        r["params_ratio"] = ref["params"] / r["params"]
        r["macs_ratio"] = ref["macs"] / r["macs"]
        r["measured_ratio"] = ref["latency_ms"] / r["latency_ms"]
    return rows


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
            ax.bar([i + (j - 1) * 0.27 for i in range(len(rows))], [r[k] for r in rows], width=0.27,
                   label=f"{label}", zorder=2)
        ax.axhline(1, color="k", lw=0.8)
        plots.ratio_axis(ax)
        ax.set_xticks(range(len(rows)), [r["block"] for r in rows])
        ax.set_ylabel("times cheaper than a 3x3 conv")
        ax.grid(True, axis="y", alpha=0.3, zorder=0)
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig
