"""Quantisation math on tensors (core: ``labkit.size`` and ``labkit.packing`` count and write its
codes; notebook 03's ``labkit.quantization.quant`` re-exports it): linear (symmetric and affine) codes, calibration ranges, the
straight-through estimator, and k-means weight sharing. Pure tensor functions, no modules.

Linear quantisation (Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference", CVPR 2018; Krishnamoorthi, arXiv:1806.08342, 2018;
Nagel et al., "A White Paper on Neural Network Quantization", arXiv:2106.08295, 2021):

- ``qrange(bits, scheme)``: the integer codes ``[qmin, qmax]``; ``symmetric`` is the narrow
  signed range ``[-(2**(b-1)-1), 2**(b-1)-1]`` with zero-point 0, ``affine`` the unsigned
  ``[0, 2**b - 1]`` with an integer zero-point.
- ``qparams(lo, hi, bits, scheme)``: ``(scale, zero_point)`` for a real range ``[lo, hi]``
  (widened to contain 0, so that 0 is exactly representable: zero padding, ReLU zeros).
- ``quantize`` / ``dequantize``: ``q = clamp(round(x / scale) + zero_point, qmin, qmax)`` and
  ``x_hat = (q - zero_point) * scale``; ``round`` is half-to-even, like ``torch.round`` and
  ``torch.fake_quantize_per_tensor_affine``.
- ``tensor_range(x, method)``: the calibration range: ``minmax``, ``percentile`` or ``mse``
  (the clipping that minimises the quantisation error); ``fake_quantize`` puts it together.
- ``fake_quantize_ste``: the same rounding with the straight-through estimator for training
  (Bengio et al., arXiv:1308.3432, 2013): gradient 1 inside the range, 0 where clamped.

Older, still used by ``labkit.size``:

- ``quantize_symmetric`` / ``dequantize_symmetric``: ``w ~ q * scale`` with integer codes
  ``q`` in ``[-qmax, qmax]``, ``qmax = 2**(bits-1) - 1``, one scale per channel (the
  symmetric per-channel weight scheme of Jacob et al., CVPR 2018, and Krishnamoorthi, 2018).
  ``bits=1`` is XNOR-Net binarisation (Rastegari et al., ECCV 2016): ``q = +-1``,
  ``scale = mean|w|`` per channel.
- ``kmeans_codebook``: the weight sharing of Deep Compression (Han et al., ICLR 2016):
  1-D k-means with linear initialisation; each weight becomes the index of its centroid.

How these codes are stored in bytes lives in ``labkit.size`` (counts) and ``labkit.packing`` (bytes).
"""
from __future__ import annotations

import torch
from torch import Tensor

from . import validate

SCHEMES = ("symmetric", "affine")
GRANULARITIES = ("tensor", "channel")
RANGE_METHODS = ("minmax", "percentile", "mse")


def _rows(w: Tensor, dim: int | None) -> Tensor:
    """``w`` as a 2-D (channels, rest) view: one row per channel, or one row if per-tensor."""
    if dim is None or w.dim() == 0:
        return w.reshape(1, -1)
    return w.movedim(dim, 0).reshape(w.shape[dim], -1)


def _expand(scale: Tensor, ndim: int, dim: int | None) -> Tensor:
    """``scale`` shaped to broadcast against a tensor with ``ndim`` dimensions along ``dim``."""
    if dim is None or scale.dim() == 0 or ndim == 0:
        return scale.reshape(())
    shape = [1] * ndim
    shape[dim] = -1
    return scale.reshape(shape)


def quantize_symmetric(w: Tensor, bits: int, dim: int | None = 0) -> tuple[Tensor, Tensor]:
    """Symmetric uniform quantisation: integer codes ``q`` (int64) and fp32 ``scale``.

    Per channel along ``dim`` (``None``: one scale for the whole tensor). For ``bits >= 2``:
    ``scale = max|w| / qmax`` (1.0 for an all-zero channel) and
    ``q = clamp(round(w / scale), -qmax, qmax)`` (Jacob et al., 2018). For ``bits == 1``:
    ``q = +1`` where ``w >= 0`` else ``-1`` and ``scale = mean|w|`` (XNOR-Net, Rastegari et al., 2016).
    """
    b = validate.bits(bits)
    w = torch.as_tensor(w).detach().float()
    rows = _rows(w, dim).abs()
    if b == 1:
        scale = rows.sum(1) / max(rows.shape[1], 1)
        q = torch.where(w >= 0, 1, -1).to(torch.int64)
    else:
        qmax = 2 ** (b - 1) - 1
        amax = torch.cat([rows, rows.new_zeros(rows.shape[0], 1)], 1).amax(1)  # safe when empty
        scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
        q = torch.round(w / _expand(scale, w.dim(), dim)).to(torch.int64).clamp(-qmax, qmax)
    return q, (scale.reshape(()) if dim is None or w.dim() == 0 else scale)


def dequantize_symmetric(q: Tensor, scale: Tensor, dim: int | None = 0) -> Tensor:
    """``q * scale`` as float32, ``scale`` broadcast along ``dim`` (the inverse of ``quantize_symmetric``)."""
    q = torch.as_tensor(q)
    scale = torch.as_tensor(scale, dtype=torch.float32)
    return q.float() * _expand(scale, q.dim(), dim)


def _nearest(x: Tensor, centroids: Tensor) -> Tensor:
    """Index of the nearest of the sorted ``centroids`` for every value of ``x`` (vectorised)."""
    return torch.bucketize(x, (centroids[1:] + centroids[:-1]) / 2)


def kmeans_codebook(w: Tensor, bits: int, iters: int = 20) -> tuple[Tensor, Tensor]:
    """Weight sharing by 1-D k-means (Deep Compression, Han et al., 2016): ``(codebook, indices)``.

    ``codebook`` is float32 with at most ``2**bits`` sorted entries, ``indices`` is int64 with
    the shape of ``w`` and ``codebook[indices]`` approximates ``w``. Centroids start evenly
    spaced between min and max (Han et al.'s linear initialisation) and take ``iters`` Lloyd
    steps; deterministic. If ``w`` has at most ``2**bits`` distinct values the codebook is
    exactly those values, so already-shared weights round-trip exactly.
    """
    b = validate.bits(bits)
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 0:
        raise ValueError(f"iters must be a whole number >= 0, got {iters!r}: e.g. iters=20")
    w = torch.as_tensor(w).detach().float()
    k = 2 ** b
    values, inverse = torch.unique(w.reshape(-1), return_inverse=True)
    if values.numel() <= k:
        return values, inverse.reshape(w.shape).to(torch.int64)
    x = w.reshape(-1).double()
    c = torch.linspace(x.min().item(), x.max().item(), k, dtype=torch.float64)
    for _ in range(iters):
        idx = _nearest(x, c)
        sums = torch.bincount(idx, weights=x, minlength=k)
        counts = torch.bincount(idx, minlength=k)
        new = torch.where(counts > 0, sums / counts.clamp(min=1), c).sort().values  # empty: stay
        if torch.equal(new, c):
            break
        c = new
    codebook = c.float()
    return codebook, _nearest(w.reshape(-1), codebook).reshape(w.shape)


# ---- linear quantisation: symmetric and affine --------------------------------------------------

def linear_bits(bits, scheme: str = "symmetric") -> int:
    """``bits`` checked for a linear ``scheme``: 1..32, and at least 2 for ``symmetric`` (its
    narrow range ``[-(2**(b-1)-1), 2**(b-1)-1]`` is empty at 1 bit: that is binarisation)."""
    validate.choice(scheme, SCHEMES, "quantisation scheme")
    b = validate.bits(bits)
    if scheme == "symmetric" and b < 2:
        raise ValueError("symmetric linear quantisation needs bits >= 2 (at 1 bit its range is {0}): "
                         "use scheme='affine', or quantize_symmetric(w, 1) for XNOR-style binarisation")
    return b


def qrange(bits, scheme: str = "symmetric") -> tuple[int, int]:
    """The integer codes ``(qmin, qmax)`` of a ``bits``-bit ``scheme`` (see the module docstring)."""
    b = linear_bits(bits, scheme)
    if scheme == "symmetric":
        return -(2 ** (b - 1) - 1), 2 ** (b - 1) - 1
    return 0, 2 ** b - 1


def qparams(lo, hi, bits, scheme: str = "symmetric") -> tuple[Tensor, Tensor]:
    """``(scale, zero_point)`` mapping the real range ``[lo, hi]`` onto ``qrange(bits, scheme)``.

    The range is first widened to contain 0. ``symmetric``: ``scale = max(|lo|, |hi|) / qmax``,
    ``zero_point = 0``. ``affine``: ``scale = (hi - lo) / (qmax - qmin)``,
    ``zero_point = clamp(round(qmin - lo / scale), qmin, qmax)``. An empty range (all zeros)
    gets ``scale = 1``. ``lo`` and ``hi`` may be tensors (one entry per channel); the result has
    their shape: ``scale`` float32, ``zero_point`` int64.
    """
    qmin, qmax = qrange(bits, scheme)
    lo = torch.as_tensor(lo, dtype=torch.float32).clamp(max=0)
    hi = torch.as_tensor(hi, dtype=torch.float32).clamp(min=0)
    if scheme == "symmetric":
        scale = torch.maximum(-lo, hi) / qmax
    else:
        scale = (hi - lo) / (qmax - qmin)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    if scheme == "symmetric":
        zero_point = torch.zeros_like(scale, dtype=torch.int64)
    else:
        zero_point = torch.round(qmin - lo / scale).clamp(qmin, qmax).to(torch.int64)
    return scale, zero_point


def _along(t, ndim: int, dim: int | None) -> Tensor:
    """A per-channel ``t`` shaped to broadcast along ``dim`` of an ``ndim``-d tensor (per-tensor: as is)."""
    t = torch.as_tensor(t)
    return t if dim is None or t.dim() == 0 else _expand(t, ndim, dim)


def quantize(x: Tensor, scale, zero_point, bits, scheme: str = "symmetric", dim: int | None = None) -> Tensor:
    """Integer codes (int64) ``clamp(round(x / scale) + zero_point, qmin, qmax)``.

    ``scale`` and ``zero_point`` are 0-d (per tensor) or 1-D with one entry per channel along ``dim``.
    """
    qmin, qmax = qrange(bits, scheme)
    x = torch.as_tensor(x).float()
    s = _along(torch.as_tensor(scale, dtype=torch.float32), x.dim(), dim)
    z = _along(zero_point, x.dim(), dim)
    return (torch.round(x / s) + z).clamp(qmin, qmax).to(torch.int64)


def dequantize(q: Tensor, scale, zero_point, dim: int | None = None) -> Tensor:
    """``(q - zero_point) * scale`` as float32 (the inverse of ``quantize`` up to rounding)."""
    q = torch.as_tensor(q)
    s = _along(torch.as_tensor(scale, dtype=torch.float32), q.dim(), dim)
    return (q - _along(zero_point, q.dim(), dim)).float() * s


def _fq(x: Tensor, scale: Tensor, zero_point: Tensor, qmin: int, qmax: int) -> Tensor:
    """Quantise-dequantise with broadcastable float ``scale`` / ``zero_point`` (no checks)."""
    return ((torch.round(x / scale) + zero_point).clamp(qmin, qmax) - zero_point) * scale


def _check_dim(x: Tensor, granularity: str, dim: int) -> int | None:
    validate.choice(granularity, GRANULARITIES, "granularity")
    if granularity == "tensor":
        return None
    if x.dim() == 0 or not -x.dim() <= dim < x.dim():
        raise ValueError(f"per-channel quantisation needs dim inside the tensor's {x.dim()} dimensions, got dim={dim}: "
                         f"use dim=0 (output channels of a weight) or granularity='tensor'")
    return dim % x.dim()


def tensor_range(x: Tensor, method: str = "minmax", bits: int = 8, scheme: str = "symmetric",
                 dim: int | None = None, percentile: float = 99.99, grid: int = 40) -> tuple[Tensor, Tensor]:
    """The calibration range ``(lo, hi)`` of ``x`` (per channel along ``dim``, or per tensor).

    - ``minmax``: the smallest and largest value: nothing is clipped, outliers stretch the step.
    - ``percentile``: the ``100 - percentile`` and ``percentile`` percentiles: clips the rare
      outliers (estimated on at most 2**20 evenly strided values per channel).
    - ``mse``: the min/max range shrunk by the factor in ``linspace(1/grid, 1, grid)`` that gives
      the smallest mean squared quantisation error at ``bits``/``scheme`` (Banner et al., "Post
      training 4-bit quantization", NeurIPS 2019, search the clipping value; here a grid).
    """
    validate.choice(method, RANGE_METHODS, "range method")
    x = torch.as_tensor(x).detach().float()
    rows = _rows(x, dim)                                          # (channels, values)
    if rows.shape[1] == 0:
        raise ValueError("cannot calibrate a range on an empty tensor: pass at least one value")
    if method == "minmax":
        return rows.amin(1), rows.amax(1)
    if method == "percentile":
        if not 50 < percentile <= 100:
            raise ValueError(f"percentile must be in (50, 100], got {percentile}: e.g. percentile=99.99")
        step = max(1, rows.shape[1] // 2 ** 20)
        sample = rows[:, ::step]
        p = torch.tensor([1 - percentile / 100, percentile / 100])
        lo, hi = torch.quantile(sample, p, dim=1)
        return lo, hi
    qmin, qmax = qrange(bits, scheme)
    lo0, hi0 = rows.amin(1), rows.amax(1)
    best, best_lo, best_hi = None, lo0, hi0
    for a in torch.linspace(1.0 / grid, 1.0, grid).flip(0).tolist():
        s, z = qparams(lo0 * a, hi0 * a, bits, scheme)
        err = (_fq(rows, s[:, None], z[:, None].float(), qmin, qmax) - rows).pow(2).mean(1)
        if best is None:
            best = err
            continue
        better = err < best
        best = torch.where(better, err, best)
        best_lo, best_hi = torch.where(better, lo0 * a, best_lo), torch.where(better, hi0 * a, best_hi)
    return best_lo, best_hi


def fake_quantize(x: Tensor, bits, scheme: str = "symmetric", granularity: str = "tensor", dim: int = 0,
                  method: str = "minmax") -> Tensor:
    """``x`` quantised and dequantised (float32, same shape): what a ``bits``-bit model computes with.

    ``granularity``: ``"tensor"`` (one scale) or ``"channel"`` (one scale per entry along ``dim``);
    ``method``: the calibration range (see ``tensor_range``).
    """
    qmin, qmax = qrange(bits, scheme)
    x = torch.as_tensor(x).detach().float()
    d = _check_dim(x, granularity, dim)
    lo, hi = tensor_range(x, method, bits, scheme, d)
    scale, zp = qparams(lo, hi, bits, scheme)
    if d is None:
        scale, zp = scale.reshape(()), zp.reshape(())
    return _fq(x, _along(scale, x.dim(), d), _along(zp, x.dim(), d).float(), qmin, qmax)


class _FakeQuantSTE(torch.autograd.Function):
    """Quantise-dequantise; backward: the clipped straight-through estimator."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        v = torch.round(x / scale) + zero_point
        ctx.save_for_backward((v >= qmin) & (v <= qmax))
        return (v.clamp(qmin, qmax) - zero_point) * scale

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None, None


def fake_quantize_ste(x: Tensor, scale, zero_point, qmin: int, qmax: int) -> Tensor:
    """Fake quantisation that trains: forward ``dequantize(quantize(x))``, backward the clipped
    straight-through estimator (gradient passed unchanged where ``round(x / scale) + zero_point``
    lies in ``[qmin, qmax]``, zero where it is clamped), as ``torch.fake_quantize_per_tensor_affine``
    does. ``scale`` / ``zero_point`` broadcast against ``x`` (per tensor or per channel) and get no gradient.
    """
    scale = torch.as_tensor(scale, dtype=x.dtype, device=x.device)
    zero_point = torch.as_tensor(zero_point, dtype=x.dtype, device=x.device)
    return _FakeQuantSTE.apply(x, scale.detach(), zero_point.detach(), int(qmin), int(qmax))
