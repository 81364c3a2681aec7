"""Fine-grained pruning: masks on single weights, N:M groups, fine-tuning with the mask held.

- ``magnitude_mask(w, sparsity)``: keep the largest ``|w|``, zero exactly
  ``round(sparsity * w.numel())`` (Han et al., "Learning both Weights and Connections for
  Efficient Neural Networks", NeurIPS 2015).
- ``nm_mask(w, n, m)``: the ``n`` largest of every ``m`` consecutive weights along the
  reduction dimension, NVIDIA Ampere's 2:4 pattern (Mishra et al., arXiv:2104.08378, 2021).
- ``magnitude_masks`` / ``global_magnitude_masks`` / ``nm_masks``: masks for a model;
  ``apply_masks_``, ``finetune_`` (masks re-applied after every step), ``iterative_prune_``
  (prune, fine-tune, repeat, on Zhu & Gupta's cubic schedule).
"""
from __future__ import annotations

import torch
from torch import nn
from .. import validate
from ..layers import get_layer, weighted_layers


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


def sparsity_of(t: torch.Tensor) -> float:
    """Fraction of exact zeros in a tensor."""
    return 1.0 - int(torch.count_nonzero(t)) / max(t.numel(), 1)


def _allocation(model: nn.Module, sparsity) -> dict[str, float]:
    """``{layer name: sparsity}`` from a number (every layer) or a dict (its layers only), checked."""
    if isinstance(sparsity, dict):
        for name in sparsity:
            get_layer(model, name)
        return {name: validate.sparsity(s) for name, s in sparsity.items()}
    s = validate.sparsity(sparsity)
    return {name: s for name in weighted_layers(model)}


def magnitude_masks(model: nn.Module, sparsity) -> dict[str, torch.Tensor]:
    """Per-layer magnitude masks: ``sparsity`` is one number for every layer or ``{name: sparsity}``."""
    return {name: magnitude_mask(get_layer(model, name).weight, s) for name, s in _allocation(model, sparsity).items()}


def global_magnitude_masks(model: nn.Module, sparsity, layers=None) -> dict[str, torch.Tensor]:
    """One threshold for all ``layers`` (default: every Conv/Linear): the ``round(sparsity * total)``
    smallest ``|w|`` of the model go, wherever they are (``torch.nn.utils.prune.global_unstructured``)."""
    names = list(layers) if layers is not None else list(weighted_layers(model))
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
    for name, layer in weighted_layers(model).items():
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
    names = list(layers) if layers is not None else list(weighted_layers(model))
    ws = [get_layer(model, n).weight for n in names]
    total = sum(w.numel() for w in ws)
    return 1.0 - sum(int(torch.count_nonzero(w)) for w in ws) / max(total, 1)


def layer_table(model: nn.Module) -> list[dict]:
    """Per prunable layer: name, shape, weights, zeros and sparsity (rows for ``plots.text_table``)."""
    rows = []
    for name, layer in weighted_layers(model).items():
        w = layer.weight
        zeros = w.numel() - int(torch.count_nonzero(w))
        rows.append({"layer": name, "type": type(layer).__name__, "shape": "x".join(map(str, w.shape)),
                     "weights": w.numel(), "zeros": zeros, "sparsity": zeros / w.numel()})
    return rows


def finetune_(model: nn.Module, epochs: float, masks: dict | None = None, lr: float = 1e-3,
              seed: int = 0, limit: int | None = None, report=None, desc: str = "fine-tune") -> nn.Module:
    """Fine-tune in place with ``labkit.train.train``; ``masks`` are re-applied after every step,
    so pruned weights stay exactly zero (Han et al. 2015). Returns the model (eval mode)."""
    from ..train import train
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
                     lr: float = 1e-3, limit: int | None = None, report=None, seed: int = 0) -> dict[str, torch.Tensor]:
    """Han et al. 2015's loop: prune to a growing share of the target ``allocation`` (the cubic
    schedule of Zhu & Gupta 2017), fine-tune with the mask held, repeat ``steps`` times. Of the
    ``epochs`` of fine-tuning, the last round gets ``final_share`` (all of it when ``steps=1``), the
    earlier rounds share the rest. Changes ``model`` in place; returns the final masks.

    ``allocation``: one sparsity for every layer, or ``{layer name: sparsity}``; round ``i`` fine-tunes
    with seed ``seed + i`` (its data order)."""
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
        finetune_(model, ep, masks, lr=lr, seed=seed + i, limit=limit, report=sub, desc=f"prune step {i}/{steps}")
        done += ep / epochs
    return masks
