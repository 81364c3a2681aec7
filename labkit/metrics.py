"""The three measures: accuracy (see ``labkit.train.evaluate``), size, and speed.

- ``count_params``: parameters (optionally only the nonzero ones).
- ``count_macs``: multiply-accumulates of one forward pass of one sample, exact for
  ``Conv2d`` (any stride, padding, dilation, groups) and ``Linear``; other layers
  (BatchNorm, activations, pooling, the residual adds) are not counted, as in the papers.
  ``nonzero=True`` counts what a kernel that skipped zero weights would do.
- ``compare_latency``: the lab's one timing protocol (``labkit.timing``): several models timed
  together in shuffled rounds, medians and IQRs, paired speedups with intervals, an A/A control.
Size in bytes lives in ``labkit.size``; the four measures of a model together, and ratios
against a reference measured in the same run, in ``labkit.points``.
"""
from __future__ import annotations

import torch
from torch import nn

from . import timing, validate
from .layers import WEIGHTED
from .timing import Latency  # noqa: F401  (the timing of one model: labkit.timing.Latency)

MNIST_INPUT = (1, 1, 28, 28)


def count_params(model: nn.Module, nonzero: bool = False) -> int:
    """Number of parameters (``nonzero=True``: only those that are not exactly zero)."""
    validate.module(model)
    if nonzero:
        return int(sum(int(torch.count_nonzero(p)) for p in model.parameters()))
    return int(sum(p.numel() for p in model.parameters()))


def _example(model: nn.Module, input_size, device=None) -> torch.Tensor:
    if device is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else "cpu"
    return torch.randn(*input_size, device=device)


def layer_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """MACs of one layer for one sample, from its input and output tensors."""
    if isinstance(module, nn.Conv2d):
        k_h, k_w = module.kernel_size
        per_output = (module.in_channels // module.groups) * k_h * k_w
        return int(out[0].numel() * per_output)
    if isinstance(module, nn.Linear):
        return int(out[0].numel() * module.in_features)
    return 0


def macs_by_layer(model: nn.Module, input_size=MNIST_INPUT) -> dict[str, int]:
    """MACs per Conv2d/Linear layer (by module name) for one sample of ``input_size``."""
    validate.module(model)
    counts: dict[str, int] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, WEIGHTED):
            hooks.append(m.register_forward_hook(
                lambda mod, i, o, name=name: counts.__setitem__(name, counts.get(name, 0) + layer_macs(mod, i[0], o))))
    was_training = model.training
    try:
        model.eval()
        with torch.inference_mode():
            timing.checked_forward(model, _example(model, (1, *tuple(input_size)[1:])))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return counts


def count_macs(model: nn.Module, input_size=MNIST_INPUT, nonzero: bool = False) -> int:
    """Multiply-accumulates of one forward pass for one sample (batch dimension ignored).

    ``nonzero=True``: the MACs a kernel that skipped zero weights would do, each layer's MACs
    times its fraction of nonzero weights (equal to the dense count for a dense model)."""
    by_layer = macs_by_layer(model, input_size)
    if not nonzero:
        return int(sum(by_layer.values()))
    layers = dict(model.named_modules())
    kept = {name: 1.0 - (1.0 - int(torch.count_nonzero(layers[name].weight)) / max(layers[name].weight.numel(), 1))
            for name in by_layer}
    return int(sum(round(macs * kept[name]) for name, macs in by_layer.items()))


def compare_latency(models: dict[str, nn.Module], input_size=MNIST_INPUT, repeats: int = timing.ROUNDS,
                    warmup: int = timing.WARMUP, min_sample_s: float = timing.MIN_SAMPLE_S, device=None,
                    control: str | bool | None = True, table: str | None = None, **kw) -> timing.Timing:
    """Time several models together with the lab's one protocol (``labkit.timing.compare``): warm-up,
    ``repeats`` (at least) rounds in a shuffled order, the first model timed twice as the A/A control.
    Returns ``{name: Latency}`` (a ``labkit.timing.Timing``: ``.ratio(a, b)``, ``.floor``,
    ``.speedup_text(name)``, ``.floor_line()``)."""
    return timing.compare(models, input_size, rounds=repeats, warmup=warmup, min_sample_s=min_sample_s,
                          device=device, control=control, table=table, **kw)
