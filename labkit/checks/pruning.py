"""Checks for notebook 02 (pruning): the magnitude mask and the filter importance."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn.utils import prune as torch_prune

from ._common import call_student, hidden_rng


def _shape(rng) -> tuple[int, ...]:
    return rng.choice([(rng.randint(1, 300),),
                       (rng.randint(1, 40), rng.randint(1, 60)),
                       (rng.randint(1, 16), rng.randint(1, 8), 3, 3),
                       (rng.randint(1, 8), 1, rng.choice([1, 3, 5]), rng.choice([1, 3, 5]))])


def _tensor(rng, shape, kind: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    if kind == "ties":          # few distinct values, many zeros: magnitudes tie everywhere
        return torch.randint(-3, 4, shape, generator=g).float() * 0.25
    if kind == "constant":      # every magnitude equal, signs mixed
        return torch.where(torch.rand(shape, generator=g) < 0.5, -0.7, 0.7)
    if kind == "zeros":         # already sparse
        w = torch.randn(shape, generator=g)
        return w * (torch.rand(shape, generator=g) < 0.4)
    return torch.randn(shape, generator=g) * rng.choice([1e-3, 0.05, 1.0, 30.0]) + rng.choice([0.0, 0.0, 0.2])


def _sparsity(rng) -> float:
    return rng.choice([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, round(rng.random() * 0.999, 3), rng.random() * 0.999])


def _wanted_zeros(numel: int, sparsity: float) -> set[int]:
    """``round(sparsity * numel)``; an exact .5 may round either way."""
    x = sparsity * numel
    return {round(x), math.floor(x + 0.5)}


def magnitude_cases(cases: int = 80):
    """The hidden cases of ``check_magnitude_mask``: (kind, weight, sparsity)."""
    rng = hidden_rng(20)
    kinds = ["normal", "normal", "ties", "constant", "zeros"]
    return [(kind, _tensor(rng, _shape(rng), kind), _sparsity(rng)) for kind in (kinds[i % len(kinds)] for i in range(cases))]


def check_magnitude_mask(magnitude_mask, cases: int = 80) -> None:
    """Check ``magnitude_mask(w, sparsity) -> bool tensor`` (``True`` = keep): exactly
    ``round(sparsity * w.numel())`` weights dropped, never one of larger ``|w|`` than a kept one,
    ``w`` unchanged; on tensors without ties, the same mask as ``torch.nn.utils.prune``."""
    for i, (kind, w, s) in enumerate(magnitude_cases(cases)):
        original = w.clone()
        mask = call_student(magnitude_mask, "magnitude_mask", w, s)
        where = f"case {i} ({kind} weights of shape {tuple(w.shape)}, sparsity {s:g})"
        if not torch.equal(w, original):
            raise AssertionError(f"{where}: your function changed the weight tensor; build a new mask instead of editing w")
        if not isinstance(mask, torch.Tensor):
            raise AssertionError(f"{where}: return a torch.Tensor mask, got {type(mask).__name__}")
        if mask.shape != w.shape:
            raise AssertionError(f"{where}: the mask has shape {tuple(mask.shape)}; it must have the weight's shape "
                                 f"{tuple(w.shape)} (reshape the flat mask back)")
        if mask.dtype != torch.bool:
            raise AssertionError(f"{where}: the mask has dtype {mask.dtype}; return a bool tensor (True = keep), "
                                 f"e.g. mask.bool()")
        dropped, want = int((~mask).sum()), _wanted_zeros(w.numel(), s)
        if dropped not in want:
            k = min(want)
            hint = ("use round(sparsity * numel), not int() or math.floor/ceil" if abs(dropped - s * w.numel()) < 1 else
                    "with ties, a threshold test like |w| <= t drops every tied weight: drop exactly k, e.g. the first k of an argsort"
                    if kind in ("ties", "constant") else "drop exactly k = round(sparsity * numel) weights")
            raise AssertionError(f"{where}: {dropped} weights dropped, expected {k} of {w.numel()}. Hint: {hint}.")
        mag = w.abs()
        if dropped and bool(mask.any()) and float(mag[~mask].max()) > float(mag[mask].min()):
            signed = bool((w[~mask] <= w[mask].min()).all())
            hint = ("rank by magnitude |w|, not by the signed value" if signed else
                    "drop the SMALLEST magnitudes and keep the largest")
            raise AssertionError(f"{where}: a dropped weight has |w| = {float(mag[~mask].max()):.4g}, larger than a kept one "
                                 f"({float(mag[mask].min()):.4g}). Hint: {hint}.")
        if kind == "normal" and mag.reshape(-1).unique().numel() == w.numel():
            ref = torch_prune.L1Unstructured(amount=s).compute_mask(w, default_mask=torch.ones_like(w)).bool()
            if not torch.equal(mask, ref):
                raise AssertionError(f"{where}: your mask differs from torch.nn.utils.prune.l1_unstructured's at "
                                     f"{int((mask != ref).sum())} positions")
    print(f"✓ magnitude_mask gives the exact sparsity on {cases} hidden tensors (ties, constant, already-sparse "
          f"included) and matches torch.nn.utils.prune wherever the answer is unique")


def importance_cases(cases: int = 40):
    """The hidden cases of ``check_filter_importance``: (weight, p)."""
    rng = hidden_rng(21)
    out = []
    for i in range(cases):
        shape = rng.choice([(rng.randint(1, 64), rng.randint(1, 32), 3, 3),
                            (rng.randint(1, 32), 1, rng.choice([3, 5]), rng.choice([3, 5])),   # depthwise
                            (rng.randint(1, 64), rng.randint(1, 64), 1, 1),
                            (rng.randint(1, 64), rng.randint(1, 200))])                       # Linear
        g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
        w = torch.randn(shape, generator=g) * rng.choice([0.01, 0.3, 2.0]) + rng.choice([0.0, -0.1, 0.1])
        out.append((w, 1 if i % 2 == 0 else 2))
    return out


def _reference_norms(w: torch.Tensor, p: int) -> np.ndarray:
    """Lp norm of each output filter, in float64 NumPy, written out."""
    rows = w.detach().double().numpy().reshape(w.shape[0], -1)
    return (np.abs(rows) ** p).sum(axis=1) ** (1.0 / p)


def check_filter_importance(filter_importance, cases: int = 40) -> None:
    """Check ``filter_importance(w, p) -> tensor (out,)``: the L1 (p=1) or L2 (p=2) norm of each
    output filter ``w[j]`` of a Conv2d (out, in, kh, kw) or Linear (out, in) weight."""
    for i, (w, p) in enumerate(importance_cases(cases)):
        original = w.clone()
        got = call_student(filter_importance, "filter_importance", w, p)
        where = f"case {i} (weight {tuple(w.shape)}, p={p})"
        if not torch.equal(w, original):
            raise AssertionError(f"{where}: your function changed the weight tensor; compute on a copy (w.abs(), not w.abs_())")
        if not isinstance(got, torch.Tensor):
            raise AssertionError(f"{where}: return a torch.Tensor of one score per output filter, got {type(got).__name__}")
        want = _reference_norms(w, p)
        if tuple(got.shape) != (w.shape[0],):
            raise AssertionError(f"{where}: got shape {tuple(got.shape)}, expected ({w.shape[0]},): one score per output "
                                 f"filter, reducing every dimension except dim 0 (e.g. w.flatten(1))")
        g = got.detach().double().numpy()
        if not np.allclose(g, want, rtol=1e-4, atol=1e-6):
            rows = w.detach().double().numpy().reshape(w.shape[0], -1)
            n, close = rows.shape[1], (lambda a, b: np.allclose(a, b, rtol=1e-4, atol=1e-6))
            if close(g, want ** 2):
                hint = "the L2 norm is the square root of the sum of squares"
            elif close(g, rows.sum(1)) or close(g, np.abs(rows.sum(1))):
                hint = "sum the magnitudes |w|, not the signed values"
            elif close(g * n, want ** p) or close(g * n ** (1.0 / p), want):
                hint = "sum over the filter, do not average"
            else:
                hint = f"the L{p} norm of filter j is (sum over w[j] of |w|^{p})^(1/{p})"
            j = int(np.argmax(np.abs(g - want)))
            raise AssertionError(f"{where}: filter {j} scores {g[j]:.6g}, expected {want[j]:.6g}. Hint: {hint}.")
    print(f"✓ filter_importance gives the L1 and L2 norms of every filter on {cases} hidden Conv2d, depthwise "
          f"and Linear weights")
