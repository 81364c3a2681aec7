"""The notebook 06 check: passes the reference solution, fails a stub and plausible mistakes."""
import pytest
import torch
from torch import nn

from labkit import checks


def solution(layer, rank):
    U, S, Vh = torch.linalg.svd(layer.weight.detach(), full_matrices=False)
    first, second = nn.Linear(layer.in_features, rank, bias=False), nn.Linear(rank, layer.out_features,
                                                                               bias=layer.bias is not None)
    with torch.no_grad():
        first.weight.copy_(Vh[:rank])
        second.weight.copy_(U[:, :rank] * S[:rank])
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    err = (S[rank:] ** 2).sum().sqrt() / (S ** 2).sum().sqrt()
    return nn.Sequential(first, second), float(err)


def test_solution_passes(capsys):
    checks.check_factor_linear(solution)
    assert "✓ factor_linear" in capsys.readouterr().out


def test_stub_fails_with_a_pointer():
    def stub(layer, rank):
        raise NotImplementedError()
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_factor_linear(stub)


def _wrong(change):
    def fn(layer, rank):
        return change(layer, rank, *solution(layer, rank))
    return fn


def _smallest(layer, rank, model, err):
    U, S, Vh = torch.linalg.svd(layer.weight.detach(), full_matrices=False)
    with torch.no_grad():
        model[0].weight.copy_(Vh[-rank:])
        model[1].weight.copy_(U[:, -rank:] * S[-rank:])
    return model, err


def _no_bias(layer, rank, model, err):
    if model[1].bias is not None:
        with torch.no_grad():
            model[1].bias.zero_()
    return model, err


def _bias_first(layer, rank, model, err):
    model[0].bias = nn.Parameter(torch.ones(rank))
    return model, err


@pytest.mark.parametrize("change, message", [
    (_smallest, "largest"),
    (_no_bias, "bias"),
    (_bias_first, "must not add a bias"),
    (lambda layer, rank, model, err: (model, err ** 2), "square root"),
    (lambda layer, rank, model, err: (model, 1 - err), "not the part kept"),
    (lambda layer, rank, model, err: (model[1], err), "exactly two"),
    (lambda layer, rank, model, err: model, "pair"),
])
def test_mistakes_fail_with_a_hint(change, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_factor_linear(_wrong(change))


def test_changing_the_layer_fails():
    def inplace(layer, rank):
        out = solution(layer, rank)
        with torch.no_grad():
            layer.weight.mul_(2)
        return out
    with pytest.raises(AssertionError, match="changed the layer"):
        checks.check_factor_linear(inplace)
