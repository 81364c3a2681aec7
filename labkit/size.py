"""Model size in bytes under a named storage format, and a real export that proves the count.

What is stored: every floating-point tensor of ``model.state_dict()``, in state_dict order
(parameters and float buffers such as BatchNorm running statistics). Integer buffers such as
``num_batches_tracked`` are not stored: inference does not need them. "Weights" are the float
tensors with ``dim >= 2`` (Conv/Linear weights, output channel = dim 0); "vectors" are the
others (biases, BatchNorm) and stay fp32 in every format except ``fp16``.

==================  ==========================================================================
``fp32``            4 bytes per value
``fp16``            2 bytes per value, every tensor
``int8``            weights: fp32 scale per output channel, then int8 codes (symmetric)
``nbit``            weights: fp32 scale per output channel, then ``bits``-bit codes packed densely
``sparse-csr``      weights as (out, -1) CSR: row pointers, column indices, fp32 nonzero values
``sparse-bitmask``  weights: one bit per position, then the fp32 nonzero values
``codebook``        weights: a full table of ``2**bits`` fp32 centroids, then packed indices
==================  ==========================================================================

``size_bytes`` counts arithmetically from shapes and nonzero counts; ``export`` writes the real
arrays (little-endian, numpy ``tobytes``; bits packed with ``np.packbits(bitorder="little")``)
tensor after tensor with no header: as in a firmware image, the architecture (names, shapes)
is the code, so ``load`` needs the model to decode a blob. Index widths follow from shapes:
CSR column indices are uint8/uint16/uint32 for up to 256/65536/more columns; row pointers are
uint16 when the layer has fewer than 65536 positions (so any nonzero count fits) else uint32.
Packed codes are unsigned: ``q + qmax`` for ``nbit`` (``q > 0`` when ``bits=1``), the centroid
index for ``codebook``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .quantization import quant
from . import validate
from .ui.plots import fmt_bytes

FORMATS = ("fp32", "fp16", "int8", "nbit", "sparse-csr", "sparse-bitmask", "codebook")
_NEEDS_BITS = ("nbit", "codebook")


def _check(fmt, bits) -> int | None:
    """The format's bits (``None`` where the format fixes its own width), or a one-line error."""
    validate.choice(fmt, FORMATS, "storage format")
    if fmt in _NEEDS_BITS and bits is None:
        raise ValueError(f"format {fmt!r} needs bits: pass bits=..., e.g. bits=4")
    b = None if bits is None else validate.bits(bits)
    if fmt == "codebook" and b > 16:
        raise ValueError(f"codebook bits must be at most 16 (a table of 2**bits centroids), got {b}: e.g. bits=4")
    return b if fmt in _NEEDS_BITS else None


def _state(obj) -> dict:
    """The state_dict of a module, or a checked state_dict."""
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if not isinstance(v, torch.Tensor):
                raise TypeError(f"state_dict entry {k!r} is a {type(v).__name__}, not a tensor: "
                                f"pass the model itself or model.state_dict()")
        return dict(obj)
    return validate.module(obj).state_dict()  # anything else raises, naming the fix


def _floats(obj) -> list[tuple[str, torch.Tensor]]:
    """The stored tensors: the floating-point entries of the state_dict, in order."""
    return [(k, v.detach()) for k, v in _state(obj).items() if v.is_floating_point()]


def _packed(n: int, bits: int) -> int:
    return (n * bits + 7) // 8


def _col_dtype(cols: int) -> np.dtype:
    return np.dtype("u1" if cols <= 256 else "<u2" if cols <= 65536 else "<u4")


def _ptr_dtype(numel: int) -> np.dtype:
    return np.dtype("<u2" if numel < 65536 else "<u4")


def _parts(t: torch.Tensor, fmt: str, b: int | None) -> tuple[int, int, int]:
    """Bytes of one stored tensor as (payload, index, metadata)."""
    n = t.numel()
    if fmt == "fp16":
        return 2 * n, 0, 0
    if fmt == "fp32" or t.dim() < 2:
        return 4 * n, 0, 0
    out = t.shape[0]
    if fmt == "int8":
        return n, 0, 4 * out
    if fmt == "nbit":
        return _packed(n, b), 0, 4 * out
    if fmt == "codebook":
        return _packed(n, b), 0, 4 * 2 ** b
    nnz = int(torch.count_nonzero(t))
    if fmt == "sparse-bitmask":
        return 4 * nnz, _packed(n, 1), 0
    cols = math.prod(t.shape[1:])
    return 4 * nnz, nnz * _col_dtype(cols).itemsize + (out + 1) * _ptr_dtype(n).itemsize, 0


def size_report(model, fmt, bits=None) -> list[dict]:
    """Per stored tensor: name, shape, numel, kind ("weight"/"vector"), bytes, and its split into
    ``payload`` (one entry per stored value: values or codes), ``index`` (where sparse values
    sit: bitmask, column indices, row pointers) and ``metadata`` (scales, centroid tables)."""
    b = _check(fmt, bits)
    rows = []
    for name, t in _floats(model):
        payload, index, meta = _parts(t, fmt, b)
        rows.append(dict(name=name, shape=tuple(t.shape), numel=t.numel(),
                         kind="weight" if t.dim() >= 2 else "vector", bytes=payload + index + meta,
                         payload=payload, index=index, metadata=meta))
    return rows


def size_bytes(model_or_state_dict, fmt="fp32", bits=None) -> int:
    """Bytes the model takes under ``fmt`` (see ``FORMATS``), counted from shapes, no export.

    ``bits`` is needed by ``nbit`` (1..32) and ``codebook`` (1..16); other formats ignore it."""
    return sum(r["bytes"] for r in size_report(model_or_state_dict, fmt, bits))


def _pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned ``bits``-bit codes packed densely, least significant bit first."""
    c = np.asarray(codes, dtype=np.uint64).reshape(-1, 1)
    planes = (c >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)
    return np.packbits(planes.astype(np.uint8).reshape(-1), bitorder="little")


def _unpack(buf: np.ndarray, n: int, bits: int) -> np.ndarray:
    planes = np.unpackbits(buf, count=n * bits, bitorder="little").reshape(n, bits)
    return (planes.astype(np.uint64) << np.arange(bits, dtype=np.uint64)).sum(1, dtype=np.uint64)


def _encode(t: torch.Tensor, fmt: str, b: int | None) -> list[np.ndarray]:
    """The typed arrays that store one tensor, in blob order."""
    w = t.cpu().float()
    a = w.numpy()
    if fmt == "fp16":
        return [a.astype("<f2")]
    if fmt == "fp32" or t.dim() < 2:
        return [a.astype("<f4")]
    if fmt in ("int8", "nbit"):
        q, scale = quant.quantize_symmetric(w, 8 if fmt == "int8" else b)
        if fmt == "int8":
            return [scale.numpy().astype("<f4"), q.numpy().astype(np.int8)]
        codes = (q > 0) if b == 1 else q + (2 ** (b - 1) - 1)
        return [scale.numpy().astype("<f4"), _pack(codes.numpy(), b)]
    if fmt == "codebook":
        codebook, idx = quant.kmeans_codebook(w, b)
        table = np.zeros(2 ** b, "<f4")
        table[:codebook.numel()] = codebook.numpy()
        return [table, _pack(idx.numpy(), b)]
    dense = a.reshape(t.shape[0], math.prod(t.shape[1:]))
    mask = dense != 0
    if fmt == "sparse-bitmask":
        return [np.packbits(mask.reshape(-1), bitorder="little"), dense[mask].astype("<f4")]
    ptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(_ptr_dtype(t.numel()))
    return [ptr, np.nonzero(mask)[1].astype(_col_dtype(dense.shape[1])), dense[mask].astype("<f4")]


def export(model, fmt="fp32", bits=None) -> bytes:
    """The real serialisation: each stored tensor's arrays, concatenated in state_dict order, no header."""
    b = _check(fmt, bits)
    return b"".join(arr.tobytes() for _, t in _floats(model) for arr in _encode(t, fmt, b))


class _Reader:
    """Reads typed arrays one after the other from a blob."""

    def __init__(self, blob):
        self.buf, self.pos = memoryview(blob).cast("B"), 0

    def take(self, dtype, count: int) -> np.ndarray:
        dtype = np.dtype(dtype)
        end = self.pos + dtype.itemsize * count
        if end > len(self.buf):
            raise ValueError(f"blob has only {len(self.buf)} bytes, too few for this model: "
                             f"load with the same model, fmt and bits as export")
        a = np.frombuffer(self.buf, dtype, count, self.pos).copy()
        self.pos = end
        return a


def _decode(r: _Reader, t: torch.Tensor, fmt: str, b: int | None) -> np.ndarray:
    """One tensor back as a float array of its shape (inverse of ``_encode``)."""
    n, shape = t.numel(), tuple(t.shape)
    if fmt == "fp16":
        return r.take("<f2", n).reshape(shape)
    if fmt == "fp32" or t.dim() < 2:
        return r.take("<f4", n).reshape(shape)
    out, cols = shape[0], math.prod(shape[1:])
    if fmt in ("int8", "nbit"):
        scale = torch.from_numpy(r.take("<f4", out))
        if fmt == "int8":
            q = r.take(np.int8, n).astype(np.int64)
        else:
            codes = _unpack(r.take(np.uint8, _packed(n, b)), n, b).astype(np.int64)
            q = 2 * codes - 1 if b == 1 else codes - (2 ** (b - 1) - 1)
        return quant.dequantize_symmetric(torch.from_numpy(q.reshape(shape)), scale).numpy()
    if fmt == "codebook":
        table = r.take("<f4", 2 ** b)
        return table[_unpack(r.take(np.uint8, _packed(n, b)), n, b).astype(np.int64)].reshape(shape)
    dense = np.zeros((out, cols), np.float32)
    if fmt == "sparse-bitmask":
        mask = np.unpackbits(r.take(np.uint8, _packed(n, 1)), count=n, bitorder="little").astype(bool)
        dense[mask.reshape(out, cols)] = r.take("<f4", int(mask.sum()))
        return dense.reshape(shape)
    ptr = r.take(_ptr_dtype(n), out + 1).astype(np.int64)
    col = r.take(_col_dtype(cols), int(ptr[-1])).astype(np.int64)
    dense[np.repeat(np.arange(out), np.diff(ptr)), col] = r.take("<f4", int(ptr[-1]))
    return dense.reshape(shape)


def load(blob: bytes, model, fmt, bits=None) -> dict:
    """Decode an ``export`` blob into a state_dict for ``model``'s shapes.

    fp32 and the sparse formats come back exactly; fp16 as its half-precision values; int8,
    nbit and codebook as their dequantised values. Integer buffers (not stored) are copied
    from ``model`` so ``model.load_state_dict(load(...))`` works. The blob must be consumed exactly.
    """
    b = _check(fmt, bits)
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError(f"blob must be bytes, got {type(blob).__name__}: pass export(model, fmt) "
                        f"or Path(file).read_bytes()")
    r = _Reader(blob)
    out = {}
    for name, t in _state(model).items():
        if t.is_floating_point():
            out[name] = torch.from_numpy(np.ascontiguousarray(_decode(r, t, fmt, b))).reshape(t.shape).to(t.dtype)
        else:
            out[name] = t.detach().clone()
    if r.pos != len(r.buf):
        raise ValueError(f"blob has {len(r.buf)} bytes but this model needs {r.pos} under {fmt!r}: "
                         f"load with the same model, fmt and bits as export")
    return out


def write(model, path, fmt, bits=None) -> int:
    """Write ``export(model, fmt, bits)`` to ``path``; returns the number of bytes written."""
    data = export(model, fmt, bits)
    Path(path).write_bytes(data)
    return len(data)


def human(n_bytes) -> str:
    """A byte count for people: ``"512 B"``, ``"1.50 KiB"``, ``"2.25 MiB"``, ``"1.00 GiB"``."""
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, (int, np.integer)) or n_bytes < 0:
        raise ValueError(f"n_bytes must be a whole number >= 0, got {n_bytes!r}: e.g. human(size_bytes(model))")
    return fmt_bytes(int(n_bytes))
