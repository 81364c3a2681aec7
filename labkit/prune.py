"""Pruning: zero single weights, N:M groups, or remove whole channels, and measure what it buys.

Pure tensor functions first:

- ``magnitude_mask(w, sparsity)``: keep the largest ``|w|``, zero exactly
  ``round(sparsity * w.numel())`` of them (Han et al., "Learning both Weights and
  Connections for Efficient Neural Networks", NeurIPS 2015).
- ``nm_mask(w, n, m)``: keep the ``n`` largest of every ``m`` consecutive weights along the
  reduction dimension, the 2:4 pattern of NVIDIA Ampere sparse tensor cores (Mishra et al.,
  "Accelerating Sparse Deep Neural Networks", arXiv:2104.08378, 2021).
- ``filter_importance(w, p)``: the Lp norm of every output filter (Li et al., "Pruning
  Filters for Efficient ConvNets", ICLR 2017).

Then functions on models: per-layer sensitivity scan and a sparsity allocation derived from it
(Han et al. 2015, section 4), masks kept through fine-tuning, iterative prune + fine-tune,
global magnitude pruning, channel pruning that physically removes channels with Torch-Pruning's
dependency graph (Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023), a
``SparseLinear`` layer on ``torch.sparse`` CSR kernels, and the dense-vs-sparse latency sweep.
The seed talks' multi-level joint pruning is channel pruning followed by fine-grained pruning.

``python -m labkit.prune sweep`` regenerates the cached sweep behind notebook 02's dashboard
(``notebooks/cache/02_pruning_sweep.json``).
"""
from __future__ import annotations

import argparse
import copy
import sys
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from . import metrics, validate, verify
from .paths import cache_dir, read_cache, write_json


PRUNABLE = (nn.Conv2d, nn.Linear)
SCAN_SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)


# ----------------------------------------------------------------------------- tensors

def n_pruned(numel: int, sparsity) -> int:
    """How many of ``numel`` weights a target ``sparsity`` zeroes: ``round(sparsity * numel)``
    (Python's round, as ``torch.nn.utils.prune`` does)."""
    return round(validate.sparsity(sparsity) * int(numel))


def magnitude_mask(w: torch.Tensor, sparsity) -> torch.Tensor:
    """Boolean mask of ``w``'s shape, ``True`` = kept: the ``round(sparsity * numel)`` weights of
    smallest ``|w|`` are dropped (ties broken by position, so the count is always exact).

    Fine-grained magnitude pruning, Han et al. 2015."""
    k = n_pruned(w.numel(), sparsity)
    order = torch.argsort(w.detach().abs().reshape(-1), stable=True)   # smallest |w| first
    mask = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    mask[order[:k]] = False
    return mask.reshape(w.shape)


def _reduction_rows(w: torch.Tensor) -> torch.Tensor:
    """``w`` as (out, in * kh * kw): one row per output, the GEMM's reduction dimension along it."""
    return w.reshape(w.shape[0], -1) if w.dim() > 1 else w.reshape(1, -1)


def nm_mask(w: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    """Boolean mask keeping the ``n`` largest ``|w|`` of every ``m`` consecutive weights of each
    row of ``w`` viewed as (out, in * kh * kw); sparsity is exactly ``1 - n / m``.

    2:4 is what NVIDIA Ampere (and later) sparse tensor cores run at twice the dense math rate
    (Mishra et al. 2021). The row length must be a multiple of ``m``."""
    if not (isinstance(n, int) and isinstance(m, int)) or not 0 < n < m:
        raise ValueError(f"need whole numbers 0 < n < m, got n={n!r}, m={m!r}: e.g. n=2, m=4 for 2:4 sparsity")
    rows = _reduction_rows(w.detach())
    if rows.shape[1] % m:
        raise ValueError(f"a weight of shape {tuple(w.shape)} has rows of {rows.shape[1]} values, not a multiple "
                         f"of m={m}: leave this layer dense (e.g. a first conv with one input channel)")
    groups = rows.abs().reshape(rows.shape[0], -1, m)                    # (out, groups, m)
    keep = torch.argsort(groups, dim=-1, descending=True, stable=True)[..., :n]
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, keep, True)
    return mask.reshape(w.shape)


def filter_importance(w: torch.Tensor, p: int = 1) -> torch.Tensor:
    """Lp norm (p = 1 or 2) of each output filter of a Conv/Linear weight: shape (out,).

    Li et al. 2017 rank filters by L1 norm and remove the smallest."""
    if p not in (1, 2):
        raise ValueError(f"p must be 1 (L1 norm) or 2 (L2 norm), got {p!r}")
    return torch.linalg.vector_norm(w.detach().reshape(w.shape[0], -1).float(), ord=p, dim=1)


def sparsity_of(t: torch.Tensor) -> float:
    """Fraction of exact zeros in a tensor."""
    return 1.0 - int(torch.count_nonzero(t)) / max(t.numel(), 1)


# ----------------------------------------------------------------------------- models: fine-grained

def prunable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The Conv2d and Linear layers of a model by module name (what fine-grained pruning touches)."""
    validate.module(model)
    return {name: m for name, m in model.named_modules() if isinstance(m, PRUNABLE)}


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """A prunable layer by name, or a one-line error listing the names that exist."""
    layers = prunable_layers(model)
    if name not in layers:
        raise ValueError(f"no Conv2d/Linear layer named {name!r} in this model: use one of {', '.join(map(repr, layers))}")
    return layers[name]


def _allocation(model: nn.Module, sparsity) -> dict[str, float]:
    """``{layer name: sparsity}`` from a number (every layer) or a dict (its layers only), checked."""
    if isinstance(sparsity, dict):
        for name in sparsity:
            get_layer(model, name)
        return {name: validate.sparsity(s) for name, s in sparsity.items()}
    s = validate.sparsity(sparsity)
    return {name: s for name in prunable_layers(model)}


def magnitude_masks(model: nn.Module, sparsity) -> dict[str, torch.Tensor]:
    """Per-layer magnitude masks: ``sparsity`` is one number for every layer or ``{name: sparsity}``."""
    return {name: magnitude_mask(get_layer(model, name).weight, s) for name, s in _allocation(model, sparsity).items()}


def global_magnitude_masks(model: nn.Module, sparsity, layers=None) -> dict[str, torch.Tensor]:
    """One threshold for all ``layers`` (default: every Conv/Linear): the ``round(sparsity * total)``
    smallest ``|w|`` of the model go, wherever they are (``torch.nn.utils.prune.global_unstructured``)."""
    names = list(layers) if layers is not None else list(prunable_layers(model))
    ws = [get_layer(model, n).weight for n in names]
    flat = magnitude_mask(torch.cat([w.detach().reshape(-1) for w in ws]), sparsity)
    out, start = {}, 0
    for n, w in zip(names, ws):
        out[n] = flat[start:start + w.numel()].reshape(w.shape)
        start += w.numel()
    return out


def nm_masks(model: nn.Module, n: int = 2, m: int = 4) -> tuple[dict[str, torch.Tensor], list[str]]:
    """N:M masks for every layer whose rows are a multiple of ``m``; returns (masks, names left dense)."""
    masks, dense = {}, []
    for name, layer in prunable_layers(model).items():
        if _reduction_rows(layer.weight).shape[1] % m:
            dense.append(name)
        else:
            masks[name] = nm_mask(layer.weight, n, m)
    return masks, dense


@torch.no_grad()
def apply_masks_(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """Zero every masked-out weight in place (``weight *= mask``); returns the model."""
    for name, mask in masks.items():
        layer = get_layer(model, name)
        if mask.shape != layer.weight.shape:
            raise ValueError(f"mask for {name!r} has shape {tuple(mask.shape)}, the weight {tuple(layer.weight.shape)}: "
                             f"recompute the masks for this model")
        layer.weight.mul_(mask.to(layer.weight.device, layer.weight.dtype))
    return model


def weight_sparsity(model: nn.Module, layers=None) -> float:
    """Fraction of zeros over the weights of ``layers`` (default: every Conv/Linear)."""
    names = list(layers) if layers is not None else list(prunable_layers(model))
    ws = [get_layer(model, n).weight for n in names]
    total = sum(w.numel() for w in ws)
    return 1.0 - sum(int(torch.count_nonzero(w)) for w in ws) / max(total, 1)


def layer_table(model: nn.Module) -> list[dict]:
    """Per prunable layer: name, shape, weights, zeros and sparsity (rows for ``plots.text_table``)."""
    rows = []
    for name, layer in prunable_layers(model).items():
        w = layer.weight
        zeros = w.numel() - int(torch.count_nonzero(w))
        rows.append({"layer": name, "type": type(layer).__name__, "shape": "x".join(map(str, w.shape)),
                     "weights": w.numel(), "zeros": zeros, "sparsity": zeros / w.numel()})
    return rows


def weight_histogram(model: nn.Module, name: str, sparsity, bins: int = 120):
    """Histogram of one layer's weights with the magnitude threshold that ``sparsity`` implies, as a Figure."""
    from matplotlib.figure import Figure
    w = get_layer(model, name).weight.detach().reshape(-1).cpu()
    k = n_pruned(w.numel(), sparsity)
    tau = float(w.abs().sort().values[k - 1]) if k else 0.0
    fig = Figure(figsize=(6.4, 2.8), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(w.numpy(), bins=bins, color="0.55")
    ax.axvspan(-tau, tau, color="crimson", alpha=0.15, label=f"|w| <= {tau:.4f}: the {sparsity:.0%} pruned")
    ax.set_xlabel(f"weight value (layer {name}, {w.numel():,} weights)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return fig


def finetune_(model: nn.Module, epochs: float, masks: dict | None = None, lr: float = 1e-3,
              seed: int = 0, limit: int | None = None, report=None, desc: str = "fine-tune") -> nn.Module:
    """Fine-tune in place with ``labkit.train.train``; ``masks`` are re-applied after every step,
    so pruned weights stay exactly zero (Han et al. 2015). Returns the model (eval mode)."""
    from .train import train
    hook = (lambda m: apply_masks_(m, masks)) if masks else None
    train(model, epochs=epochs, lr=lr, seed=seed, limit=limit, after_step=hook, report=report,
          progress=report is None, desc=desc)
    return model


def cubic_schedule(steps: int) -> list[float]:
    """Share of the target sparsity reached after each of ``steps`` rounds: ``1 - (1 - i/steps)^3``
    (Zhu & Gupta, "To prune, or not to prune", 2017): prune fast while much is redundant, slowly
    near the target. Three steps: 70 %, 96 %, 100 %."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}: e.g. steps=3")
    return [1.0 - (1.0 - i / steps) ** 3 for i in range(1, steps + 1)]


def iterative_prune_(model: nn.Module, allocation, steps: int = 3, epochs: float = 1.0, final_share: float = 0.8,
                     lr: float = 1e-3, limit: int | None = None, report=None) -> dict[str, torch.Tensor]:
    """Han et al. 2015's loop: prune to a growing share of the target ``allocation`` (the cubic
    schedule of Zhu & Gupta 2017), fine-tune with the mask held, repeat ``steps`` times. Of the
    ``epochs`` of fine-tuning, the last round gets ``final_share`` (all of it when ``steps=1``), the
    earlier rounds share the rest. Changes ``model`` in place; returns the final masks.

    ``allocation``: one sparsity for every layer, or ``{layer name: sparsity}``."""
    target = _allocation(model, allocation)
    shares = cubic_schedule(steps)
    if not 0.0 < final_share <= 1.0:
        raise ValueError(f"final_share must be in (0, 1], got {final_share!r}: the last round's share of the epochs, e.g. 0.8")
    budget = [epochs * (1.0 - final_share) / (steps - 1)] * (steps - 1) + [epochs * final_share] if steps > 1 else [epochs]
    masks, done = {}, 0.0
    for i, (share, ep) in enumerate(zip(shares, budget), 1):
        masks = magnitude_masks(model, {n: s * share for n, s in target.items()})
        apply_masks_(model, masks)
        sub = None if report is None else (lambda f, t, i=i, done=done: report(done + f * ep / epochs, f"step {i}/{steps}: {t}"))
        finetune_(model, ep, masks, lr=lr, seed=i, limit=limit, report=sub, desc=f"prune step {i}/{steps}")
        done += ep / epochs
    return masks


# ----------------------------------------------------------------------------- sensitivity

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


def sensitivity_figure(scan: Scan, allocation: dict | None = None, title=None):
    """Accuracy drop vs sparsity, one line per layer (the allocation marked), as a Figure."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for name in scan.accuracy:
        line, = ax.plot(scan.sparsities, scan.drop(name), marker="o", ms=4,
                        label=f"{name} ({scan.weights[name]:,} w)")
        if allocation and allocation.get(name):
            s = allocation[name]
            ax.plot([s], [scan.drop(name)[scan.sparsities.index(s)]], marker="*", ms=14,
                    color=line.get_color(), markeredgecolor="k")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("sparsity of that layer alone")
    ax.set_ylabel("accuracy drop (pt, calibration set)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="layer" + (" (★ = allocation)" if allocation else ""), title_fontsize=8)
    if title:
        ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------- channels

class FilterImportance:
    """A Torch-Pruning importance from a per-filter score ``fn(weight, p) -> (out,)``: each group is
    scored by its root layer's filters (Li et al. 2017's criterion when ``fn`` is the Lp norm)."""

    def __init__(self, fn=filter_importance, p: int = 1):
        self.fn, self.p = fn, p

    @torch.no_grad()
    def __call__(self, group):
        dep, idxs = group[0]
        return torch.as_tensor(self.fn(dep.layer.weight.detach(), self.p)).float()[idxs]


def _ratio(value) -> float:
    return validate.fraction(value, "ratio", "the fraction of channels removed", 0.4)


def channel_prune(model: nn.Module, ratio, importance=None, round_to: int | None = 4,
                  input_size=metrics.MNIST_INPUT) -> nn.Module:
    """A copy of ``model`` with ``ratio`` of the channels of every Conv2d and hidden Linear
    physically removed (the classifier's outputs are kept), by Torch-Pruning's dependency graph,
    so coupled layers (BatchNorm, the next layer's inputs, residual adds) shrink consistently.

    ``importance``: a Torch-Pruning importance or a per-filter ``fn(weight, p)`` (default: L1,
    Li et al. 2017). ``round_to``: keep channel counts multiples of it (Torch-Pruning rounds down),
    which vector units like; ``None`` keeps the exact ratio."""
    import torch_pruning as tp
    r = _ratio(ratio)
    validate.module(model)
    imp = importance if importance is not None else FilterImportance()
    if not isinstance(imp, (FilterImportance, tp.importance.Importance)) and callable(imp):
        imp = FilterImportance(imp)
    pruned = copy.deepcopy(model).cpu().eval()
    last = list(prunable_layers(pruned).values())[-1]              # the classifier keeps its outputs
    example = torch.randn(*input_size)
    if r > 0:
        pruner = tp.pruner.BasePruner(pruned, example, importance=imp, pruning_ratio=r,
                                      ignored_layers=[last], round_to=round_to)
        pruner.step()
    device = next(model.parameters()).device
    return pruned.to(device)


def channel_counts(model: nn.Module) -> dict[str, int]:
    """Output channels / features of every prunable layer."""
    return {n: (m.out_channels if isinstance(m, nn.Conv2d) else m.out_features)
            for n, m in prunable_layers(model).items()}


def dependency_groups(model: nn.Module, input_size=metrics.MNIST_INPUT) -> list[tuple[str, object]]:
    """Torch-Pruning's groups of ``model`` (each Conv2d/Linear whose outputs can be pruned, the
    classifier excluded) as ``(root layer name, tp Group)``, in model order."""
    import torch_pruning as tp
    names = {m: n for n, m in model.named_modules()}
    last = list(prunable_layers(model).values())[-1]
    dg = tp.DependencyGraph().build_dependency(model, example_inputs=torch.randn(*input_size, device=next(model.parameters()).device))
    groups = [(names[g[0].dep.layer], g) for g in dg.get_all_groups(ignored_layers=[last], root_module_types=list(PRUNABLE))]
    order = list(names.values())
    return sorted(groups, key=lambda ng: order.index(ng[0]))


def describe_group(model: nn.Module, group) -> str:
    """What removing one of the root layer's channels also removes, e.g. ``"4 BatchNorm2d out, 8 Conv2d in"``."""
    names = {m: n for n, m in model.named_modules()}
    parts = []
    for dep, _ in list(group)[1:]:
        layer = dep.layer
        if isinstance(layer, nn.Module) and layer in names:
            side = "in" if "in_channels" in dep.pruning_fn.__name__ else "out"
            parts.append(f"{names[layer]} {type(layer).__name__} {side}")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- sparse kernels

class SparseLinear(nn.Module):
    """A Linear layer whose weight is stored as a ``torch.sparse`` CSR tensor (values, column
    indices, row pointers); ``forward`` computes ``(W x^T)^T + b`` with ``torch.sparse.addmm``
    (MKL's sparse kernel on x86), which also runs under ``torch.inference_mode``."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        with warnings.catch_warnings():          # "Sparse CSR tensor support is in beta state"
            warnings.simplefilter("ignore", UserWarning)
            csr = linear.weight.detach().to_sparse_csr()
        self.register_buffer("weight", csr)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone().unsqueeze(1))

    def forward(self, x):
        rows = x.reshape(-1, self.in_features).t()                              # (in, N)
        y = torch.sparse.mm(self.weight, rows) if self.bias is None else torch.sparse.addmm(self.bias, self.weight, rows)
        return y.t().reshape(*x.shape[:-1], self.out_features)                  # (..., out)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.weight._nnz()}"


def sparse_linear_(model: nn.Module) -> nn.Module:
    """Replace every ``nn.Linear`` of ``model`` by a ``SparseLinear`` (in place); returns the model."""
    validate.module(model)
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear):
            setattr(model, name, SparseLinear(child))
        else:
            sparse_linear_(child)
    return model


def sparse_vs_dense(in_features: int, out_features: int, batch_size: int = 1, sparsities=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99),
                    repeats: int = 20, seed: int = 0) -> list[dict]:
    """Latency of one Linear layer, dense vs CSR, at each sparsity (magnitude-pruned random weights),
    each pair timed interleaved by ``labkit.metrics.compare_latency``. Rows: sparsity, dense_ms,
    sparse_ms, speedup (dense / sparse, > 1: sparse is faster)."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for s in sparsities:
        dense = nn.Linear(in_features, out_features)
        with torch.no_grad():
            dense.weight.copy_(torch.randn(out_features, in_features, generator=g) / in_features ** 0.5)
            dense.weight.mul_(magnitude_mask(dense.weight, s))
        sparse = SparseLinear(dense)
        t = metrics.compare_latency({"dense": dense, "sparse": sparse}, (batch_size, in_features), repeats=repeats)
        rows.append({"sparsity": validate.sparsity(s), "dense_ms": t["dense"].median_ms, "sparse_ms": t["sparse"].median_ms,
                     "speedup": t["dense"].median_ms / t["sparse"].median_ms})
    return rows


def break_even(rows: list[dict]) -> float | None:
    """The lowest measured sparsity from which the sparse kernel is faster at every higher one
    measured (None if it never is)."""
    found = None
    for row in sorted(rows, key=lambda r: r["sparsity"], reverse=True):
        if row["speedup"] <= 1.0:
            break
        found = row["sparsity"]
    return found


def break_even_figure(settings: dict[str, list[dict]], title=None):
    """Measured speedup of the CSR kernel over dense vs sparsity, one line per setting, as a Figure."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for label, rows in settings.items():
        ax.plot([r["sparsity"] for r in rows], [r["speedup"] for r in rows], marker="o", label=label)
    ax.axhline(1.0, color="crimson", lw=1, ls="--", label="break-even")
    ax.set_yscale("log")
    ax.set_xlabel("sparsity (fraction of zero weights)")
    ax.set_ylabel("dense time / sparse time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------- sweep points

def nonzero_macs(model: nn.Module, input_size=metrics.MNIST_INPUT) -> int:
    """MACs a kernel that skipped zero weights would do: each layer's MACs times its fraction of
    nonzero weights (equal to ``metrics.count_macs`` for a dense model)."""
    layers = prunable_layers(model)
    return int(sum(round(macs * (1.0 - sparsity_of(layers[name].weight)))
                   for name, macs in metrics.macs_by_layer(model, input_size).items()))


def point(config: dict, model: nn.Module, accuracy: float, fmt: str = "fp32", latency_ms: float = 0.0,
          label: str | None = None) -> dict:
    """A sweep point: accuracy, size under ``fmt`` (``sparse-csr`` for zeros worth storing as such),
    MACs (nonzero MACs for sparse formats), latency (see ``time_points``)."""
    from .size import size_bytes
    macs = nonzero_macs(model) if fmt.startswith("sparse") else metrics.count_macs(model)
    p = {"config": dict(config), "accuracy_pct": accuracy if verify.is_approx(accuracy) else float(accuracy),
         "size_bytes": size_bytes(model, fmt),
         "macs": macs, "latency_ms": float(latency_ms)}
    if label:
        p["label"] = label
    return p


def time_points(pairs, baseline: nn.Module | None = None, batch_size: int = 1, repeats: int = 20) -> float | None:
    """Set ``latency_ms`` of every ``(point, model)`` pair, all models (and ``baseline``) timed
    interleaved in one ``compare_latency`` run at ``batch_size``; returns the baseline's ms."""
    models = {f"p{i}": m for i, (_, m) in enumerate(pairs)}
    if baseline is not None:
        models["baseline"] = baseline
    t = metrics.compare_latency(models, (batch_size, *metrics.MNIST_INPUT[1:]), repeats=repeats)
    for i, (p, _) in enumerate(pairs):
        p["latency_ms"] = t[f"p{i}"].median_ms
    return t["baseline"].median_ms if baseline is not None else None


def fine_point(base: nn.Module, scan: Scan, sparsity, epochs: float = 1.0, steps: int = 3,
               report=None, label=None) -> tuple[dict, nn.Module]:
    """Prune a copy of ``base`` to overall ``sparsity`` with the allocation ``scan`` derives, in
    ``steps`` prune + fine-tune rounds (Han et al. 2015); point with size in ``sparse-csr``."""
    from .train import evaluate
    model = copy.deepcopy(base)
    iterative_prune_(model, scan.allocate_for(sparsity), steps=steps, epochs=epochs, report=report)
    cfg = {"sparsity": validate.sparsity(sparsity), "achieved": round(weight_sparsity(model), 4), "epochs": epochs}
    return point(cfg, model, evaluate(model), "sparse-csr", label=label), model


def channel_point(base: nn.Module, ratio, epochs: float = 0.5, importance=None, report=None,
                  label=None) -> tuple[dict, nn.Module]:
    """Remove ``ratio`` of the channels (L1 filters by default), fine-tune; point with size in ``fp32``."""
    from .train import evaluate
    model = channel_prune(base, ratio, importance=importance)
    finetune_(model, epochs, report=report, desc=f"channels -{_ratio(ratio):.0%}")
    return point({"ratio": _ratio(ratio), "epochs": epochs}, model, evaluate(model), "fp32", label=label), model


def joint_point(channel_model: nn.Module, sparsity, epochs: float = 0.3, ratio=None, report=None,
                label=None) -> tuple[dict, nn.Module]:
    """Multi-level: global magnitude pruning to ``sparsity`` on top of a channel-pruned model,
    fine-tuned with the mask held; point with size in ``sparse-csr``."""
    from .train import evaluate
    model = copy.deepcopy(channel_model)
    masks = global_magnitude_masks(model, sparsity)
    apply_masks_(model, masks)
    finetune_(model, epochs, masks, report=report, desc=f"joint {validate.sparsity(sparsity):.0%}")
    cfg = {"sparsity": validate.sparsity(sparsity), "ratio": ratio, "epochs": epochs}
    return point(cfg, model, evaluate(model), "sparse-csr", label=label), model


# ----------------------------------------------------------------------------- cached sweep

SWEEP = {"prune-fine": (0.5, 0.8, 0.9, 0.95, 0.97),
         "prune-channel": (0.2, 0.3, 0.4, 0.5, 0.6),
         "prune-joint": (0.5, 0.7, 0.8, 0.9)}
EPOCHS = {"prune-fine": 1.0, "prune-channel": 0.5, "prune-joint": 0.3}
SWEEP_RATIO = 0.3           # the channel ratio the joint sweep starts from
SWEEP_FILE = "02_pruning_sweep.json"


def sweep(model_name: str = "cnn", progress: bool = True) -> dict:
    """Every point of notebook 02's dashboard, recomputed (minutes): fine-grained (sensitivity
    allocation), channel (L1 filters), joint (channels ``SWEEP_RATIO`` + global magnitude), each
    fine-tuned ``EPOCHS[method]``; all latencies timed interleaved with the baseline at batch 1."""
    from . import zoo
    from .train import evaluate
    base = zoo.load(model_name)
    say = print if progress else (lambda *a, **k: None)
    scan = sensitivity_scan(base)
    pairs = {m: [] for m in SWEEP}
    for s in SWEEP["prune-fine"]:
        pairs["prune-fine"].append(fine_point(base, scan, s, EPOCHS["prune-fine"]))
        say("prune-fine", pairs["prune-fine"][-1][0])
    for r in SWEEP["prune-channel"]:
        pairs["prune-channel"].append(channel_point(base, r, EPOCHS["prune-channel"]))
        say("prune-channel", pairs["prune-channel"][-1][0])
    channel_model = dict(zip(SWEEP["prune-channel"], pairs["prune-channel"]))[SWEEP_RATIO][1]
    for s in SWEEP["prune-joint"]:
        pairs["prune-joint"].append(joint_point(channel_model, s, EPOCHS["prune-joint"], ratio=SWEEP_RATIO))
        say("prune-joint", pairs["prune-joint"][-1][0])
    data = {"model": model_name, "baseline": point({"model": model_name}, base, evaluate(base)), "epochs": EPOCHS,
            "methods": {m: [p for p, _ in pairs[m]] for m in SWEEP},
            "batch_size": 1, "threads": torch.get_num_threads(), "torch": torch.__version__.split("+")[0],
            "command": "python -m labkit.prune sweep"}
    return retime(data, base)


def architecture(base: nn.Module, technique: str, config: dict) -> nn.Module:
    """The dense architecture a sweep point runs as: ``base`` itself for fine-grained sparsity (dense
    kernels do the same work whatever the weights), ``channel_prune(base, ratio)`` for channel and
    joint points (the channel counts of the trained model, with other weights)."""
    validate.choice(technique, SWEEP, "method")
    return base if technique == "prune-fine" else channel_prune(base, config["ratio"])


def retime(sweep_data: dict, base: nn.Module, batch_size: int = 1, repeats: int = 20) -> dict:
    """A copy of ``sweep_data`` with every latency measured now: each point's architecture (see
    ``architecture``) and ``base`` timed interleaved in one run with dense kernels (a fine-grained
    point runs exactly the baseline's computation, so it gets the baseline's time). Accuracy, size
    and MACs are kept (they do not depend on the machine)."""
    data = copy.deepcopy(sweep_data)
    archs: dict[str, nn.Module] = {}
    keys = []
    for technique, points in data["methods"].items():
        for p in points:
            key = "baseline" if technique == "prune-fine" else f"ratio {p['config']['ratio']}"
            if key not in archs and key != "baseline":
                archs[key] = architecture(base, technique, p["config"])
            keys.append((p, key))
    t = metrics.compare_latency({"baseline": base, **archs}, (batch_size, *metrics.MNIST_INPUT[1:]), repeats=repeats)
    for p, key in keys:
        p["latency_ms"] = t[key].median_ms
    data["baseline"]["latency_ms"] = t["baseline"].median_ms
    data["batch_size"], data["threads"] = batch_size, torch.get_num_threads()
    return data


def time_live(point: dict, model: nn.Module, technique: str, sweep_data: dict, base: nn.Module,
              repeats: int = 20) -> dict:
    """Give a point computed live a latency on the scale of ``sweep_data`` (timed by ``retime``), so
    the dashboard compares like with like: a fine-grained point computes exactly what the baseline
    computes and gets the sweep baseline's time; any other model is timed interleaved with ``base``
    now and gets ``sweep baseline ms * (its ms / base ms)``. Returns ``point``."""
    validate.choice(technique, SWEEP, "method")
    ref = sweep_data["baseline"]["latency_ms"]
    if technique == "prune-fine":
        point["latency_ms"] = ref
    else:
        t = metrics.compare_latency({"base": base, "live": model},
                                    (sweep_data.get("batch_size", 1), *metrics.MNIST_INPUT[1:]), repeats=repeats)
        point["latency_ms"] = ref * t["live"].median_ms / t["base"].median_ms
    return point


def load_sweep(path=None) -> dict:
    """The cached sweep (``notebooks/cache/02_pruning_sweep.json``), or a one-line error naming the
    command that makes it."""
    return read_cache(path or SWEEP_FILE, "python -m labkit.prune sweep")


def dashboard(sweep_data: dict, params: dict | None = None, live: dict | None = None,
              live_values: dict | None = None, baseline=None):
    """One ``labkit.widgets.tradeoff_dashboard`` per method, in tabs: a slider over that method's
    sweep (``params[method]`` is the config key it moves over, default ``"sparsity"``), and
    ``live[method](value, progress)`` behind its button."""
    import ipywidgets as widgets
    from .widgets import tradeoff_dashboard
    params, live, live_values = params or {}, live or {}, live_values or {}
    base = baseline if baseline is not None else sweep_data.get("baseline")
    methods = list(sweep_data["methods"])
    for m in list(params) + list(live):
        validate.choice(m, methods, "method")
    dashes = [tradeoff_dashboard(sweep_data["methods"][m], params.get(m, "sparsity"), baseline=base,
                                 live=live.get(m), live_values=live_values.get(m), title=m)
              for m in methods]
    tabs = widgets.Tab(children=dashes)
    for i, m in enumerate(methods):
        tabs.set_title(i, m)
    tabs.dashboards = dict(zip(methods, dashes))
    return tabs


def main(argv=None) -> int:
    from .runtime import setup
    p = argparse.ArgumentParser(prog="python -m labkit.prune", description="Notebook 02's cached pruning sweep.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sweep", help=f"recompute notebooks/cache/{SWEEP_FILE} (minutes)")
    p.parse_args(argv)
    setup(quiet=True)
    print(f"wrote {write_json(sweep(), cache_dir() / SWEEP_FILE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
