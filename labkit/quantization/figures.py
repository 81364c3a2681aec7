"""Figures of notebook 03 (quantization). Each returns a ``matplotlib.figure.Figure`` (no pyplot state).

- ``channel_ranges_figure``: per-channel weight ranges vs the one per-tensor range (why per-channel).
- ``grid_figure``: a weight histogram with the linear grid and the k-means centroids at ``bits``.
- ``ste_figure``: a fake-quantiser's forward staircase and its straight-through gradient.
- ``bits_figure``: accuracy (or its drop from fp32, symlog) vs bits, one line per method, optionally in panels.
- ``sensitivity_figure``: mixed precision's loss increase per layer and bit-width, as a heat map.
"""
from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from . import quant


def sqnr_db(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Signal-to-quantisation-noise ratio in dB: ``10 log10(sum x^2 / sum (x - x_hat)^2)`` (inf if exact)."""
    noise = float((x.double() - x_hat.double()).pow(2).sum())
    return math.inf if noise == 0 else 10 * math.log10(float(x.double().pow(2).sum()) / noise)


def channel_ranges_figure(w: torch.Tensor, bits: int = 4, title: str | None = None) -> Figure:
    """Bars: ``max |w|`` of each output channel (sorted); the per-tensor range is the tallest bar, so
    small channels get only a few of the ``2**bits`` codes. Caption: SQNR per tensor vs per channel."""
    w = w.detach().float().cpu()
    amax = w.reshape(w.shape[0], -1).abs().amax(1).sort(descending=True).values
    per_t = sqnr_db(w, quant.fake_quantize(w, bits, "symmetric", "tensor"))
    per_c = sqnr_db(w, quant.fake_quantize(w, bits, "symmetric", "channel", 0))
    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(range(len(amax)), amax.numpy(), color="steelblue", width=0.9)
    step = float(amax[0]) / (2 ** (bits - 1) - 1)
    ax.axhline(step, color="crimson", lw=1, ls="--", label=f"one per-tensor step at {bits} bits")
    ax.set_xlabel("output channel (sorted by range)")
    ax.set_ylabel("max |w|")
    ax.legend(fontsize=8)
    ax.set_title(title or f"{bits} bits: SQNR per tensor {per_t:.1f} dB, per channel {per_c:.1f} dB", fontsize=10)
    return fig


def grid_figure(w: torch.Tensor, bits: int = 3, title: str | None = None) -> Figure:
    """Histogram of ``w`` with the ``bits``-bit symmetric linear grid (top) and k-means centroids (bottom)."""
    w = w.detach().float().cpu().reshape(-1)
    qmin, qmax = quant.qrange(max(bits, 2), "symmetric")
    scale = float(w.abs().max()) / qmax
    linear = [q * scale for q in range(qmin, qmax + 1)]
    codebook, _ = quant.kmeans_codebook(w, bits)
    fig = Figure(figsize=(6.4, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(w.numpy(), bins=120, color="0.7")
    top = ax.get_ylim()[1]
    ax.vlines(linear, top * 0.55, top, colors="crimson", lw=1.2, label=f"linear grid ({len(linear)} levels)")
    ax.vlines(codebook.numpy(), 0, top * 0.45, colors="navy", lw=1.2, label=f"k-means centroids ({codebook.numel()})")
    ax.set_xlabel("weight value")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    ax.set_title(title or f"{bits} bits: where the levels go", fontsize=10)
    return fig


def ste_figure(fake_quant, scale: float = 0.25, zero_point: int = 0, qmin: int = -3, qmax: int = 3) -> Figure:
    """``fake_quant(x, scale, zero_point, qmin, qmax)`` on a ramp: the forward staircase (left) and
    the gradient that reaches ``x`` (right), computed by autograd through ``fake_quant``."""
    x = torch.linspace((qmin - 2) * scale, (qmax + 2) * scale, 801, requires_grad=True)
    y = fake_quant(x, torch.tensor(scale), torch.tensor(zero_point), qmin, qmax)
    y.sum().backward()
    fig = Figure(figsize=(7.2, 2.8), layout="constrained")
    a, b = fig.subplots(1, 2)
    a.plot(x.detach(), x.detach(), color="0.7", lw=1, label="identity")
    a.plot(x.detach(), y.detach(), color="navy", lw=1.5, label="fake_quant(x)")
    a.set_xlabel("x")
    a.set_title("forward: round and clamp", fontsize=10)
    a.legend(fontsize=8)
    b.plot(x.detach(), x.grad, color="crimson", lw=1.5)
    b.set_ylim(-0.1, 1.2)
    b.set_xlabel("x")
    b.set_title("backward: the straight-through gradient", fontsize=10)
    return fig


def bits_figure(series: dict, baseline: float | None = None, title: str | None = None) -> Figure:
    """Accuracy vs bits: ``series`` maps a label to ``[(bits, accuracy_pct), ...]``, or a panel
    title to such a mapping (one panel each, side by side, sharing the y axis).

    With ``baseline`` (the fp32 accuracy) the y axis is the *drop* in points on a symlog scale
    (linear within 1 pt of the baseline, logarithmic beyond), so that the tenths of a point at 8 to
    4 bits and the tens of points at 2 bits are both readable; without it, plain accuracy."""
    panels = series if all(isinstance(v, dict) for v in series.values()) else {"": series}
    fig = Figure(figsize=(4.2 * len(panels) + 1.2, 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    styles = {"minmax": "o", "percentile": "^", "mse": "s", "k-means": "D"}
    for ax, (name, group) in zip(axes, panels.items()):
        for label, pts in group.items():
            pts = sorted(pts)
            ys = [p[1] - baseline if baseline is not None else p[1] for p in pts]
            marker = next((m for k, m in styles.items() if k in label), "o")
            ax.plot([p[0] for p in pts], ys, marker=marker, ms=5, label=label)
        if baseline is not None:
            ax.axhline(0.0, color="darkorange", ls="--", lw=1, label=f"fp32 ({baseline:.2f} %)")
            ax.set_yscale("symlog", linthresh=1.0, linscale=1.5)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+g}" if v else "0"))
        ax.set_xlabel("bits")
        ax.invert_xaxis()
        ax.grid(alpha=0.3, which="major")
        ax.legend(fontsize=8, loc="lower left")
        if name:
            ax.set_title(name, fontsize=10)
    axes[0].set_ylabel("accuracy drop vs fp32 (pt, symlog)" if baseline is not None else "test accuracy (%)")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def sensitivity_figure(sens: dict, title: str | None = None) -> Figure:
    """Heat map of ``{layer: {bits: loss increase}}`` (log colour scale), values written in the cells."""
    from matplotlib.colors import LogNorm
    layers = list(sens)
    bits = sorted({b for t in sens.values() for b in t}, reverse=True)
    grid = [[max(sens[n][b], 1e-5) for b in bits] for n in layers]
    fig = Figure(figsize=(6.4, 0.5 * len(layers) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="magma_r", norm=LogNorm(vmin=1e-4, vmax=max(max(r) for r in grid)), aspect="auto")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, f"{sens[layers[i]][bits[j]]:.3f}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.02 else "black")
    ax.set_xticks(range(len(bits)), [str(b) for b in bits])
    ax.set_yticks(range(len(layers)), layers)
    ax.set_xlabel("bits of this layer (the others fp32)")
    ax.set_ylabel("layer")
    fig.colorbar(im, ax=ax, label="loss increase")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
