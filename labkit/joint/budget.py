"""Self-adaptive compression: per-layer sparsity and bits chosen under a byte budget.

Each layer has options ``(sparsity, bits)``. Its *cost* is the accuracy drop on the
``sensitivity`` images when that layer alone is pruned by magnitude and weight-shared by k-means
(no fine-tuning: a scan, ``labkit.allocate.scan``); its *size* is the estimated bytes after entropy
coding: per nonzero ``bits`` for the value plus the entropy of a geometric gap at that density for
its relative index, plus the fp16 codebook. Dominated options (bigger and worse) are dropped, then
``labkit.allocate.greedy`` picks one option per layer under the budget (Han et al. 2015's rule).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import allocate
from .. import pareto as _pareto
from ..layers import weighted_layers
from ..pruning.masks import magnitude_mask
from ..quantization import quant

SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
BITS = (2, 3, 4, 5)


def gap_bits(density: float) -> float:
    """Bits per entry of a relative index when nonzeros sit at random with ``density``: the entropy
    of a geometric gap, ``h(d) / d`` (``h``: the binary entropy)."""
    d = min(max(density, 1e-9), 1.0)
    if d >= 1.0:
        return 0.0
    return (-(1 - d) * math.log2(1 - d) - d * math.log2(d)) / d


def option_bytes(numel: int, sparsity: float, bits: int) -> float:
    """Estimated coded bytes of one layer at ``(sparsity, bits)`` (values + gaps + codebook)."""
    nnz = max(numel - round(sparsity * numel), 1)
    return nnz * (bits + gap_bits(nnz / numel)) / 8 + 2 * 2 ** bits


def compressed_weight(w: torch.Tensor, sparsity: float, bits: int) -> torch.Tensor:
    """``w`` pruned by magnitude to ``sparsity`` and its nonzeros shared by ``bits``-bit k-means."""
    mask = magnitude_mask(w, sparsity)
    out = torch.zeros_like(w)
    codebook, idx = quant.kmeans_codebook(w[mask], bits)
    out[mask] = codebook.to(w.device)[idx]
    return out


def options(sparsities=SPARSITIES, bits=BITS) -> list[tuple[float, int]]:
    return [(s, b) for s in sparsities for b in bits]


def scan(model: nn.Module, batches, opts=None, report=None) -> dict:
    """``{"cost": {layer: {option: drop pt}}, "size": {layer: {option: bytes}}}`` (options ``(sparsity, bits)``)."""
    from ..train import evaluate
    opts = list(opts or options())
    layers = weighted_layers(model)
    base = evaluate(model, batches)

    def measure(name, opt):
        w = layers[name].weight
        saved = w.detach().clone()
        with torch.no_grad():
            w.copy_(compressed_weight(saved, *opt))
            acc = evaluate(model, batches)
            w.copy_(saved)
        return base - acc
    table = allocate.scan(list(layers), opts, measure, report)
    cost = {n: dict(zip(opts, table[n])) for n in layers}
    size = {n: {o: option_bytes(layers[n].weight.numel(), *o) for o in opts} for n in layers}
    return {"cost": cost, "size": size, "base": base}


def pareto(cost: dict, size: dict) -> tuple[dict, dict]:
    """Per layer, only the options no other option beats in both size and cost."""
    c2, s2 = {}, {}
    for n in cost:
        options = [{"option": o, "size": size[n][o], "cost": cost[n][o]} for o in cost[n]]
        kept = {id(p) for p in _pareto.front(options, "size", "cost", maximize_y=False)}
        keep = [p["option"] for p in options if id(p) in kept]          # in the options' own order
        c2[n] = {o: cost[n][o] for o in keep}
        s2[n] = {o: size[n][o] for o in keep}
    return c2, s2


def allocation(table: dict, budget: float, vector_bytes: int = 0) -> dict[str, tuple[float, int]]:
    """``{layer: (sparsity, bits)}`` whose estimated bytes plus ``vector_bytes`` fit ``budget``."""
    cost, size = pareto(table["cost"], table["size"])
    return allocate.greedy(cost, size, budget - vector_bytes)


def plain(alloc: dict) -> dict:
    """An allocation as JSON holds it: ``{layer: "s0.95/b4"}``."""
    return {n: f"s{s:g}/b{b}" for n, (s, b) in alloc.items()}


def parse(alloc: dict) -> dict:
    """The inverse of ``plain``."""
    out = {}
    for n, v in alloc.items():
        s, b = v.split("/")
        out[n] = (float(s[1:]), int(b[1:]))
    return out
