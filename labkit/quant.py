"""Quantisation math on tensors: symmetric integer codes and k-means weight sharing.

- ``quantize_symmetric`` / ``dequantize_symmetric``: ``w ~ q * scale`` with integer codes
  ``q`` in ``[-qmax, qmax]``, ``qmax = 2**(bits-1) - 1``, one scale per channel (the
  symmetric per-channel weight scheme of Jacob et al., CVPR 2018, and Krishnamoorthi, 2018).
  ``bits=1`` is XNOR-Net binarisation (Rastegari et al., ECCV 2016): ``q = +-1``,
  ``scale = mean|w|`` per channel.
- ``kmeans_codebook``: the weight sharing of Deep Compression (Han et al., ICLR 2016):
  1-D k-means with linear initialisation; each weight becomes the index of its centroid.

How these codes are stored in bytes lives in ``labkit.size``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from . import validate


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
