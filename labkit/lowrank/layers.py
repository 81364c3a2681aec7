"""Factorized layers: a Linear as two Linears (SVD), a Conv2d as 1x1 -> kxk core -> 1x1 (Tucker-2)
or as Lebedev et al.'s four-layer chain 1x1 -> kx1 depthwise -> 1xk depthwise -> 1x1 (CP), and
``factorize`` that rewrites a copy of a model with them.

Each builder returns an ``nn.Sequential`` that computes the factorized layer exactly (the
approximation is in the weights, not in the wiring); the original bias goes on the last layer.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ..layers import get_layer, replace_
from . import factor


def svd_linear(layer: nn.Linear, rank: int) -> nn.Sequential:
    """``layer`` (m x n) as ``Linear(n, rank, bias=False) -> Linear(rank, m)``, the best rank-``rank``
    approximation (Eckart-Young): ``rank (m + n) + m`` parameters instead of ``m n + m``."""
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"svd_linear factors a nn.Linear, got {type(layer).__name__}: use tucker_conv/cp_conv for convs")
    A, B = factor.svd_factors(layer.weight, rank)
    first, second = nn.Linear(layer.in_features, rank, bias=False), nn.Linear(rank, layer.out_features,
                                                                               bias=layer.bias is not None)
    with torch.no_grad():
        first.weight.copy_(B)
        second.weight.copy_(A)
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    return nn.Sequential(first, second).to(layer.weight.device)


def _check_conv(conv) -> None:
    if not isinstance(conv, nn.Conv2d) or conv.groups != 1:
        raise TypeError(f"expected a nn.Conv2d with groups=1, got {conv!r}: depthwise/grouped convs are not factored here")


def tucker_conv(conv: nn.Conv2d, r_out: int, r_in: int, hooi_steps: int = 2) -> nn.Sequential:
    """``conv`` as Tucker-2 (Kim et al., ICLR 2016): ``1x1 (in -> r_in)`` -> ``kxk core (r_in -> r_out)``
    with the conv's stride, padding and dilation -> ``1x1 (r_out -> out)`` with its bias."""
    _check_conv(conv)
    C, U_out, U_in = factor.tucker2(conv.weight, r_out, r_in, hooi_steps)
    first = nn.Conv2d(conv.in_channels, r_in, 1, bias=False)
    core = nn.Conv2d(r_in, r_out, conv.kernel_size, conv.stride, conv.padding, conv.dilation, bias=False,
                     padding_mode=conv.padding_mode)
    last = nn.Conv2d(r_out, conv.out_channels, 1, bias=conv.bias is not None)
    with torch.no_grad():
        first.weight.copy_(U_in.T[:, :, None, None].float())          # (r_in, in, 1, 1)
        core.weight.copy_(C.float())                                   # (r_out, r_in, kh, kw)
        last.weight.copy_(U_out[:, :, None, None].float())             # (out, r_out, 1, 1)
        if conv.bias is not None:
            last.bias.copy_(conv.bias)
    return nn.Sequential(first, core, last).to(conv.weight.device)


def cp_conv(conv: nn.Conv2d, rank: int, steps: int = 50, seed: int = 0) -> nn.Sequential:
    """``conv`` as a rank-``rank`` CP chain (Lebedev et al., ICLR 2015): ``1x1 (in -> R)`` ->
    ``kh x 1 depthwise`` -> ``1 x kw depthwise`` -> ``1x1 (R -> out)`` with its bias; the CP factors
    come from ``factor.cp_als`` (the norms of the rank-one terms are spread evenly over the four)."""
    _check_conv(conv)
    (a, b, c, d), _ = factor.cp_als(conv.weight, rank, steps=steps, seed=seed)
    scale = [torch.linalg.norm(f, dim=0) for f in (a, b, c, d)]
    total = (scale[0] * scale[1] * scale[2] * scale[3]) ** 0.25
    a, b, c, d = (f / s.clamp_min(1e-30) * total for f, s in zip((a, b, c, d), scale))
    kh, kw = conv.kernel_size
    (sh, sw), (ph, pw), (dh, dw) = conv.stride, conv.padding, conv.dilation
    first = nn.Conv2d(conv.in_channels, rank, 1, bias=False)
    vertical = nn.Conv2d(rank, rank, (kh, 1), (sh, 1), (ph, 0), (dh, 1), groups=rank, bias=False)
    horizontal = nn.Conv2d(rank, rank, (1, kw), (1, sw), (0, pw), (1, dw), groups=rank, bias=False)
    last = nn.Conv2d(rank, conv.out_channels, 1, bias=conv.bias is not None)
    with torch.no_grad():
        first.weight.copy_(b.T[:, :, None, None].float())          # (R, in, 1, 1)
        vertical.weight.copy_(c.T[:, None, :, None].float())       # (R, 1, kh, 1)
        horizontal.weight.copy_(d.T[:, None, None, :].float())     # (R, 1, 1, kw)
        last.weight.copy_(a[:, :, None, None].float())             # (out, R, 1, 1)
        if conv.bias is not None:
            last.bias.copy_(conv.bias)
    return nn.Sequential(first, vertical, horizontal, last).to(conv.weight.device)


def ranks_of(layer: nn.Module, fraction: float) -> int | tuple[int, int]:
    """The rank(s) that keep ``fraction`` of a layer's dimensions: an int for a Linear (of
    min(m, n)), ``(r_out, r_in)`` for a Conv2d (at least 1 each, at most the rank of that mode's
    unfolding: a conv with 1 input channel and 3x3 kernels has output-mode rank <= 9)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if isinstance(layer, nn.Linear):
        return max(1, math.ceil(fraction * min(layer.in_features, layer.out_features)))
    k = layer.kernel_size[0] * layer.kernel_size[1]
    out_c, in_c = layer.out_channels, layer.in_channels
    return (min(max(1, math.ceil(fraction * out_c)), in_c * k), min(max(1, math.ceil(fraction * in_c)), out_c * k))


def factored(layer: nn.Module, rank, method: str = "auto", **kw) -> nn.Sequential:
    """One layer factorized: ``svd`` for a Linear (int rank), ``tucker`` ((r_out, r_in)) or ``cp``
    (int rank) for a Conv2d; ``auto`` picks svd / tucker by the layer's type."""
    if method == "auto":
        method = "svd" if isinstance(layer, nn.Linear) else "tucker"
    if method == "svd":
        return svd_linear(layer, int(rank))
    if method == "tucker":
        r_out, r_in = rank
        return tucker_conv(layer, int(r_out), int(r_in), **kw)
    if method == "cp":
        return cp_conv(layer, int(rank), **kw)
    raise ValueError(f"unknown method {method!r}: use 'svd', 'tucker', 'cp' or 'auto'")


def factorize(model: nn.Module, ranks: dict, method: str = "auto", **kw) -> nn.Module:
    """A copy of ``model`` with each layer named in ``ranks`` replaced by its factorized chain
    (``factored``); a rank of None leaves the layer dense. The original is not changed."""
    out = copy.deepcopy(model)
    for name, rank in ranks.items():
        if rank is not None:
            replace_(out, name, factored(get_layer(model, name), rank, method, **kw))
    return out


def params_factored(layer: nn.Module, rank, method: str = "auto") -> int:
    """Weights of the factorized chain (bias excluded), from the shapes alone."""
    if isinstance(layer, nn.Linear):
        return int(rank) * (layer.in_features + layer.out_features)
    k = layer.kernel_size[0] * layer.kernel_size[1]
    if method == "cp":
        r = int(rank)
        return r * (layer.in_channels + layer.kernel_size[0] + layer.kernel_size[1] + layer.out_channels)
    r_out, r_in = rank
    return layer.in_channels * r_in + r_in * r_out * k + r_out * layer.out_channels
