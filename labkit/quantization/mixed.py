"""Mixed precision under a size budget: per-layer sensitivity (loss increase when one layer alone
is quantized) and a greedy bit allocation (``labkit.allocate``), in the spirit of HAQ / HAWQ.
"""
from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import nn
from . import ptq
from .. import size


OPTIONS = (8, 6, 5, 4, 3, 2)


SENSITIVITY_IMAGES = 2000


def sensitivity_batches(images: int = SENSITIVITY_IMAGES, batch_size: int = 500):
    """Training images ``[60000 - images, 60000)``: not the calibration images, not the test set."""
    from ..data import fashion_mnist, normalize
    from ..env import current_device
    ds = fashion_mnist("train")
    x = normalize(ds.images[-images:]).to(current_device())
    y = ds.labels[-images:].to(current_device())
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, images, batch_size)]


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
    """``{layer: {bits: loss increase}}``: each layer quantised alone at each of ``options`` bits."""
    batches = sensitivity_batches() if batches is None else batches
    names = ptq.layer_names(ptq.fold_batchnorm(model))
    base = mean_loss(ptq.fold_batchnorm(model), batches)
    table = {}
    for i, name in enumerate(names):
        table[name] = {}
        for b in options:
            q = ptq.quantize_model(model, {name: b}, method=method)
            table[name][int(b)] = mean_loss(q, batches) - base
        if progress:
            progress((i + 1) / len(names), f"sensitivity of layer {name}")
    return table


def layer_bytes(model: nn.Module, options=OPTIONS) -> tuple[dict, int]:
    """``({layer: {bits: bytes of its weight}}, bytes of everything else)`` as ``ptq.size_bytes`` counts."""
    folded = ptq.fold_batchnorm(model)
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
    folded = ptq.fold_batchnorm(model)
    names = {f"{n}.weight" for n in ptq.layer_names(folded)}
    total = 0
    for k, v in folded.state_dict().items():
        if v.is_floating_point():
            total += (math.ceil(v.numel() * avg_bits / 8) + 4 * v.shape[0]) if k in names else 4 * v.numel()
    return total


def allocate(sens: dict, sizes: dict, budget: int, rest: int = 0) -> dict:
    """Greedy bit allocation: ``{layer: bits}`` whose bytes (``sizes`` + ``rest``) fit ``budget``.

    Every layer starts at its widest option; while over budget, the layer with the smallest loss
    increase per byte saved (``sens``) goes down one option. Raises if even the narrowest fits not."""
    if set(sens) != set(sizes):
        raise ValueError("sensitivity and sizes must cover the same layers: compute both for the same model")
    opts = {n: sorted(sizes[n], reverse=True) for n in sizes}
    alloc = {n: opts[n][0] for n in sizes}

    def total():
        return rest + sum(sizes[n][alloc[n]] for n in alloc)

    smallest = rest + sum(sizes[n][opts[n][-1]] for n in sizes)
    if budget < smallest:
        raise ValueError(f"budget {budget:,} bytes is below the smallest allocation ({smallest:,} bytes, every layer "
                         f"at {min(min(o) for o in opts.values())} bits): raise the budget")
    while total() > budget:                      # 1. lower the cheapest layer until it fits
        best = None
        for n in alloc:
            i = opts[n].index(alloc[n])
            if i + 1 == len(opts[n]):
                continue
            lower = opts[n][i + 1]
            cost = (sens[n][lower] - sens[n][alloc[n]]) / max(sizes[n][alloc[n]] - sizes[n][lower], 1)
            if best is None or cost < best[0]:
                best = (cost, n, lower)
        alloc[best[1]] = best[2]
    while True:                                  # 2. spend what is left: raise the best gain per byte that fits
        best = None
        for n in alloc:
            i = opts[n].index(alloc[n])
            if i == 0:
                continue
            higher = opts[n][i - 1]
            extra = sizes[n][higher] - sizes[n][alloc[n]]
            gain = (sens[n][alloc[n]] - sens[n][higher]) / max(extra, 1)
            if total() + extra <= budget and gain > 0 and (best is None or gain > best[0]):
                best = (gain, n, higher)
        if best is None:
            return alloc
        alloc[best[1]] = best[2]


def average_bits(model: nn.Module, alloc: dict) -> float:
    """Weight-count-weighted mean bits of an allocation."""
    folded = ptq.fold_batchnorm(model)
    n = {name: folded.get_submodule(name).weight.numel() for name in alloc}
    return sum(n[k] * alloc[k] for k in alloc) / sum(n.values())


def mixed_point(model, alloc: dict, config: dict, evaluate_fn=None) -> dict:
    """Quantise with ``alloc`` (weights only, ``mse`` ranges) and measure: a sweep point."""
    from ..metrics import count_macs
    from ..train import evaluate
    q = ptq.quantize_model(model, alloc, method="mse")
    return {"config": {**config, "bits_by_layer": dict(alloc)}, "accuracy_pct": round((evaluate_fn or evaluate)(q), 4),
            "size_bytes": ptq.size_bytes(q), "macs": count_macs(q)}


def budget_point(model, avg_bits: float, sens: dict, latency_ms: float, report=None, evaluate_fn=None) -> dict:
    """Live: the greedy allocation for ``avg_bits`` on average, quantised and evaluated on the test
    set (the widget's "quantize" button); ``latency_ms`` is given (simulated codes run at fp32 speed)."""
    report = report or (lambda fraction, text="": None)
    report(0.1, f"allocating {avg_bits} bits on average")
    sizes, rest = layer_bytes(model, options=sorted({b for t in sens.values() for b in t}, reverse=True))
    alloc = allocate(sens, sizes, budget_bytes(model, avg_bits), rest)
    report(0.3, "quantizing and evaluating " + " ".join(str(b) for b in alloc.values()))
    point = mixed_point(model, alloc, {"avg_bits": avg_bits, "allocation": "mixed"}, evaluate_fn)
    report(1.0, "done")
    return {**point, "latency_ms": float(latency_ms)}
