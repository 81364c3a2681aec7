"""The math of 1-bit and ternary weights: tensors in, tensors out (no modules here).

- ``sign``: +1 where ``x >= 0``, else -1 (0 goes to +1: a bit has no third value).
- ``SignSTE`` / ``binarize``: ``sign`` forward; backward the straight-through estimator with
  clipping, ``grad * 1{|x| <= 1}`` (BinaryConnect, Courbariaux et al., NeurIPS 2015; BNN,
  Hubara et al., NeurIPS 2016). ``sign``'s true gradient is 0 almost everywhere.
- ``xnor_scale``: XNOR-Net's per-output-channel scale ``alpha = mean|w|`` (Rastegari et al.,
  ECCV 2016), the ``alpha`` that minimises ``||w - alpha * sign(w)||^2``; computed exactly as
  ``labkit.size``'s ``binary`` storage computes it, so the stored scale is bit-identical.
- ``ternarize``: TWN (Li et al., 2016): threshold ``delta = 0.7 * mean|w|``, codes in {-1, 0, +1},
  ``alpha`` = mean ``|w|`` over the kept weights; straight-through backward.
"""
from __future__ import annotations

import torch
from torch import Tensor

TWN_DELTA = 0.7          # TWN's threshold, in units of mean|w| (Li et al. 2016, eq. 13)


def sign(x: Tensor) -> Tensor:
    """+1.0 where ``x >= 0``, else -1.0 (same dtype): the bit a packed layer stores is ``x >= 0``."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class SignSTE(torch.autograd.Function):
    """``sign`` forward; the clipped straight-through estimator backward: ``grad * (|x| <= 1)``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def binarize(x: Tensor) -> Tensor:
    """``sign(x)`` whose gradient is the clipped straight-through estimator (the reference
    solution of notebook 04's exercise)."""
    return SignSTE.apply(x)


def _rows(w: Tensor) -> Tensor:
    return w.reshape(w.shape[0], -1)                     # (out, in * kh * kw)


def xnor_scale(w: Tensor) -> Tensor:
    """Per-output-channel ``alpha = mean|w|`` (dim 0 = output channel); differentiable."""
    r = _rows(w).abs()
    return r.sum(1) / max(r.shape[1], 1)


def ternarize(w: Tensor, delta: float = TWN_DELTA) -> tuple[Tensor, Tensor]:
    """TWN: ``(codes in {-1, 0, +1} with a straight-through gradient, alpha per output channel)``."""
    r = _rows(w)
    a = r.abs()
    thr = delta * a.mean(1, keepdim=True).detach()
    keep = (a > thr).to(w.dtype)
    alpha = (a * keep).sum(1) / keep.sum(1).clamp_min(1)
    codes = (torch.sign(r) * keep).reshape(w.shape)
    return w + (codes - w).detach(), alpha               # forward: codes; backward: identity


def quantized(w: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    """``(codes, alpha)`` of a weight: ``kind`` ``"binary"`` (sign, STE) or ``"ternary"`` (TWN)."""
    if kind == "binary":
        return binarize(w), xnor_scale(w)
    if kind == "ternary":
        return ternarize(w)
    raise ValueError(f"unknown weight kind {kind!r}: use 'binary' or 'ternary'")
