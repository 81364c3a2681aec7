"""Storage plans: how each tensor of a model is stored (``Storage``, ``Plan``, the named presets
``plan(name, bits)``) and the byte layout both ``labkit.size`` (counting) and ``labkit.packing``
(the real export, load and write) follow. A leaf of the core: it imports neither of them.

The layouts themselves are documented in ``labkit.size``. Here:

- ``Storage``, ``Plan``, ``plan``, ``FORMATS``, ``VALUES``, ``SPARSE``, ``CODERS``: the plans.
- the layout helpers: packed widths, CSR index dtypes, Deep Compression's relative indices, and
  the arrays that store one tensor (``_encode``) and a whole model (``_raw``: the stream a
  coder compresses, which ``size`` measures and ``packing`` writes).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import torch
from torch import nn

from . import coding, quant, validate

FORMATS = ("fp32", "fp16", "int8", "nbit", "sparse-csr", "sparse-bitmask", "codebook")
VALUES = ("fp32", "fp16", "int8", "int", "codebook", "binary")
SPARSE = (None, "csr", "bitmask", "relative")
CODERS = coding.CODERS
_NEEDS_BITS = ("nbit", "codebook")
_WIDTH = {"fp32": 32, "fp16": 16, "int8": 8, "binary": 1}       # bits per stored value


# ---- plans ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Storage:
    """How one tensor is stored: ``values`` (``VALUES``) with their ``bits`` and ``scheme`` (for
    ``int``), optionally ``sparse`` (``SPARSE``; ``index_bits`` for ``relative``). See the module docstring."""
    values: str = "fp32"
    bits: int | None = None
    scheme: str = "symmetric"
    sparse: str | None = None
    index_bits: int | None = None

    def __post_init__(self):
        v = validate.choice(self.values, VALUES, "storage values")
        if v in ("int", "codebook"):
            if self.bits is None:
                raise ValueError(f"values={v!r} needs bits: pass bits=..., e.g. Storage({v!r}, bits=4)")
            object.__setattr__(self, "bits", validate.bits(self.bits))
        elif self.bits is not None:
            raise ValueError(f"values={v!r} has a fixed width: leave bits=None (bits is for 'int' and 'codebook')")
        validate.choice(self.scheme, quant.SCHEMES, "quantisation scheme")
        if self.scheme != "symmetric" and v != "int":
            raise ValueError(f"scheme={self.scheme!r} is for values='int' only: drop scheme=, or use Storage('int', bits=...)")
        if v == "int" and self.scheme == "symmetric" and self.bits == 1:
            raise ValueError("symmetric int needs bits >= 2 (its 1-bit range is {0}): use Storage('binary') "
                             "for 1 bit per weight, or scheme='affine'")
        if v == "codebook" and self.bits > 16:
            raise ValueError(f"codebook bits must be at most 16 (a table of 2**bits centroids), got {self.bits}: e.g. bits=4")
        validate.choice(self.sparse, SPARSE, "sparsity")
        if self.sparse != "relative":
            if self.index_bits is not None:
                raise ValueError("index_bits is for sparse='relative' only: drop index_bits, or pass sparse='relative'")
            return
        if self.index_bits is None:
            raise ValueError("sparse='relative' needs index_bits: pass index_bits=..., e.g. index_bits=4 (Han et al. use 4 or 8)")
        if isinstance(self.index_bits, bool) or not isinstance(self.index_bits, int) or not 1 <= self.index_bits <= 16:
            raise ValueError(f"index_bits must be a whole number from 1 to 16, got {self.index_bits!r}: e.g. index_bits=4")
        if v == "binary":
            raise ValueError("binary values cannot store the 0 of a relative-index filler: use sparse='csr' or 'bitmask'")

    @property
    def name(self) -> str:
        """A short label, e.g. ``"int4"``, ``"int4-affine"``, ``"codebook4+relative4"``, ``"fp32+csr"``."""
        s = f"{self.values}{self.bits or ''}" + ("-affine" if self.scheme == "affine" else "")
        return s + (f"+{self.sparse}{self.index_bits or ''}" if self.sparse else "")


_FP32 = Storage()


@dataclass(frozen=True)
class Plan:
    """A whole model's storage: ``weights`` (tensors with dim >= 2), ``vectors`` (fp32 or fp16),
    ``per_tensor`` overrides ``{state_dict name: Storage}``, and an optional ``coder`` (``CODERS``)."""
    weights: Storage = _FP32
    vectors: Storage = _FP32
    per_tensor: Mapping[str, Storage] = field(default_factory=dict)
    coder: str | None = None

    def __post_init__(self):
        if not isinstance(self.per_tensor, Mapping) or not all(isinstance(k, str) for k in self.per_tensor):
            raise TypeError("Plan per_tensor must be a dict {state_dict name: Storage}: e.g. {'0.weight': Storage('fp16')}")
        for what, s in [("weights", self.weights), ("vectors", self.vectors)] + [
                (f"per_tensor[{k!r}]", s) for k, s in dict(self.per_tensor).items()]:
            if not isinstance(s, Storage):
                raise TypeError(f"Plan {what} must be a Storage, got {type(s).__name__}: e.g. Storage('int', bits=4)")
        _vector_ok("vectors", self.vectors)
        object.__setattr__(self, "per_tensor", MappingProxyType(dict(self.per_tensor)))
        validate.choice(self.coder, CODERS, "coder")

    def __hash__(self):
        return hash((self.weights, self.vectors, tuple(sorted(self.per_tensor.items())), self.coder))

    def storage(self, name: str, t: torch.Tensor) -> Storage:
        """The Storage of the stored tensor ``name`` (``t`` tells a weight from a vector)."""
        s = self.per_tensor.get(name, self.weights if t.dim() >= 2 else self.vectors)
        return _vector_ok(repr(name), s) if t.dim() < 2 else s


def _vector_ok(what: str, s: Storage) -> Storage:
    if s.values not in ("fp32", "fp16") or s.sparse:
        raise ValueError(f"{what} is a vector (dim < 2), stored as fp32 or fp16, not {s.name!r}: "
                         f"give it Storage('fp32') or Storage('fp16')")
    return s


def plan(fmt: str, bits=None) -> Plan:
    """The Plan of a named format of ``FORMATS`` (``bits`` for ``nbit`` and ``codebook``)."""
    validate.choice(fmt, FORMATS, "storage format")
    if fmt in _NEEDS_BITS and bits is None:
        raise ValueError(f"format {fmt!r} needs bits: pass bits=..., e.g. bits=4")
    b = None if bits is None else validate.bits(bits)
    if fmt == "codebook" and b > 16:
        raise ValueError(f"codebook bits must be at most 16 (a table of 2**bits centroids), got {b}: e.g. bits=4")
    if fmt == "fp16":
        return Plan(Storage("fp16"), Storage("fp16"))
    if fmt == "nbit":
        return Plan(Storage("binary") if b == 1 else Storage("int", b))
    if fmt == "codebook":
        return Plan(Storage("codebook", b))
    return Plan({"fp32": _FP32, "int8": Storage("int8"), "sparse-csr": Storage(sparse="csr"),
                 "sparse-bitmask": Storage(sparse="bitmask")}[fmt])


def _as_plan(fmt, bits) -> Plan:
    """A Plan from a format name (with ``bits``), a Storage (for the weights) or a Plan."""
    if isinstance(fmt, (Plan, Storage)):
        if bits is not None:
            raise ValueError("bits goes inside a Storage when you pass a Plan or Storage: drop bits=")
        return fmt if isinstance(fmt, Plan) else Plan(fmt)
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format name, a Storage or a Plan, got {type(fmt).__name__}: e.g. 'int8'")
    return plan(fmt, bits)


def _label(fmt) -> str:
    return repr(fmt) if isinstance(fmt, str) else "this plan"


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


def _stored(obj, p: Plan) -> list[tuple[str, torch.Tensor, Storage]]:
    """(name, tensor, Storage) of the stored tensors: the floating-point state_dict entries, in order."""
    items = [(k, v.detach()) for k, v in _state(obj).items() if v.is_floating_point()]
    unknown = sorted(set(p.per_tensor) - {k for k, _ in items})
    if unknown:
        raise ValueError(f"plan.per_tensor names {unknown[0]!r}, not a stored tensor of this model: "
                         f"use its state_dict names, e.g. {items[0][0] if items else 'weight'!r}")
    return [(k, v, p.storage(k, v)) for k, v in items]


# ---- layout ---------------------------------------------------------------------------------------

def _packed(n: int, bits: int) -> int:
    return (n * bits + 7) // 8


def _col_dtype(cols: int) -> np.dtype:
    return np.dtype("u1" if cols <= 256 else "<u2" if cols <= 65536 else "<u4")


def _ptr_dtype(numel: int) -> np.dtype:
    return np.dtype("<u2" if numel < 65536 else "<u4")


def _relative(nz: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and gaps (zeros skipped) of the relative-index entries for sorted nonzero positions ``nz``."""
    step = 2 ** index_bits                                   # a filler after step - 1 skipped zeros
    prev = np.concatenate([[-1], nz])[:-1]
    skip = nz - prev - 1
    fill = skip // step
    owner = np.repeat(np.arange(len(nz)), fill + 1)          # fillers, then the nonzero they lead to
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(fill + 1) - (fill + 1), fill + 1)
    last = rank == fill[owner]
    pos = np.where(last, nz[owner], prev[owner] + step * (rank + 1))
    return pos, np.where(last, skip[owner] - fill[owner] * step, step - 1)



# ---- the arrays that store a tensor (export's stream, before a coder) ------------------------

def _pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned ``bits``-bit codes packed densely, least significant bit first."""
    c = np.asarray(codes, dtype=np.uint64).reshape(-1, 1)
    planes = (c >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)
    return np.packbits(planes.astype(np.uint8).reshape(-1), bitorder="little")


def _sparse(w: np.ndarray, s: Storage) -> tuple[np.ndarray, list[np.ndarray]]:
    """Flat positions of the stored entries of the (out, cols) matrix ``w`` and its index arrays."""
    flat = w.reshape(-1)
    nz = np.flatnonzero(flat)
    if s.sparse == "bitmask":
        return nz, [np.packbits(flat != 0, bitorder="little")]
    if s.sparse == "csr":
        ptr = np.concatenate([[0], np.cumsum(np.count_nonzero(w, axis=1))]).astype(_ptr_dtype(w.size))
        return nz, [ptr, (nz % w.shape[1]).astype(_col_dtype(w.shape[1]))]
    pos, gaps = _relative(nz, s.index_bits)
    return pos, [np.array([len(pos)], "<u4"), _pack(gaps, s.index_bits)]


def _with_zero(codebook: torch.Tensor, bits: int) -> torch.Tensor:
    """``codebook`` holding an exact 0.0 (for relative-index fillers): added if there is room,
    else it replaces the centroid nearest zero. Stays sorted."""
    if (codebook == 0).any():
        return codebook
    if codebook.numel() < 2 ** bits:
        return torch.cat([codebook, codebook.new_zeros(1)]).sort().values
    return torch.where(torch.arange(codebook.numel()) == codebook.abs().argmin(), 0.0, codebook)


def _values(w: np.ndarray, pos: np.ndarray | None, s: Storage) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(metadata arrays, payload arrays) storing ``w``'s entries at flat positions ``pos`` (all if None)."""
    v = w.reshape(-1) if pos is None else w.reshape(-1)[pos]
    if s.values in ("fp32", "fp16"):
        return [], [v.astype("<f4" if s.values == "fp32" else "<f2")]
    out, b, wt = w.shape[0], s.bits, torch.from_numpy(w)
    if s.values == "binary":
        if pos is None:
            scale = quant.quantize_symmetric(wt, 1)[1].numpy()
        else:
            rows = pos // w.shape[1]
            scale = np.bincount(rows, np.abs(v), out) / np.maximum(np.bincount(rows, minlength=out), 1)
        return [scale.astype("<f4")], [_pack(v >= 0, 1)]
    if s.values == "codebook":
        if pos is None:
            codebook, idx = quant.kmeans_codebook(wt, b)
        else:                                       # shared by the nonzeros; fillers need an exact 0
            codebook, idx = quant.kmeans_codebook(torch.from_numpy(v[v != 0]), b)
            if s.sparse == "relative":
                codebook = _with_zero(codebook, b)
                idx = torch.from_numpy(np.searchsorted(((codebook[1:] + codebook[:-1]) / 2).numpy(), v))
        table = np.zeros(2 ** b, "<f4")
        table[:codebook.numel()] = codebook.numpy()
        return [table], [_pack(idx.numpy().reshape(-1), b)]
    if s.scheme == "affine":
        scale, zero = quant.qparams(wt.amin(1), wt.amax(1), b, "affine")
        q = quant.quantize(wt, scale, zero, b, "affine", dim=0).numpy().reshape(-1)
        return [scale.numpy().astype("<f4"), _pack(zero.numpy(), b)], [_pack(q if pos is None else q[pos], b)]
    q, scale = quant.quantize_symmetric(wt, b or 8)
    q = q.numpy().reshape(-1) if pos is None else q.numpy().reshape(-1)[pos]
    return [scale.numpy().astype("<f4")], [q.astype(np.int8) if s.values == "int8" else _pack(q + (2 ** (b - 1) - 1), b)]


def _encode(t: torch.Tensor, s: Storage) -> list[np.ndarray]:
    """The typed arrays that store one tensor, in blob order: metadata, index, payload."""
    a = t.cpu().float().numpy()
    if t.dim() < 2:
        return [a.reshape(-1).astype("<f4" if s.values == "fp32" else "<f2")]
    w = a.reshape(t.shape[0], -1)
    pos, index = _sparse(w, s) if s.sparse else (None, [])
    meta, payload = _values(w, pos, s)
    return meta + index + payload


def _raw(model, p: Plan) -> bytes:
    return b"".join(arr.tobytes() for _, t, s in _stored(model, p) for arr in _encode(t, s))
