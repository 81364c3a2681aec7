"""check_kd_loss passes correct implementations and fails a stub and plausible wrong answers."""
import pytest
import torch
import torch.nn.functional as F

from labkit import checks
from labkit import distillation as distill


def tutorial_style(s, t, y, T, alpha):
    """The formulation of PyTorch's KD tutorial (soft targets, then sum over classes / batch)."""
    soft_targets = F.softmax(t / T, dim=-1)
    soft_prob = F.log_softmax(s / T, dim=-1)
    soft = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / s.size(0) * T ** 2
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def stub(s, t, y, T, alpha):
    raise NotImplementedError()


def no_t_squared(s, t, y, T, alpha):
    return distill.kd_loss(s, t, y, T, alpha) - alpha * distill.kd_loss(s, t, y, T, 1.0) * (1 - 1 / T ** 2)


def swapped_weights(s, t, y, T, alpha):
    return (1 - alpha) * distill.kd_loss(s, t, y, T, 1.0) + alpha * F.cross_entropy(s, y)


def mean_reduction(s, t, y, T, alpha):
    soft = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="mean") * T * T
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def reversed_kl(s, t, y, T, alpha):
    soft = F.kl_div(F.log_softmax(t / T, 1), F.softmax(s / T, 1), reduction="batchmean") * T * T
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def teacher_not_softened(s, t, y, T, alpha):
    soft = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t, 1), reduction="batchmean") * T * T
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def hard_term_at_T(s, t, y, T, alpha):
    return alpha * distill.kd_loss(s, t, y, T, 1.0) + (1 - alpha) * F.cross_entropy(s / T, y)


def detached(s, t, y, T, alpha):
    return distill.kd_loss(s.detach(), t, y, T, alpha)


@pytest.mark.parametrize("fn", [distill.kd_loss, tutorial_style])
def test_correct_implementations_pass(fn, capsys):
    assert checks.check_kd_loss(fn) is None
    assert "✓" in capsys.readouterr().out


def test_stub_fails_with_a_pointer_to_the_cell():
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_kd_loss(stub)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("wrong, hint", [
    (no_t_squared, "T\\*\\*2"), (swapped_weights, "alpha weighs"), (mean_reduction, "batch x classes"),
    (reversed_kl, "reversed"), (teacher_not_softened, "divide both"), (hard_term_at_T, "at T = 1"),
    (detached, "no gradient"),
])
def test_wrong_answers_fail_with_a_hint(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_kd_loss(wrong)


def test_non_scalar_is_refused():
    with pytest.raises(AssertionError, match="scalar"):
        checks.check_kd_loss(lambda s, t, y, T, a: distill.kd_loss(s, t, y, T, a) * torch.ones(len(s)))


# ---- attention_map ----------------------------------------------------------------------------

def attention_map(f):
    return torch.nn.functional.normalize(f.pow(2).mean(1).flatten(1), dim=1)


@pytest.mark.parametrize("wrong, needle", [
    (lambda f: f.pow(2).mean(1).flatten(1), "unit L2 norm"),
    (lambda f: torch.nn.functional.normalize(f.abs().mean(1).flatten(1), dim=1), "square"),
    (lambda f: torch.nn.functional.normalize(f.pow(2).mean((2, 3)), dim=1), "shape"),
    (lambda f: torch.nn.functional.normalize(f.pow(4).mean(1).flatten(1), dim=1), "max difference"),
    (lambda f: torch.nn.functional.normalize(f.pow_(2).mean(1).flatten(1), dim=1), "changed the features")])
def test_attention_map_check_fails_wrong_answers(wrong, needle):
    with pytest.raises(AssertionError, match=needle):
        checks.check_attention_map(wrong)


def test_attention_map_check_passes_the_solution(capsys):
    checks.check_attention_map(attention_map)
    assert "same attention" in capsys.readouterr().out
