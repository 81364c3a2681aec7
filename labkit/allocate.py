"""Sensitivity tables and greedy budget allocation, shared by every technique.

A technique has per-layer *options* (sparsities, bit widths, ranks), each with a *cost*
(accuracy drop or loss increase, measured one layer at a time: a sensitivity scan) and a
*size* (weights kept, bytes). ``greedy`` picks one option per layer under a budget, moving
the layer whose step costs least per unit of size saved (Han et al. 2015, section 4, for
pruning; the same rule as HAQ's and HAWQ's bit allocation without their learned costs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
import torch
from torch import nn
from . import validate
from .layers import get_layer, prunable_layers
from .pruning.masks import magnitude_mask


SCAN_SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)


def calibration_batches(n: int = 2000, batch_size: int = 1000) -> list:
    """The first ``n`` training images as a list of (x, y) batches: the data the sensitivity scan
    decides on (never the test set, which only reports)."""
    from .data import loader
    return list(loader("train", batch_size, shuffle=False, limit=n))


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
        """The cheapest allocation that zeroes at least ``target`` of all scanned weights, greedily:
        start dense and repeatedly raise, to its next scanned sparsity, the layer whose step costs
        the least accuracy per weight removed (drops read from the scan; a negative drop costs 0)."""
        target = validate.sparsity(target)
        grid = [0.0] + list(self.sparsities)
        level = {n: 0 for n in self.accuracy}
        drop = {n: [0.0] + self.drop(n) for n in self.accuracy}
        alloc = {n: 0.0 for n in self.accuracy}
        while self.overall(alloc) < target:
            steps = [(max(drop[n][i + 1] - max(drop[n][:i + 1]), 0.0) / (self.weights[n] * (grid[i + 1] - grid[i])), n)
                     for n, i in level.items() if i + 1 < len(grid)]
            if not steps:
                raise ValueError(f"even the highest scanned sparsities zero only {self.overall(alloc):.1%} of the "
                                 f"weights, below the target {target:.1%}: scan higher sparsities or lower the target")
            _, name = min(steps)
            level[name] += 1
            alloc[name] = grid[level[name]]
        return alloc


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
    (default ``calibration_batches()``), restore it. The model is left unchanged."""
    from .train import evaluate
    names = list(layers) if layers is not None else list(prunable_layers(model))
    for name in names:
        get_layer(model, name)                                   # an unknown name fails before any work
    sparsities = [validate.sparsity(s) for s in sparsities]
    data = data if data is not None else calibration_batches()
    scan = Scan(sparsities, evaluate(model, data), samples=sum(len(y) for _, y in data))
    total, done = len(names) * len(sparsities), 0
    for name in names:
        w = get_layer(model, name).weight
        scan.weights[name] = w.numel()
        original = w.detach().clone()
        accs = []
        tail, tail_data = _from_layer(model, name, data)
        try:
            for s in sparsities:
                with torch.no_grad():
                    w.copy_(original * magnitude_mask(original, s))
                accs.append(evaluate(tail, tail_data))
                done += 1
                if report:
                    report(done / total, f"{name} at {s:.0%}")
        finally:
            with torch.no_grad():
                w.copy_(original)
        scan.accuracy[name] = accs
    return scan
