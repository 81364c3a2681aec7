"""The notebook 10 check: passes the reference solution, fails a stub and plausible mistakes."""
import pytest
import torch

from labkit import checks


def solution(conf, correct, bins):
    conf, correct = torch.as_tensor(conf).double(), torch.as_tensor(correct).double()
    b = (torch.ceil(conf * bins).long() - 1).clamp(0, bins - 1)
    total = 0.0
    for i in range(bins):
        m = b == i
        if m.any():
            total += float(m.double().mean() * (correct[m].mean() - conf[m].mean()).abs())
    return total


def test_solution_passes(capsys):
    checks.check_ece(solution)
    assert "✓ ece" in capsys.readouterr().out


def test_stub_fails_with_a_pointer():
    def stub(conf, correct, bins):
        raise NotImplementedError()
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_ece(stub)


def unweighted(conf, correct, bins):            # every non-empty bin counts the same
    conf, correct = torch.as_tensor(conf).double(), torch.as_tensor(correct).double()
    b = (torch.ceil(conf * bins).long() - 1).clamp(0, bins - 1)
    gaps = [float((correct[b == i].mean() - conf[b == i].mean()).abs()) for i in range(bins) if (b == i).any()]
    return sum(gaps) / len(gaps)


def left_closed(conf, correct, bins):           # [lo, hi): an edge goes to the upper bin
    conf, correct = torch.as_tensor(conf).double(), torch.as_tensor(correct).double()
    b = torch.floor(conf * bins).long().clamp(0, bins - 1)
    return sum(float((b == i).double().mean() * (correct[b == i].mean() - conf[b == i].mean()).abs())
               for i in range(bins) if (b == i).any())


def global_gap(conf, correct, bins):            # one bin whatever bins says
    return float((torch.as_tensor(correct).double().mean() - torch.as_tensor(conf).double().mean()).abs())


def percent(conf, correct, bins):
    return 100 * solution(conf, correct, bins)


def nan_on_empty(conf, correct, bins):          # divides by a zero count
    conf, correct = torch.as_tensor(conf).double(), torch.as_tensor(correct).double()
    b = (torch.ceil(conf * bins).long() - 1).clamp(0, bins - 1)
    return float(sum((b == i).double().mean() * ((correct * (b == i)).sum() / (b == i).sum() -
                                                 (conf * (b == i)).sum() / (b == i).sum()).abs() for i in range(bins)))


def drops_zero(conf, correct, bins):            # a confidence of 0 falls outside every bin
    conf, correct = torch.as_tensor(conf).double(), torch.as_tensor(correct).double()
    keep = conf > 0
    return solution(conf[keep], correct[keep], bins) * float(keep.double().mean()) if keep.any() else 0.0


def mutates(conf, correct, bins):
    out = solution(conf, correct, bins)
    conf.mul_(1.0)
    conf[0] = 0.5
    return out


@pytest.mark.parametrize("wrong", [unweighted, left_closed, global_gap, percent, nan_on_empty, drops_zero, mutates])
def test_plausible_mistakes_fail(wrong):
    with pytest.raises(AssertionError):
        checks.check_ece(wrong)
