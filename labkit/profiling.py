"""Where the time goes: a forward pass profiled by operator, grouped by the kind of layer.

MACs count only convolutions and fully connected layers. On a CPU a small CNN also spends
its time in pooling, normalisation, activations and memory copies, which MACs do not see:
``op_times(model, batch_size)`` measures each kind with PyTorch's profiler (self CPU time of
every ATen operator, so nothing is counted twice), and ``shares_figure`` draws the shares.

>>> op_times(zoo.load("cnn"), batch_size=256)   # {"convolution": 12.1, "pooling": 18.0, ...} ms per pass
"""
from __future__ import annotations

import contextlib
import os
import sys

import torch
from torch import nn

from . import validate

# Operator name fragments -> the kind of layer they belong to (first match wins).
KINDS = (
    ("convolution", ("conv", "mkldnn_convolution")),
    ("linear", ("addmm", "linear", "matmul", "mm")),
    ("pooling", ("pool",)),
    ("batchnorm", ("batch_norm",)),
    ("activation", ("relu", "hardswish", "sigmoid", "silu", "gelu", "clamp")),
)
KIND_NAMES = tuple(k for k, _ in KINDS) + ("other",)
COUNTED_BY_MACS = ("convolution", "linear")


def kind_of(op: str) -> str:
    """The kind of layer an ATen operator name belongs to (``"other"`` when none)."""
    name = op.lower().removeprefix("aten::")
    for kind, fragments in KINDS:
        if any(f in name for f in fragments):
            return kind
    return "other"


@contextlib.contextmanager
def _quiet_native_stderr():
    """The profiler's native library (Kineto) writes start/stop lines straight to file descriptor 2,
    where a notebook would show them as errors: send that descriptor to /dev/null meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def op_times(model: nn.Module, batch_size: int = 256, repeats: int = 5, input_size=(1, 1, 28, 28)) -> dict[str, float]:
    """Milliseconds per forward pass spent in each kind of layer (``KIND_NAMES``, all present),
    from the self CPU time of every operator over ``repeats`` profiled passes after a warm-up."""
    from torch.profiler import ProfilerActivity, profile
    validate.module(model)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    model.eval()
    x = torch.randn(batch_size, *tuple(input_size)[1:])
    out = dict.fromkeys(KIND_NAMES, 0.0)
    with torch.inference_mode():
        for _ in range(2):
            model(x)
        with _quiet_native_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(repeats):
                model(x)
    for event in prof.key_averages():
        out[kind_of(event.key)] += event.self_cpu_time_total / 1e3 / repeats
    return out


def shares_figure(profiles: dict[str, dict[str, float]], title: str | None = None) -> "Figure":
    """One horizontal bar per profile (e.g. ``{"eager, batch 256": op_times(...)}``), split into
    the share of each kind of layer; hatched kinds are the ones MACs count (a
    ``matplotlib.figure.Figure``; matplotlib loads on the first call, so the core imports no
    plotting stack)."""
    from matplotlib.figure import Figure
    colors = {"convolution": "#1f77b4", "linear": "#6baed6", "pooling": "#d62728", "batchnorm": "#ff7f0e",
              "activation": "#2ca02c", "other": "#7f7f7f"}
    fig = Figure(figsize=(8, 0.9 + 0.55 * len(profiles)), layout="constrained")
    ax = fig.add_subplot()
    names = list(profiles)
    for i, name in enumerate(names):
        total = sum(profiles[name].values()) or 1.0
        left = 0.0
        for kind in KIND_NAMES:
            share = 100 * profiles[name].get(kind, 0.0) / total
            ax.barh(i, share, left=left, color=colors[kind], hatch="//" if kind in COUNTED_BY_MACS else None,
                    edgecolor="white", label=kind if i == 0 else None)
            if share >= 7:
                ax.text(left + share / 2, i, f"{share:.0f}%", ha="center", va="center", color="white", fontsize=9)
            left += share
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the forward pass's CPU time (%); hatched: the layers MACs count")
    ax.legend(ncols=len(KIND_NAMES), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    return fig
