"""The pruning checks pass the reference solutions and fail a stub and plausible wrong answers."""
import math

import pytest
import torch

from labkit import checks
from labkit import pruning as prune
from labkit.checks import pruning


def stub(*args):
    raise NotImplementedError()


# ---- magnitude_mask --------------------------------------------------------------------------

def floor_count(w, sparsity):
    k = math.floor(sparsity * w.numel())
    mask = torch.ones(w.numel(), dtype=torch.bool)
    mask[torch.argsort(w.abs().reshape(-1), stable=True)[:k]] = False
    return mask.reshape(w.shape)


def threshold(w, sparsity):          # drops every weight tied with the k-th smallest
    k = round(sparsity * w.numel())
    if k == 0:
        return torch.ones_like(w, dtype=torch.bool)
    tau = w.abs().reshape(-1).kthvalue(k).values
    return w.abs() > tau


def signed(w, sparsity):
    k = round(sparsity * w.numel())
    mask = torch.ones(w.numel(), dtype=torch.bool)
    mask[torch.argsort(w.reshape(-1), stable=True)[:k]] = False
    return mask.reshape(w.shape)


def keeps_smallest(w, sparsity):
    k = round(sparsity * w.numel())
    mask = torch.ones(w.numel(), dtype=torch.bool)
    mask[torch.argsort(w.abs().reshape(-1), descending=True, stable=True)[:k]] = False
    return mask.reshape(w.shape)


def float_mask(w, sparsity):
    return prune.magnitude_mask(w, sparsity).float()


def flat_mask(w, sparsity):
    return prune.magnitude_mask(w, sparsity).reshape(-1)


def in_place(w, sparsity):
    mask = prune.magnitude_mask(w, sparsity)
    w.mul_(mask)
    return mask


def test_magnitude_reference_passes(capsys):
    assert checks.check_magnitude_mask(prune.magnitude_mask) is None
    assert "✓ magnitude_mask gives the exact sparsity on 80 hidden tensors" in capsys.readouterr().out


def test_magnitude_stub_fails_with_a_pointer_to_the_cell():
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_magnitude_mask(stub)


@pytest.mark.parametrize("wrong, says", [(floor_count, "round"), (threshold, "ties"), (signed, "magnitude"),
                                         (keeps_smallest, "SMALLEST"), (float_mask, "bool"), (flat_mask, "shape"),
                                         (in_place, "changed")])
def test_magnitude_wrong_answers_fail_with_a_hint(wrong, says):
    with pytest.raises(AssertionError, match=says):
        checks.check_magnitude_mask(wrong)


def test_magnitude_cases_cover_the_hazards():
    cases = pruning.magnitude_cases()
    kinds = {k for k, _, _ in cases}
    assert kinds == {"normal", "ties", "constant", "zeros"}
    assert any(s == 0.0 for _, _, s in cases) and any(s >= 0.95 for _, _, s in cases)
    assert any(w.dim() == 4 for _, w, _ in cases) and any(w.dim() == 1 for _, w, _ in cases)
    assert any(round(s * w.numel()) != math.floor(s * w.numel()) for _, w, s in cases)


# ---- filter_importance -----------------------------------------------------------------------

def no_sqrt(w, p):
    return (w.abs() ** p).reshape(w.shape[0], -1).sum(1)


def no_abs(w, p):
    return (w ** p).reshape(w.shape[0], -1).sum(1) ** (1 / p)


def mean_not_sum(w, p):
    return (w.abs() ** p).reshape(w.shape[0], -1).mean(1) ** (1 / p)


def wrong_dim(w, p):
    return torch.linalg.vector_norm(w.reshape(w.shape[0], w.shape[1], -1), ord=p, dim=(0, 2))


def always_l2(w, p):
    return torch.linalg.vector_norm(w.reshape(w.shape[0], -1), ord=2, dim=1)


def test_importance_reference_passes(capsys):
    assert checks.check_filter_importance(prune.filter_importance) is None
    assert "✓ filter_importance gives the L1 and L2 norms of every filter on 40 hidden" in capsys.readouterr().out


def test_importance_stub_fails():
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_filter_importance(stub)


@pytest.mark.parametrize("wrong, says", [(no_sqrt, "square root"), (no_abs, "magnitudes"), (mean_not_sum, "average"),
                                         (wrong_dim, "shape"), (always_l2, "L1 norm")])
def test_importance_wrong_answers_fail_with_a_hint(wrong, says):
    with pytest.raises(AssertionError, match=says):
        checks.check_filter_importance(wrong)


def test_importance_cases_cover_conv_depthwise_linear_and_both_norms():
    cases = pruning.importance_cases()
    assert {p for _, p in cases} == {1, 2}
    assert any(w.dim() == 2 for w, _ in cases) and any(w.dim() == 4 and w.shape[1] == 1 for w, _ in cases)
