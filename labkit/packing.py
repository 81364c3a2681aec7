"""The real bytes behind ``labkit.size``'s counts: ``export`` a model under a storage plan
(``labkit.plan``), ``load`` it back, ``write`` it to a file (the layouts are documented in
``labkit.size``; the arrays that store each tensor are built in ``labkit.plan``, which both share).

Every count of ``size.size_bytes`` is proved equal to ``len(export(...))`` in the tests, and
``load(export(model))`` gives back the tensors the plan represents.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from . import coding
from .plan import (Plan, Storage, _as_plan, _encode, _label, _pack, _packed, _ptr_dtype, _col_dtype,  # noqa: F401
                   _raw, _state, _stored)


# ---- export --------------------------------------------------------------------------------------

def export(model, fmt="fp32", bits=None) -> bytes:
    """The real serialisation: each stored tensor's arrays, concatenated in state_dict order, no
    header, then through the plan's coder if it has one. ``fmt``/``bits`` as for ``size_bytes``."""
    p = _as_plan(fmt, bits)
    return coding.encode(_raw(model, p), p.coder)


# ---- load ----------------------------------------------------------------------------------------

def _unpack(buf: np.ndarray, n: int, bits: int) -> np.ndarray:
    planes = np.unpackbits(buf, count=n * bits, bitorder="little").reshape(n, bits)
    return (planes.astype(np.uint64) << np.arange(bits, dtype=np.uint64)).sum(1, dtype=np.uint64)


class _Reader:
    """Reads typed arrays one after the other from a blob."""

    def __init__(self, blob, fmt):
        self.buf, self.pos, self.fmt = memoryview(blob).cast("B"), 0, _label(fmt)

    def take(self, dtype, count: int) -> np.ndarray:
        dtype = np.dtype(dtype)
        end = self.pos + dtype.itemsize * count
        if end > len(self.buf):
            raise ValueError(f"blob has only {len(self.buf)} bytes, too few for this model under {self.fmt}: "
                             f"load with the same model, fmt and bits as export")
        a = np.frombuffer(self.buf, dtype, count, self.pos).copy()
        self.pos = end
        return a

    def bits(self, n: int, bits: int) -> np.ndarray:
        return _unpack(self.take(np.uint8, _packed(n, bits)), n, bits).astype(np.int64)

    def corrupt(self, what: str) -> ValueError:
        return ValueError(f"corrupt blob: {what} at byte {self.pos}: load with the same model, fmt and bits as export")


def _positions(r: _Reader, s: Storage, out: int, cols: int) -> np.ndarray:
    """Read a sparse index; the flat positions of the stored entries, checked."""
    n = out * cols
    if s.sparse == "bitmask":
        return np.flatnonzero(np.unpackbits(r.take(np.uint8, _packed(n, 1)), count=n, bitorder="little"))
    if s.sparse == "csr":
        ptr = r.take(_ptr_dtype(n), out + 1).astype(np.int64)
        counts = np.diff(ptr)
        if ptr[0] != 0 or (counts < 0).any() or (counts > cols).any():
            raise r.corrupt("row pointers that are not a valid CSR")
        col = r.take(_col_dtype(cols), int(ptr[-1])).astype(np.int64)
        pos = np.repeat(np.arange(out), counts) * cols + col
        if (col >= cols).any() or (np.diff(pos) <= 0).any():
            raise r.corrupt("column indices out of range or out of order")
        return pos
    count = int(r.take("<u4", 1)[0])
    if count > n:
        raise r.corrupt(f"{count} relative-index entries for {n} positions")
    pos = np.cumsum(r.bits(count, s.index_bits) + 1) - 1
    if count and pos[-1] >= n:
        raise r.corrupt(f"relative indices that run past the tensor's {n} positions")
    return pos


def _decode(r: _Reader, t: torch.Tensor, s: Storage) -> np.ndarray:
    """One tensor back as a float32 array of its shape (inverse of ``_encode``)."""
    n, shape = t.numel(), tuple(t.shape)
    if t.dim() < 2:
        return r.take("<f4" if s.values == "fp32" else "<f2", n).astype(np.float32).reshape(shape)
    out, cols, b = shape[0], math.prod(shape[1:]), s.bits
    meta = {}
    if s.values == "codebook":
        meta["table"] = r.take("<f4", 2 ** b)
    elif s.values not in ("fp32", "fp16"):
        meta["scale"] = torch.from_numpy(r.take("<f4", out))
        if s.scheme == "affine":
            meta["zero"] = torch.from_numpy(r.bits(out, b))
    pos = _positions(r, s, out, cols) if s.sparse else np.arange(n)
    rows, m = torch.from_numpy(pos // max(cols, 1)), len(pos)
    if s.values in ("fp32", "fp16"):
        v = r.take("<f4" if s.values == "fp32" else "<f2", m).astype(np.float32)
    elif s.values == "codebook":
        v = meta["table"][r.bits(m, b)]
    else:
        if s.values == "binary":
            q = 2 * r.bits(m, 1) - 1
        elif s.values == "int8":
            q = r.take(np.int8, m).astype(np.int64)
        else:
            q = r.bits(m, b) - (meta["zero"][rows].numpy() if s.scheme == "affine" else 2 ** (b - 1) - 1)
        if s.values != "binary" and s.scheme == "symmetric" and (np.abs(q) > 2 ** ((b or 8) - 1) - 1).any():
            raise r.corrupt("a code outside the symmetric range")
        v = (torch.from_numpy(q).float() * meta["scale"][rows]).numpy()
    dense = np.zeros(n, np.float32)
    dense[pos] = v
    return dense.reshape(shape)


def load(blob: bytes, model, fmt, bits=None) -> dict:
    """Decode an ``export`` blob into a state_dict for ``model``'s shapes (``fmt``/``bits`` as for ``export``).

    fp32 and the sparse structure come back exactly; fp16 as its half-precision values; int8,
    int, binary and codebook values as their dequantised values. Integer buffers (not stored) are
    copied from ``model`` so ``model.load_state_dict(load(...))`` works. The blob must be consumed exactly.
    """
    p = _as_plan(fmt, bits)
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError(f"blob must be bytes, got {type(blob).__name__}: pass export(model, fmt) "
                        f"or Path(file).read_bytes()")
    r = _Reader(coding.decode(blob, p.coder) if p.coder else blob, fmt)
    stored = {k: s for k, _, s in _stored(model, p)}
    out = {}
    for name, t in _state(model).items():
        if name in stored:
            out[name] = torch.from_numpy(np.ascontiguousarray(_decode(r, t, stored[name]))).reshape(t.shape).to(t.dtype)
        else:
            out[name] = t.detach().clone()
    if r.pos != len(r.buf):
        raise ValueError(f"blob has {len(r.buf)} bytes but this model needs {r.pos} under {_label(fmt)}: "
                         f"load with the same model, fmt and bits as export")
    return out


def write(model, path, fmt, bits=None) -> int:
    """Write ``export(model, fmt, bits)`` to ``path``; returns the number of bytes written."""
    data = export(model, fmt, bits)
    Path(path).write_bytes(data)
    return len(data)
