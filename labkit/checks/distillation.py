"""Checks for notebook 05 (knowledge distillation): Hinton et al.'s loss."""
from __future__ import annotations

import math

import torch

from ._common import call_student, hidden_rng


def reference_kd_loss(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    """Hinton et al. (2015), written out in float64 from the definitions (no torch KL helper):
    ``alpha * T**2 * mean_batch sum_c p_t (log p_t - log p_s) + (1 - alpha) * mean_batch -log softmax(s)[y]``."""
    s, t = s.double(), t.double()
    log_p_s = s / T - torch.logsumexp(s / T, dim=1, keepdim=True)
    log_p_t = t / T - torch.logsumexp(t / T, dim=1, keepdim=True)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(1).mean()
    ce = -(s - torch.logsumexp(s, dim=1, keepdim=True)).gather(1, y[:, None]).mean()
    return alpha * T * T * kl + (1 - alpha) * ce


def reference_grad(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    """The closed-form gradient w.r.t. the student's logits (Hinton et al., eq. 2, times T**2):
    ``(alpha * T * (p_s^T - p_t^T) + (1 - alpha) * (p_s - onehot(y))) / batch``."""
    s, t = s.double(), t.double()
    p_s_T, p_t_T, p_s = torch.softmax(s / T, 1), torch.softmax(t / T, 1), torch.softmax(s, 1)
    onehot = torch.nn.functional.one_hot(y, s.shape[1]).double()
    return (alpha * T * (p_s_T - p_t_T) + (1 - alpha) * (p_s - onehot)) / s.shape[0]


def _case(rng, i: int):
    """Random logits with a realistic spread; T includes 1 and large values, alpha the ends."""
    batch, classes = rng.choice([1, 3, 16, 64]), rng.choice([2, 10, 10, 37])
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    scale_s, scale_t = rng.choice([0.5, 2.0, 5.0]), rng.choice([1.0, 4.0, 10.0])
    s = torch.randn(batch, classes, generator=g) * scale_s
    t = torch.randn(batch, classes, generator=g) * scale_t
    y = torch.randint(0, classes, (batch,), generator=g)
    T = [1.0, 20.0, 100.0][i] if i < 3 else rng.choice([1.0, 2.0, 3.5, 4.0, 8.0, 20.0, 50.0])
    alpha = [0.9, 1.0, 0.5][i] if i < 3 else rng.choice([0.0, 0.1, 0.5, 0.7, 0.9, 1.0])
    return s, t, y, T, alpha


def _hint(got: float, want: float, s, t, y, T, alpha) -> str:
    """A guess at the mistake, from how the wrong value relates to the candidates."""
    soft = float(reference_kd_loss(s, t, y, T, 1.0))
    hard = float(reference_kd_loss(s, t, y, T, 0.0))
    B, C = s.shape
    guesses = [
        (alpha * soft / (T * T) + (1 - alpha) * hard, "the soft term lacks the T**2 factor"),
        ((1 - alpha) * soft + alpha * hard, "alpha weighs the distillation (soft) term, 1 - alpha the label term"),
        (alpha * soft * B + (1 - alpha) * hard, "average the KL divergence over the batch (reduction='batchmean')"),
        (alpha * soft / C + (1 - alpha) * hard, "sum the KL divergence over classes, then average over the batch "
                                                 "(reduction='mean' divides by batch x classes)"),
    ]
    rev = reference_kd_loss(t, s, y, T, 1.0)  # KL(p_s || p_t) instead of KL(p_t || p_s)
    guesses.append((alpha * float(rev) + (1 - alpha) * hard,
                    "the KL direction is reversed: it is KL(teacher || student) = sum p_t (log p_t - log p_s)"))
    for value, text in guesses:
        if abs(got - value) <= 1e-4 * max(1.0, abs(value)) and abs(value - want) > 1e-4 * max(1.0, abs(want)):
            return text
    return ("divide both the student's and the teacher's logits by T before the softmax, use log_softmax for "
            "the student, and add (1 - alpha) * cross_entropy(student_logits, labels) at T = 1")


def check_kd_loss(kd_loss, cases: int = 80) -> None:
    """Check ``kd_loss(student_logits, teacher_logits, labels, T, alpha) -> scalar tensor`` against
    an independent float64 reference on random logits, T from 1 to 100, alpha from 0 to 1: the
    value, and the gradient w.r.t. the student's logits (its scale must not shrink with T)."""
    rng = hidden_rng(5)
    for i in range(cases):
        s, t, y, T, alpha = _case(rng, i)
        s_in = s.clone().requires_grad_(True)
        got = call_student(kd_loss, "kd_loss", s_in, t.clone(), y.clone(), T, alpha)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise AssertionError(f"kd_loss must return a scalar tensor (one number for the batch), got "
                                 f"{type(got).__name__}{'' if not isinstance(got, torch.Tensor) else ' of shape ' + str(tuple(got.shape))}")
        want = float(reference_kd_loss(s, t, y, T, alpha))
        value = float(got.detach())
        where = f"case {i}: batch {s.shape[0]}, {s.shape[1]} classes, T={T:g}, alpha={alpha:g}"
        if not math.isfinite(value) or abs(value - want) > 1e-4 * max(1.0, abs(want)):
            raise AssertionError(f"{where}: kd_loss = {value:.6g}, expected {want:.6g}. "
                                 f"Hint: {_hint(value, want, s, t, y, T, alpha)}.")
        if not got.requires_grad:
            raise AssertionError(f"{where}: the loss has no gradient: compute it with torch operations on "
                                 f"student_logits (no .detach(), .item() or numpy)")
        (grad,) = torch.autograd.grad(got.reshape(()), s_in)
        want_grad = reference_grad(s, t, y, T, alpha)
        err = float((grad.double() - want_grad).abs().max())
        if err > 1e-5 * max(1.0, float(want_grad.abs().max())):
            raise AssertionError(f"{where}: the gradient w.r.t. the student's logits is off by {err:.3g} "
                                 f"(expected (alpha*T*(p_s^T - p_t^T) + (1-alpha)*(p_s - onehot)) / batch). "
                                 f"Hint: only the student's logits should carry gradient; keep the T**2 factor")
    # the gradient's scale: with T**2, the soft term's gradient stays O(1) as T grows (Hinton et al., sec. 2.1)
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    s, t = torch.randn(64, 10, generator=g) * 3, torch.randn(64, 10, generator=g) * 3
    y = torch.randint(0, 10, (64,), generator=g)
    norms = []
    for T in (1.0, 10.0, 100.0):
        s_in = s.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(call_student(kd_loss, "kd_loss", s_in, t, y, T, 1.0).reshape(()), s_in)
        norms.append(float(grad.norm()))
    if not norms[2] > 0.05 * norms[1]:
        raise AssertionError(f"the soft term's gradient shrinks with T (norm {norms[1]:.3g} at T=10, {norms[2]:.3g} at "
                             f"T=100): multiply the KL term by T**2")
    print(f"✓ kd_loss matches the reference (value and gradient) on {cases} random cases, T from 1 to 100, "
          f"alpha from 0 to 1; soft-gradient norm at T = 1, 10, 100: {norms[0]:.3f}, {norms[1]:.3f}, {norms[2]:.3f}")


# ---- attention maps ---------------------------------------------------------------------------

def check_attention_map(attention_map, cases: int = 40) -> None:
    """Check ``attention_map(features) -> (batch, H*W)``: the mean over channels of the squared
    activations, flattened, each row scaled to unit L2 norm (Zagoruyko & Komodakis, ICLR 2017),
    against ``labkit.distillation.attention_map`` on hidden feature maps, plus the properties that
    make it comparable between a thin student and a wide teacher."""
    from ..distillation.losses import attention_map as reference
    rng = hidden_rng(51)
    for i in range(cases):
        g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
        n, c, h = rng.randint(1, 6), rng.choice([1, 3, 8, 32, 64]), rng.choice([1, 4, 7, 14])
        w = h if rng.random() < 0.7 else rng.choice([2, 5, 9])
        f = torch.randn(n, c, h, w, generator=g) * rng.choice([0.01, 1.0, 50.0])
        if i % 4 == 3:
            f = torch.relu(f)                                  # post-ReLU features, as a network's are
        where = f"case {i} (features {tuple(f.shape)})"
        before = f.clone()
        got = call_student(attention_map, "attention_map", f)
        if not torch.equal(f, before):
            raise AssertionError(f"{where}: your function changed the features; compute on a copy (f.pow(2), not f.pow_(2))")
        want = reference(f)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise AssertionError(f"{where}: got {shape}, expected a tensor of shape {tuple(want.shape)}: one flattened "
                                 f"H*W map per image (average over the channel dimension, then flatten(1))")
        if not torch.allclose(got, want, rtol=1e-4, atol=1e-6):
            norms = got.norm(dim=1)
            if not torch.allclose(norms, torch.ones_like(norms), atol=1e-4):
                hint = "scale each image's map to unit L2 norm (F.normalize(..., dim=1))"
            elif torch.allclose(got, torch.nn.functional.normalize(f.abs().mean(1).flatten(1), dim=1), atol=1e-5):
                hint = "square the activations (p = 2) before averaging over channels"
            else:
                hint = "normalize(mean over channels of features**2, flattened)"
            raise AssertionError(f"{where}: max difference {float((got - want).abs().max()):.3g} from the reference. "
                                 f"Hint: {hint}.")
    # what the map is for: the same attention whatever the channel count and the activations' scale
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    thin = torch.randn(2, 4, 7, 7, generator=g)
    wide = thin.repeat(1, 16, 1, 1) * 3.0
    if not torch.allclose(call_student(attention_map, "attention_map", thin),
                          call_student(attention_map, "attention_map", wide), atol=1e-5):
        raise AssertionError("a 64-channel copy of a 4-channel map (scaled by 3) must give the same attention map: "
                             "average over channels and normalize")
    print(f"✓ attention_map matches the reference on {cases} hidden feature maps, and a 16x wider, 3x larger copy "
          f"of a map gives the same attention")
