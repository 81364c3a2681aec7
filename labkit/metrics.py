"""The three measures: accuracy (see ``labkit.train.evaluate``), size, and speed.

- ``count_params``: parameters (optionally only the nonzero ones).
- ``count_macs``: multiply-accumulates of one forward pass of one sample, exact for
  ``Conv2d`` (any stride, padding, dilation, groups) and ``Linear``; other layers
  (BatchNorm, activations, pooling, the residual adds) are not counted, as in the papers.
  ``nonzero=True`` counts what a kernel that skipped zero weights would do.
- ``compare_latency``: median wall time of a forward pass under ``torch.inference_mode()``,
  after warm-up, over many repeats, with the spread, batch size, threads and device, for
  several models timed interleaved in one run, so machine noise hits them alike.
Size in bytes lives in ``labkit.size``; the four measures of a model together, and ratios
against a reference measured in the same run, in ``labkit.points``.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from . import validate
from .layers import WEIGHTED

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


def _forward(model: nn.Module, x: torch.Tensor):
    try:
        return model(x)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise ValueError(f"the model cannot take an input of shape {tuple(x.shape)} ({first}): "
                         f"pass input_size=(batch, channels, height, width) that it accepts, e.g. {MNIST_INPUT}") from None


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
            _forward(model, _example(model, (1, *tuple(input_size)[1:])))
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


@dataclass
class Latency:
    """One model's timing: median and spread in milliseconds per forward pass."""
    median_ms: float
    p25_ms: float
    p75_ms: float
    min_ms: float
    repeats: int
    batch_size: int
    threads: int
    device: str

    @property
    def spread_ms(self) -> float:   # interquartile range
        return self.p75_ms - self.p25_ms

    def __str__(self) -> str:
        return (f"{self.median_ms:.3f} ms (IQR {self.p25_ms:.3f}-{self.p75_ms:.3f}, n={self.repeats}, "
                f"batch {self.batch_size}, {self.threads} threads, {self.device})")

    def as_dict(self) -> dict:
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _summarize(samples: list[float], batch_size: int, device: torch.device) -> Latency:
    q = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    return Latency(statistics.median(samples) * 1e3, q[0] * 1e3, q[2] * 1e3, min(samples) * 1e3,
                   len(samples), batch_size, torch.get_num_threads(), device.type)


def compare_latency(models: dict[str, nn.Module], input_size=MNIST_INPUT, repeats: int = 30,
                    warmup: int = 5, min_sample_s: float = 0.002, device=None) -> dict[str, Latency]:
    """Time several models interleaved (A, B, C, A, B, C, ...) on the same input.

    Each sample times ``number`` back-to-back calls (chosen in warm-up so a sample lasts at
    least ``min_sample_s``) and divides, so microsecond-scale models are timed fairly.
    """
    if not models:
        raise ValueError("compare_latency needs at least one model: pass {'name': model, ...}")
    for name, m in models.items():
        validate.module(m, name)
    if device is None:
        first = next(iter(models.values()))
        device = next(first.parameters()).device if any(True for _ in first.parameters()) else "cpu"
    device = torch.device(device)
    x = torch.randn(*input_size, device=device)
    for m in models.values():
        m.eval()
    numbers = {}
    samples: dict[str, list[float]] = {k: [] for k in models}
    with torch.inference_mode():
        for name, m in models.items():
            _forward(m, x)                              # clear error on a bad shape
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(warmup):
                m(x)
            _sync(device)
            per_call = max((time.perf_counter() - t0) / max(warmup, 1), 1e-7)
            numbers[name] = max(1, int(min_sample_s / per_call))
        for _ in range(repeats):
            for name, m in models.items():
                n = numbers[name]
                _sync(device)
                t0 = time.perf_counter()
                for _ in range(n):
                    m(x)
                _sync(device)
                samples[name].append((time.perf_counter() - t0) / n)
    return {k: _summarize(v, int(input_size[0]), device) for k, v in samples.items()}
