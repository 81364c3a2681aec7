"""Checks for notebook 10 (what compression costs beyond top-1): expected calibration error."""
from __future__ import annotations

import math

import torch

from ._common import call_student, hidden_rng


def reference_ece(conf, correct, bins: int) -> float:
    """ECE by its definition, one bin at a time in plain Python over float64 values (independent of
    ``labkit.harm.ece``'s vectorised binning): bin ``b`` holds ``(b / bins, (b + 1) / bins]``, a
    confidence of 0 joins the first bin; empty bins add nothing."""
    c = [float(v) for v in torch.as_tensor(conf).double().reshape(-1)]
    ok = [float(v) for v in torch.as_tensor(correct).double().reshape(-1)]
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i, v in enumerate(c) if (lo < v <= hi) or (b == 0 and v == 0.0)]
        if members:
            gap = abs(sum(ok[i] for i in members) / len(members) - sum(c[i] for i in members) / len(members))
            total += len(members) / len(c) * gap
    return total


def _cases(rng) -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    """Hidden cases: random confidences (uniform, over-confident, under-confident) with outcomes drawn
    from them or not, every bin count, empty bins, values exactly on bin edges (power-of-two bins,
    where an edge is an exact float), 0 and 1, a single sample, a single bin, bool and float labels."""
    out = []
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    for i in range(24):
        n = [1, 2, 7, 50, 500, 3000][i % 6]
        bins = [15, 10, 5, 1, 20, 3][i // 4 % 6]
        shape = rng.choice(["uniform", "over", "under", "narrow"])
        conf = torch.rand(n, generator=g, dtype=torch.float64)
        if shape == "over":
            conf = 0.5 + 0.5 * conf ** 0.3
        elif shape == "under":
            conf = 0.1 + 0.4 * conf
        elif shape == "narrow":
            conf = 0.6 + 0.05 * conf                                    # most bins empty
        p = conf if rng.random() < 0.6 else torch.full_like(conf, rng.random())
        correct = torch.rand(n, generator=g, dtype=torch.float64) < p
        correct = correct if rng.random() < 0.5 else correct.double()
        out.append((f"random {shape} confidences, n={n}, bins={bins}", conf.float() if i % 3 else conf, correct, bins))
    for bins in (4, 8, 16):                                            # exact edges: k / bins is a float
        k = torch.randint(0, bins + 1, (400,), generator=g)
        conf = (k.double() / bins)
        correct = torch.rand(400, generator=g) < 0.5
        out.append((f"confidences exactly on the bin edges k/{bins} (bins are (lo, hi], 0 joins the first)", conf,
                    correct, bins))
    conf = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 0.25, 0.5, 0.75], dtype=torch.float64)
    out.append(("0s and 1s and edges, bins=4", conf, torch.tensor([1, 1, 0, 1, 0, 1, 0, 1]).bool(), 4))
    out.append(("perfect: confidence 1, all correct", torch.ones(100), torch.ones(100, dtype=torch.bool), 15))
    out.append(("confidence 1, all wrong", torch.ones(100), torch.zeros(100, dtype=torch.bool), 15))
    out.append(("one bin holds everything, one sample elsewhere", torch.cat([torch.full((999,), 0.93), torch.tensor([0.11])]),
                torch.cat([torch.rand(999, generator=g) < 0.5, torch.tensor([True])]), 10))
    return out


def check_ece(ece, cases: int | None = None) -> None:
    """Check ``ece(conf, correct, bins) -> float`` (a fraction in [0, 1], not %) on hidden cases
    against ECE by its definition (``reference_ece``) and ``labkit.harm.ece``: equal-width bins
    ``(b / bins, (b + 1) / bins]`` (0 joins the first), each bin's |accuracy - mean confidence|
    weighted by its share of the samples, empty bins skipped; inputs unchanged."""
    from ..harm import ece as library_ece
    rng = hidden_rng(10)
    todo = _cases(rng)
    for where, conf, correct, bins in todo[:cases] if cases else todo:
        c0, k0 = conf.clone(), correct.clone()
        got = call_student(ece, "ece", conf, correct, bins)
        want = reference_ece(conf, correct, bins)
        lib = library_ece(conf, correct, bins)
        assert abs(want - lib) < 1e-9, f"{where}: the two references disagree ({want} vs {lib}): report this"
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise AssertionError(f"{where}: ece returned {type(got).__name__}, expected a number (a float in [0, 1])") from None
        assert torch.equal(conf, c0) and torch.equal(correct, k0), f"{where}: ece changed its inputs; work on copies"
        assert math.isfinite(got), (f"{where}: ece returned {got}: an empty bin must add nothing "
                                    f"(skip it, do not divide by its zero count)")
        if abs(got - 100 * want) < 1e-4 and want > 1e-6:
            raise AssertionError(f"{where}: ece returned {got:.6f}, 100x the expected {want:.6f}: return a fraction, not %")
        assert abs(got - want) < 1e-5, (
            f"{where}: ece returned {got:.6f}, expected {want:.6f}. Check: equal-width bins (lo, hi] "
            f"(a confidence exactly on an edge belongs to the lower bin; 0 to the first), each bin's "
            f"|accuracy - mean confidence| weighted by the fraction of samples in it, empty bins skipped")
    print(f"✓ ece: agrees with ECE by definition and labkit.harm.ece on {len(todo[:cases] if cases else todo)} "
          f"hidden cases (random confidences, every bin count, bin edges, 0 and 1, empty bins)")
