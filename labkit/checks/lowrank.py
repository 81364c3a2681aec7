"""Checks for notebook 06 (low-rank factorization): a Linear factored into two by the SVD."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ._common import call_student, hidden_rng


def reference_rank_r(W: np.ndarray, rank: int) -> tuple[np.ndarray, float]:
    """The best rank-``rank`` approximation of ``W`` and its relative Frobenius error, with NumPy's
    float64 SVD (independent of torch.linalg): Eckart & Young (1936)."""
    U, s, Vh = np.linalg.svd(W.astype(np.float64), full_matrices=False)
    approx = (U[:, :rank] * s[:rank]) @ Vh[:rank]
    return approx, float(np.sqrt((s[rank:] ** 2).sum() / (s ** 2).sum()))


def _case(rng, i: int) -> tuple[nn.Linear, int, str]:
    """Random shapes (wide, tall, square), ranks from 1 to full, with and without bias, spectra flat,
    decaying, and exactly low-rank (ties at zero)."""
    m, n = [(6, 10), (10, 6), (1, 5), (8, 8)][i] if i < 4 else (rng.randint(1, 40), rng.randint(1, 40))
    kind = ["decay", "flat", "exact", "decay"][i % 4] if i < 8 else rng.choice(["flat", "decay", "exact"])
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    if kind == "exact":
        true_rank = rng.randint(1, min(m, n))
        W = torch.randn(m, true_rank, generator=g) @ torch.randn(true_rank, n, generator=g)
    else:
        U, _ = torch.linalg.qr(torch.randn(m, m, generator=g))
        V, _ = torch.linalg.qr(torch.randn(n, n, generator=g))
        k = min(m, n)
        s = torch.rand(k, generator=g) + 0.5 if kind == "flat" else torch.logspace(0, -3, k) * (1 + torch.rand(k, generator=g))
        W = (U[:, :k] * s) @ V[:, :k].T
    layer = nn.Linear(n, m, bias=rng.random() < 0.7)
    with torch.no_grad():
        layer.weight.copy_(W * rng.choice([0.01, 1.0, 30.0]))
        if layer.bias is not None:
            layer.bias.copy_(torch.randn(m, generator=g))
    rank = [3, 2, 1, 8][i] if i < 4 else rng.randint(1, min(m, n))
    return layer, rank, kind


def _linears(model) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)] if isinstance(model, nn.Module) else []


def check_factor_linear(factor_linear, cases: int = 60) -> None:
    """Check ``factor_linear(layer, rank) -> (two_layers, relative_error)`` on hidden random cases:
    ``two_layers`` is a module of exactly two Linears (``in -> rank`` without bias, ``rank -> out``
    with the layer's bias), computes the best rank-``rank`` approximation (NumPy's SVD as the
    reference), stores ``rank * (in + out)`` weights, leaves ``layer`` unchanged, and the returned
    error is ``||W - W_r||_F / ||W||_F``."""
    rng = hidden_rng(6)
    for i in range(cases):
        layer, rank, kind = _case(rng, i)
        m, n = layer.out_features, layer.in_features
        before = layer.weight.detach().clone()
        where = f"case {i}: Linear({n}, {m}{', bias=False' if layer.bias is None else ''}), rank {rank}, {kind} spectrum"
        got = call_student(factor_linear, "factor_linear", layer, rank)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise AssertionError(f"{where}: return a pair (two_layers, relative_error), got {type(got).__name__}")
        model, err = got
        if not torch.equal(layer.weight.detach(), before):
            raise AssertionError(f"{where}: factor_linear changed the layer's weight: build new layers, leave the input alone")
        lin = _linears(model)
        if len(lin) != 2:
            raise AssertionError(f"{where}: expected a module holding exactly two nn.Linear layers "
                                 f"(nn.Sequential(nn.Linear(in, rank, bias=False), nn.Linear(rank, out))), got {model!r}")
        first, second = lin
        shapes = (tuple(first.weight.shape), tuple(second.weight.shape))
        if shapes != ((rank, n), (m, rank)):
            raise AssertionError(f"{where}: weight shapes {shapes}, expected {((rank, n), (m, rank))}: the first layer "
                                 f"maps in -> rank, the second rank -> out")
        if first.bias is not None and bool(first.bias.detach().abs().max() > 0):
            raise AssertionError(f"{where}: the first layer must not add a bias (it would be a rank-r+1 map); "
                                 f"put the layer's bias on the second")
        want_W, want_err = reference_rank_r(before.numpy(), rank)
        x = torch.randn(7, n, generator=torch.Generator().manual_seed(i))
        with torch.no_grad():
            y = model(x).double()
        want_y = torch.from_numpy(x.double().numpy() @ want_W.T)
        if layer.bias is not None:
            want_y = want_y + layer.bias.detach().double()
        scale = max(1.0, float(want_y.abs().max()))
        off = float((y - want_y).abs().max())
        if not off <= 1e-3 * scale:
            hint = ("keep the *largest* singular values: torch.linalg.svd returns them in descending order, "
                    "so take U[:, :r], S[:r], Vh[:r]; and carry the layer's bias")
            raise AssertionError(f"{where}: outputs differ from the best rank-{rank} layer by up to {off:.3g}. Hint: {hint}")
        if not isinstance(err, (int, float)) and not (isinstance(err, torch.Tensor) and err.numel() == 1):
            raise AssertionError(f"{where}: the relative error must be a number, got {type(err).__name__}")
        err = float(err)
        if not math.isfinite(err) or abs(err - want_err) > 1e-4 + 1e-3 * want_err:
            hints = [(want_err ** 2, "that is the squared error: take the square root"),
                     (want_err * float(np.linalg.norm(before.numpy())), "divide by ||W||_F (the relative error)"),
                     (1 - want_err, "the error is ||W - W_r|| / ||W||, not the part kept")]
            hint = next((t for v, t in hints if abs(err - v) <= 1e-4 + 1e-3 * abs(v) and abs(v - want_err) > 1e-6),
                        "it is ||W - W_r||_F / ||W||_F = sqrt(sum of the dropped s_i^2 / sum of all s_i^2)")
            raise AssertionError(f"{where}: relative error {err:.6g}, expected {want_err:.6g}. Hint: {hint}")
    print(f"✓ factor_linear gives the best rank-r layer (Eckart-Young, checked against NumPy's SVD) and its relative "
          f"error on {cases} random cases: wide, tall and square, ranks 1 to full, with and without bias")
