"""Mixed precision under a size budget: per-layer sensitivity (loss increase when one layer alone
is quantized) and a greedy bit allocation (``labkit.allocate``), in the spirit of HAQ / HAWQ.
"""
from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import nn
from . import ptq
from .. import allocate, points, size
from ..metrics import count_macs
from ..data import SUBSETS
from ..layers import fold_batchnorm


OPTIONS = (8, 6, 5, 4, 3, 2)
SENSITIVITY_IMAGES = SUBSETS["sensitivity"][1] - SUBSETS["sensitivity"][0]


@torch.no_grad()
def mean_loss(model: nn.Module, batches) -> float:
    """Mean cross-entropy of ``model`` over ``batches`` of (x, y)."""
    model.eval()
    total = n = 0
    for x, y in batches:
        total += float(F.cross_entropy(model(x), y, reduction="sum"))
        n += len(y)
    return total / n


def sensitivity(model: nn.Module, options=OPTIONS, batches=None, method: str = "mse", progress=None) -> dict:
    """``{layer: {bits: loss increase}}``: each layer quantized alone at each of ``options`` bits,
    the mean cross-entropy measured on ``batches`` (default: the ``sensitivity`` images of
    ``labkit.data.SUBSETS``), the table made by ``labkit.allocate.scan``."""
    from ..data import subset
    batches = subset("sensitivity", 500) if batches is None else batches
    folded = fold_batchnorm(model)
    names = ptq.layer_names(folded)
    base = mean_loss(folded, batches)
    table = allocate.scan(names, options, lambda name, b: mean_loss(ptq.quantize_model(model, {name: b}, method=method),
                                                                    batches) - base, progress)
    return {name: {int(b): v for b, v in zip(options, row)} for name, row in table.items()}


def layer_bytes(model: nn.Module, options=OPTIONS) -> tuple[dict, int]:
    """``({layer: {bits: bytes of its weight}}, bytes of everything else)`` as ``ptq.size_bytes`` counts."""
    folded = fold_batchnorm(model)
    names = ptq.layer_names(folded)
    weights = {f"{n}.weight": n for n in names}
    table, rest = {n: {} for n in names}, 0
    for k, v in folded.state_dict().items():
        if not v.is_floating_point():
            continue
        if k in weights:
            for b in options:
                table[weights[k]][int(b)] = size.size_bytes({k: v}, "nbit", b)
        else:
            rest += size.size_bytes({k: v}, "fp32")
    return table, rest


def budget_bytes(model: nn.Module, avg_bits: float) -> int:
    """Bytes of a model whose quantised weights take ``avg_bits`` bits each on average (plus their
    fp32 per-channel scales and the fp32 rest); equals the uniform model's size at whole bits."""
    if isinstance(avg_bits, bool) or not isinstance(avg_bits, (int, float)) or not 1 <= avg_bits <= 32:
        raise ValueError(f"avg_bits must be a number from 1 to 32, got {avg_bits!r}: e.g. avg_bits=3.5")
    folded = fold_batchnorm(model)
    names = {f"{n}.weight" for n in ptq.layer_names(folded)}
    total = 0
    for k, v in folded.state_dict().items():
        if v.is_floating_point():
            total += (math.ceil(v.numel() * avg_bits / 8) + 4 * v.shape[0]) if k in names else 4 * v.numel()
    return total


def allocate_bits(sens: dict, sizes: dict, budget: int, rest: int = 0) -> dict:
    """``{layer: bits}`` whose bytes (``sizes`` + ``rest``) fit ``budget``: the shared greedy rule
    (``labkit.allocate.greedy``): every layer starts at its widest option; while over budget, the
    layer with the smallest loss increase per byte saved (``sens``) goes down one option; then
    the bytes left are spent where they lower the loss most. One-line error when nothing fits."""
    if set(sens) != set(sizes):
        raise ValueError("sensitivity and sizes must cover the same layers: compute both for the same model")
    return allocate.greedy({n: {b: sens[n][b] for b in sizes[n]} for n in sens}, sizes, budget - rest, refill=True)


def average_bits(model: nn.Module, alloc: dict) -> float:
    """Weight-count-weighted mean bits of an allocation."""
    folded = fold_batchnorm(model)
    n = {name: folded.get_submodule(name).weight.numel() for name in alloc}
    return sum(n[k] * alloc[k] for k in alloc) / sum(n.values())


def mixed_point(model, alloc: dict, config: dict, evaluate_fn=None) -> dict:
    """Quantise with ``alloc`` (weights only, ``mse`` ranges) and measure: a sweep point."""
    from ..train import evaluate
    q = ptq.quantize_model(model, alloc, method="mse")
    return points.make({**config, "bits_by_layer": dict(alloc)}, accuracy=(evaluate_fn or evaluate)(q),
                       size_bytes=ptq.size_bytes(q), macs=count_macs(q))


def budget_point(model, avg_bits: float, sens: dict, latency_ms: float, report=None, evaluate_fn=None) -> dict:
    """Live: the greedy allocation for ``avg_bits`` on average, quantised and evaluated on the test
    set (the widget's "quantize" button); ``latency_ms`` is given (simulated codes run at fp32 speed)."""
    report = report or (lambda fraction, text="": None)
    report(0.1, f"allocating {avg_bits} bits on average")
    sizes, rest = layer_bytes(model, options=sorted({b for t in sens.values() for b in t}, reverse=True))
    alloc = allocate_bits(sens, sizes, budget_bytes(model, avg_bits), rest)
    report(0.3, "quantizing and evaluating " + " ".join(str(b) for b in alloc.values()))
    point = mixed_point(model, alloc, {"avg_bits": avg_bits, "allocation": "mixed"}, evaluate_fn)
    report(1.0, "done")
    return {**point, "latency_ms": float(latency_ms)}
