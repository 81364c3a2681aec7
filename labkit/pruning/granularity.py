"""Pruning granularity (Mao et al., "Exploring the Granularity of Sparsity in CNNs", CVPR-W 2017):
what is removed together, from single weights to whole filters.

A conv weight ``(out, in, k, k)`` is pruned in groups, the groups of smallest L1 norm first:

============  =================================  ============================================
``fine``      one weight                         any pattern: best accuracy, needs sparse kernels
``vector``    one row of a kernel (k weights)    a little regularity
``kernel``    one k x k kernel (in, out pair)    whole 2-D filters gone: dense per channel pair
``channel``   one output filter (in x k x k)     a smaller dense layer: speed on any hardware
============  =================================  ============================================
"""
from __future__ import annotations

import torch

from .masks import n_pruned

GRANULARITIES = ("fine", "vector", "kernel", "channel")


def _group_shape(w: torch.Tensor, granularity: str) -> tuple[int, ...]:
    """The shape ``w`` is viewed in so that the last dimension is one group."""
    out, cin, kh, kw = w.shape
    return {"fine": (out, cin, kh, kw, 1), "vector": (out, cin, kh, kw), "kernel": (out, cin, kh * kw),
            "channel": (out, cin * kh * kw)}[granularity]


def granularity_mask(w: torch.Tensor, sparsity: float, granularity: str) -> torch.Tensor:
    """Bool mask (``True`` = keep) of a conv weight ``(out, in, k, k)`` that removes the
    ``round(sparsity * groups)`` groups of smallest L1 norm at ``granularity``."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    if w.dim() != 4:
        raise ValueError(f"a conv weight (out, in, k, k) is needed, got shape {tuple(w.shape)}")
    g = w.detach().abs().reshape(_group_shape(w, granularity))
    norms = g.sum(-1).reshape(-1)
    keep = torch.ones_like(norms, dtype=torch.bool)
    keep[torch.argsort(norms, stable=True)[:n_pruned(norms.numel(), sparsity)]] = False
    return keep.reshape(g.shape[:-1]).unsqueeze(-1).expand(g.shape).reshape(w.shape)


def figure(w: torch.Tensor, sparsity: float = 0.75, filters: int = 8, inputs: int = 12, title: str | None = None):
    """``filters`` output filters (evenly spread over the layer) x the first ``inputs`` input
    channels of ``w`` at each granularity: a pixel per weight
    (black = kept, white = pruned), kernels separated by thin lines; the masks are computed on the
    whole tensor, so each panel keeps the same fraction overall."""
    from matplotlib.figure import Figure
    k = w.shape[-1]
    rows = torch.linspace(0, w.shape[0] - 1, min(filters, w.shape[0])).round().long()   # spread over the layer
    filters = len(rows)
    fig = Figure(figsize=(11, 2.9), layout="constrained")
    axes = fig.subplots(1, len(GRANULARITIES))
    for ax, gran in zip(axes, GRANULARITIES):
        m = granularity_mask(w, sparsity, gran)[rows][:, :inputs]                  # (f, i, k, k)
        img = m.permute(0, 2, 1, 3).reshape(filters * k, inputs * k).float()      # rows: filter x kernel row
        ax.imshow(img, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        for x in range(1, inputs):
            ax.axvline(x * k - 0.5, color="tab:blue", lw=0.4)
        for y in range(1, filters):
            ax.axhline(y * k - 0.5, color="tab:blue", lw=0.4)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(f"{gran}", fontsize=10)
        ax.set_xlabel(f"{inputs} of {w.shape[1]} input channels", fontsize=8)
    axes[0].set_ylabel(f"{filters} of {w.shape[0]} output filters", fontsize=8)
    fig.suptitle(title or f"the same {sparsity:.0%} sparsity at four granularities (black = kept)", fontsize=10)
    return fig
