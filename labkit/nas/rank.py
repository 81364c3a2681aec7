"""Rank statistics for testing a proxy against ground truth, in NumPy: Kendall's tau-b, its
95 % bootstrap interval, and the partial tau controlling for a third variable (is this proxy a
parameter counter?).

Kendall (1938): over all pairs (i, j), tau counts concordant minus discordant pairs; tau-b
divides by sqrt((n0 - ties_x)(n0 - ties_y)) so ties do not pull it towards 0 (Kendall 1945).
Partial tau (Kendall 1942): ``(t_xy - t_xz t_yz) / sqrt((1 - t_xz^2)(1 - t_yz^2))``.
"""
from __future__ import annotations

import numpy as np


def kendall_tau(x, y) -> float:
    """Kendall's tau-b of two equal-length sequences (NaN when either is constant)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"kendall_tau needs two 1-D sequences of equal length, got shapes {x.shape} and {y.shape}")
    i, j = np.triu_indices(len(x), 1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    num = float(np.sum(dx * dy))
    den = float(np.sqrt(np.sum(dx != 0) * np.sum(dy != 0)))
    return num / den if den > 0 else float("nan")


def bootstrap_ci(x, y, reps: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of Kendall's tau: resample the (x, y) pairs with replacement."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(reps):
        idx = rng.integers(0, len(x), len(x))
        t = kendall_tau(x[idx], y[idx])
        if not np.isnan(t):
            taus.append(t)
    lo, hi = np.quantile(taus, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def partial_tau(x, y, z) -> float:
    """Kendall's partial tau of x and y controlling for z."""
    txy, txz, tyz = kendall_tau(x, y), kendall_tau(x, z), kendall_tau(y, z)
    den = np.sqrt((1 - txz ** 2) * (1 - tyz ** 2))
    return float((txy - txz * tyz) / den) if den > 0 else float("nan")


def report(scores: dict, truth, control, reps: int = 1000) -> dict:
    """``{proxy: {"tau", "ci": [lo, hi], "partial_tau_params"}}``: each proxy's Kendall tau against
    ``truth``, its 95 % bootstrap interval, and its partial tau controlling for ``control`` (the
    parameter counts)."""
    out = {}
    for name, s in scores.items():
        lo, hi = bootstrap_ci(s, truth, reps)
        out[name] = {"tau": kendall_tau(s, truth), "ci": [lo, hi], "partial_tau_params": partial_tau(s, truth, control)}
    return out
