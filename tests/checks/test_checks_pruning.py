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


# ---- remove_channels --------------------------------------------------------------------------

def remove_channels(conv, bn, nxt, keep, spatial=1):
    """The notebook's solution, written out."""
    from torch import nn
    new_conv = nn.Conv2d(conv.in_channels, len(keep), conv.kernel_size, conv.stride, conv.padding,
                         bias=conv.bias is not None)
    new_bn = nn.BatchNorm2d(len(keep), eps=bn.eps, momentum=bn.momentum)
    with torch.no_grad():
        new_conv.weight.copy_(conv.weight[keep])
        if conv.bias is not None:
            new_conv.bias.copy_(conv.bias[keep])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(new_bn, name).copy_(getattr(bn, name)[keep])
        if isinstance(nxt, nn.Linear):
            cols = (keep[:, None] * spatial + torch.arange(spatial)).reshape(-1)
            new_nxt = nn.Linear(len(cols), nxt.out_features, bias=nxt.bias is not None)
            new_nxt.weight.copy_(nxt.weight[:, cols])
        else:
            new_nxt = nn.Conv2d(len(keep), nxt.out_channels, nxt.kernel_size, nxt.stride, nxt.padding,
                                bias=nxt.bias is not None)
            new_nxt.weight.copy_(nxt.weight[:, keep])
        if nxt.bias is not None:
            new_nxt.bias.copy_(nxt.bias)
    new_bn.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new_conv.eval(), new_bn.eval(), new_nxt.eval()


def surgery_in_place(conv, bn, nxt, keep, spatial=1):
    out = remove_channels(conv, bn, nxt, keep, spatial)
    conv.out_channels = len(keep)
    return out


def surgery_forgets_bn_stats(conv, bn, nxt, keep, spatial=1):
    c, b, n = remove_channels(conv, bn, nxt, keep, spatial)
    with torch.no_grad():
        b.running_mean.zero_(); b.running_var.fill_(1.0)
    return c, b, n


def surgery_linear_channel_only(conv, bn, nxt, keep, spatial=1):
    from torch import nn
    if isinstance(nxt, nn.Linear) and spatial > 1:      # picks column c, not c's block of `spatial` columns
        c, b, _ = remove_channels(conv, bn, nxt, keep, spatial)
        cols = torch.arange(len(keep) * spatial)
        n = nn.Linear(len(cols), nxt.out_features, bias=nxt.bias is not None)
        with torch.no_grad():
            n.weight.copy_(nxt.weight[:, cols])
            if nxt.bias is not None:
                n.bias.copy_(nxt.bias)
        return c, b, n.eval()
    return remove_channels(conv, bn, nxt, keep, spatial)


def surgery_no_attr(conv, bn, nxt, keep, spatial=1):
    import copy
    c, b, n = copy.deepcopy(conv), copy.deepcopy(bn), copy.deepcopy(nxt)
    ref = remove_channels(conv, bn, nxt, keep, spatial)
    c.weight, b.weight = ref[0].weight, ref[1].weight          # tensors cut, attributes stale
    return c, b, n


def test_remove_channels_check_passes_the_solution(capsys):
    checks.check_remove_channels(remove_channels)
    assert "matches Torch-Pruning" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, needle", [
    (stub, "not implemented"), (surgery_in_place, "changed the modules"),
    (surgery_forgets_bn_stats, "bn.running_mean"), (surgery_linear_channel_only, "nxt.weight"),
    (surgery_no_attr, "out_channels")])
def test_remove_channels_check_fails_wrong_answers(wrong, needle):
    with pytest.raises(AssertionError, match=needle):
        checks.check_remove_channels(wrong)
