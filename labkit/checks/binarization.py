"""Checks for notebook 04 (binarization): the binarize function with its straight-through
estimator, XNOR-Net's scale, and the XNOR–popcount kernels. The references are written here from
first principles (float64 arithmetic on +-1 values), not taken from ``labkit.binarization``: a bug
there must not let the same bug pass."""
from __future__ import annotations

import numpy as np
import torch

from ._common import call_student, hidden_rng


def _ref_sign(x: torch.Tensor) -> torch.Tensor:
    out = torch.ones_like(x, dtype=torch.float64)
    out[x < 0] = -1.0
    return out


def _case(rng, shape=None) -> torch.Tensor:
    shape = shape or tuple(rng.randint(1, 7) for _ in range(rng.randint(1, 4)))
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    x = torch.randn(shape, generator=g) * rng.choice([0.3, 1.0, 2.0])
    flat = x.reshape(-1)
    for v in (0.0, 1.0, -1.0, 0.999, -1.001):      # the edges: sign(0), the clipping boundary
        flat[rng.randrange(flat.numel())] = v
    return x


def check_binarize(binarize) -> None:
    """``binarize(x)``: forward ``+1`` where ``x >= 0`` else ``-1``; backward the clipped
    straight-through estimator ``grad * 1{|x| <= 1}`` (checked through autograd)."""
    rng = hidden_rng(41)
    for i in range(40):
        x = _case(rng).requires_grad_(True)
        y = call_student(binarize, "binarize", x)
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            raise AssertionError(f"case {i}: binarize must return a tensor of the input's shape {tuple(x.shape)}")
        ref = _ref_sign(x.detach())
        if (y.detach().double() == 0).any() and ((x.detach() == 0) & (y.detach() == 0)).any():
            raise AssertionError("binarize(0) returned 0: a bit has only two values; map x >= 0 to +1 "
                                 "(torch.sign gives 0 at 0, use torch.where(x >= 0, 1.0, -1.0))")
        if not torch.equal(y.detach().double(), ref):
            raise AssertionError(f"case {i}: forward values are wrong: +1 where x >= 0, -1 where x < 0")
        if not y.requires_grad:
            raise AssertionError("binarize's output has no gradient: wrap it in a torch.autograd.Function "
                                 "(or use the x + (sign - x).detach() trick) so the STE can pass one")
        g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
        up = torch.randn(x.shape, generator=g)
        (grad,) = torch.autograd.grad(y, x, up)
        want = up.double() * (x.detach().abs() <= 1).double()
        if torch.allclose(grad.double(), torch.zeros_like(want)) and want.abs().sum() > 0:
            raise AssertionError("the gradient is 0 everywhere: that is sign's true gradient; the STE passes "
                                 "the incoming gradient through where |x| <= 1")
        if torch.allclose(grad.double(), up.double()) and not torch.allclose(want, up.double()):
            raise AssertionError("the gradient is not clipped: where |x| > 1 it must be 0 (BNN's hard-tanh STE)")
        if torch.allclose(grad.double(), (x.detach().abs() <= 1).double()) and not torch.allclose(want, grad.double()):
            raise AssertionError("the gradient is the mask alone: multiply the incoming gradient by 1{|x| <= 1}")
        if not torch.allclose(grad.double(), want, atol=1e-6):
            raise AssertionError(f"case {i}: backward is wrong: it must be grad_output * 1{{|x| <= 1}} "
                                 f"(|x| == 1 counts as inside)")
    print("binarize: forward and straight-through gradient correct on 40 hidden cases")


def check_xnor_scale(xnor_scale) -> None:
    """``xnor_scale(w)``: per output channel (dim 0) the ``alpha`` minimising ``||w - alpha sign(w)||^2``."""
    rng = hidden_rng(42)
    for i in range(30):
        out = rng.randint(1, 9)
        w = _case(rng, (out, *[rng.randint(1, 5) for _ in range(rng.randint(1, 3))]))
        a = call_student(xnor_scale, "xnor_scale", w.clone())
        a = torch.as_tensor(a).detach().double()
        if a.shape != (out,):
            raise AssertionError(f"case {i}: one alpha per output channel: expected shape ({out},), got "
                                 f"{tuple(a.shape)} (reduce over every dim but dim 0)")
        rows = w.double().reshape(out, -1)
        want = rows.abs().mean(1)
        if torch.allclose(a, rows.mean(1), atol=1e-6) and not torch.allclose(want, rows.mean(1)):
            raise AssertionError("alpha is the mean of w: take the mean of |w| (sign(w) * w = |w|)")
        if torch.allclose(a, rows.abs().amax(1), atol=1e-6) and not torch.allclose(want, rows.abs().amax(1)):
            raise AssertionError("alpha is max|w|: that is the int8 scale; setting d/d alpha of "
                                 "||w - alpha sign(w)||^2 to 0 gives the mean of |w|")
        if not torch.allclose(a, want, rtol=1e-5, atol=1e-7):
            err = lambda s: ((rows - s.view(-1, 1) * _ref_sign(rows)) ** 2).sum(1)   # noqa: E731
            raise AssertionError(f"case {i}: alpha does not minimise ||w - alpha sign(w)||^2 (error "
                                 f"{float(err(a).sum()):.4g} vs {float(err(want).sum()):.4g} at the optimum)")
    print("xnor_scale: the least-squares alpha per channel on 30 hidden cases")


def _ints(y, what: str) -> np.ndarray:
    y = np.asarray(y.detach() if isinstance(y, torch.Tensor) else y)
    if not (np.issubdtype(y.dtype, np.integer) or np.array_equal(y, np.round(y))):
        raise AssertionError(f"{what} must return integers (a popcount kernel counts bits), got {y.dtype}")
    return y.astype(np.int64)


def check_xnor_linear(xnor_matmul) -> None:
    """``xnor_matmul(x, w)`` (real ``x`` ``(B, k)``, ``w`` ``(N, k)``) equals ``sign(x) @ sign(w).T``
    exactly (integers) on hidden random shapes, ``k`` a multiple of 64 or not."""
    rng = hidden_rng(43)
    for i in range(25):
        b, n = rng.randint(1, 9), rng.randint(1, 40)
        k = rng.choice([1, 7, 63, 64, 65, 128, 200, rng.randint(1, 700)])
        x, w = _case(rng, (b, k)), _case(rng, (n, k))
        got = _ints(call_student(xnor_matmul, "xnor_matmul", x.numpy(), w.clone()), "xnor_matmul")
        want = (_ref_sign(x) @ _ref_sign(w).T).numpy().astype(np.int64)
        if got.shape != want.shape:
            raise AssertionError(f"case {i}: shape {got.shape}, expected {want.shape} (batch, out)")
        if not np.array_equal(got, want):
            raise AssertionError(f"case {i} (batch {b}, k={k}, out {n}): {int((got != want).sum())} of {got.size} "
                                 f"dot products differ from the float +-1 matmul (padding bits? k - 2 * popcount?)")
    print("xnor_matmul: bit-exact against the float +-1 matmul on 25 hidden cases")


def check_xnor_conv(xnor_conv) -> None:
    """``xnor_conv(x, w, stride, padding)`` equals ``conv2d(sign(x) padded with -1, sign(w))`` exactly."""
    rng = hidden_rng(44)
    for i in range(15):
        b, c, n, kk = rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 9), rng.choice([1, 3, 5])
        h, wd = rng.randint(kk, 12), rng.randint(kk, 12)
        s, p = rng.choice([1, 2]), rng.choice([0, 1, 2])
        x, w = _case(rng, (b, c, h, wd)), _case(rng, (n, c, kk, kk))
        got = _ints(call_student(xnor_conv, "xnor_conv", x.numpy(), w.clone(), s, p), "xnor_conv")
        xp = torch.nn.functional.pad(_ref_sign(x), (p, p, p, p), value=-1.0)
        want = torch.nn.functional.conv2d(xp, _ref_sign(w), stride=s).numpy().round().astype(np.int64)
        if got.shape != want.shape:
            raise AssertionError(f"case {i}: shape {got.shape}, expected {want.shape} (batch, out, H, W)")
        if not np.array_equal(got, want):
            raise AssertionError(f"case {i} (stride {s}, padding {p}, kernel {kk}): {int((got != want).sum())} "
                                 f"outputs differ (padding must be the bit 0 = -1; patch order (C, kh, kw))")
    print("xnor_conv: bit-exact against the float +-1 convolution on 15 hidden cases")
