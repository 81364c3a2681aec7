"""The sensitivity scan of pruning: prune one layer at a time, measure accuracy, allocate.

``sensitivity_scan`` prunes each layer alone at each scanned sparsity (magnitude) and
measures accuracy on the ``sensitivity`` images (``labkit.data.SUBSETS``); ``Scan.allocate_for``
turns the table into per-layer sparsities for an overall target with the shared greedy rule
of ``labkit.allocate`` (Han et al. 2015, section 4: prune the insensitive layers hardest).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .. import allocate, validate
from ..layers import get_layer, weighted_layers
from .masks import magnitude_mask, n_pruned


SCAN_SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)


@dataclass
class Scan:
    """Accuracy (%) of the model with one layer pruned at a time, per layer and sparsity."""
    sparsities: list[float]
    baseline_pct: float                      # unpruned, on the same data
    accuracy: dict[str, list[float]] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)
    samples: int = 0                         # images the accuracies were measured on

    def drop(self, layer: str) -> list[float]:
        return [self.baseline_pct - a for a in self.accuracy[layer]]

    def overall(self, allocation: dict[str, float]) -> float:
        """Fraction of all scanned weights that ``allocation`` zeroes."""
        total = sum(self.weights.values())
        return sum(round(allocation.get(n, 0.0) * w) for n, w in self.weights.items()) / total

    def allocate_for(self, target) -> dict[str, float]:
        """The cheapest allocation that zeroes at least ``target`` of all scanned weights:
        ``labkit.allocate.greedy`` over the scanned sparsities, the cost of a step being the
        accuracy it costs (the running maximum of the drops: a negative drop costs 0) and its
        size the weights it keeps."""
        target = validate.sparsity(target)
        grid = [0.0] + list(self.sparsities)
        cost = {n: dict(zip(grid, allocate.envelope([0.0] + self.drop(n)))) for n in sorted(self.accuracy)}
        kept = {n: {s: w - n_pruned(w, s) for s in grid} for n, w in self.weights.items()}
        total = sum(self.weights.values())
        budget = total - math.ceil(target * total - 1e-9)
        if sum(min(k.values()) for k in kept.values()) > budget:
            raise ValueError(f"even the highest scanned sparsities zero only {self.overall({n: grid[-1] for n in kept}):.1%} "
                             f"of the weights, below the target {target:.1%}: scan higher sparsities or lower the target")
        return allocate.greedy(cost, kept, budget, refill=False)


def _from_layer(model: nn.Module, name: str, data):
    """(the layers from ``name`` on, their inputs) when ``model`` is an ``nn.Sequential`` and
    ``name`` one of its children: pruning that layer leaves everything before it unchanged, so
    the scan runs those layers once instead of once per sparsity (the same arithmetic, so the
    same accuracies). Otherwise (model, data)."""
    if not isinstance(model, nn.Sequential) or name not in model._modules:
        return model, data
    i = list(model._modules).index(name)
    if i == 0:
        return model, data
    head, device = model[:i].eval(), next(model.parameters()).device
    with torch.no_grad():
        return model[i:], [(head(x.to(device)), y) for x, y in data]


def sensitivity_scan(model: nn.Module, sparsities=SCAN_SPARSITIES, layers=None, data=None,
                     report=None) -> Scan:
    """Prune one layer at a time (magnitude, each sparsity), measure accuracy on ``data``
    (default: the ``sensitivity`` images of ``labkit.data.SUBSETS``), restore it. The model is
    left unchanged. The table comes from ``labkit.allocate.scan``."""
    from ..data import subset
    from ..train import evaluate
    names = list(layers) if layers is not None else list(weighted_layers(model))
    for name in names:
        get_layer(model, name)                                   # an unknown name fails before any work
    sparsities = [validate.sparsity(s) for s in sparsities]
    data = data if data is not None else subset("sensitivity", 1000)
    scan = Scan(sparsities, evaluate(model, data), samples=sum(len(y) for _, y in data),
                weights={n: get_layer(model, n).weight.numel() for n in names})
    tails = {}

    def measure(name, s):
        w = get_layer(model, name).weight
        original = w.detach().clone()
        if name not in tails:                                    # the layers before it run once
            tails.clear()
            tails[name] = _from_layer(model, name, data)
        tail, tail_data = tails[name]
        try:
            with torch.no_grad():
                w.copy_(original * magnitude_mask(original, s))
            return evaluate(tail, tail_data)
        finally:
            with torch.no_grad():
                w.copy_(original)

    scan.accuracy = allocate.scan(names, sparsities, measure, report)
    return scan
