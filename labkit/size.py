"""Model size in bytes under a storage plan, and a real export that proves the count.

What is stored: every floating-point tensor of ``model.state_dict()``, in state_dict order
(parameters and float buffers such as BatchNorm running statistics). Integer buffers such as
``num_batches_tracked`` are not stored: inference does not need them. "Weights" are the float
tensors with ``dim >= 2`` (Conv/Linear weights, output channel = dim 0); "vectors" are the
others (biases, BatchNorm), stored as fp32 (or fp16) whatever the plan does to the weights.

A ``Storage`` says how one tensor is stored: its values, and for weights optional sparsity on top.
A ``Plan`` gives a Storage to the weights, one to the vectors, overrides by tensor name
(``per_tensor``), and an optional entropy ``coder`` over the whole stream. Each stored tensor is
its *metadata* (scales, zero-points, centroid table), then its *index* (where sparse values sit),
then its *payload* (one entry per stored value); ``size_report`` counts the three.

============  ==============================================================================
values
============  ==============================================================================
``fp32``      4 bytes per value
``fp16``      2 bytes per value
``int8``      fp32 scale per output channel, then int8 codes (symmetric, two's complement)
``int``       ``bits``-bit codes packed densely. ``symmetric``: fp32 scale per output channel,
              codes ``q + qmax`` (``q`` in ``[-qmax, qmax]``, ``bits >= 2``). ``affine``: fp32 scale
              and a ``bits``-bit zero-point per output channel (packed), codes ``q`` in
              ``[0, 2**bits - 1]`` (``labkit.quantization.quant.qparams`` of the channel's min and max)
``codebook``  a table of ``2**bits`` fp32 centroids (k-means of the stored values, zero-padded),
              then ``bits``-bit packed indices (weight sharing, Han et al., ICLR 2016)
``binary``    fp32 scale ``alpha`` per output channel (mean ``|w|`` of the stored values), then
              1 bit per value: 1 where ``w >= 0`` (XNOR-Net, Rastegari et al., ECCV 2016)
sparse        (weights only: the values above are stored for the nonzero weights only)
``csr``       the (out, -1) matrix's row pointers (uint16 if fewer than 65536 positions, else
              uint32), then column indices (uint8/uint16/uint32 for up to 256/65536/more columns)
``bitmask``   one bit per position
``relative``  Deep Compression's relative indices: the entry count (uint32), then per entry the
              zeros skipped since the previous entry (flattened order) in ``index_bits`` bits; a
              longer run of zeros stores a filler entry of value 0 after ``2**index_bits - 1``
              zeros, counted as a stored value (the codebook then always holds 0.0; binary
              cannot store a 0, so binary + relative is refused)
coder         (``Plan(coder=...)``, over the concatenated stream, ``labkit.coding``)
``zlib``      DEFLATE, level 9 (standard library)
``huffman``   canonical Huffman code over bytes: a 132-byte table (code lengths and the length),
              then the codes
============  ==============================================================================

The named formats of ``FORMATS`` are presets (``plan(name, bits)``): ``fp32`` = ``Plan()``,
``fp16`` = fp16 weights and vectors, ``int8`` = ``Storage("int8")``, ``nbit`` = ``Storage("int",
bits)`` (``Storage("binary")`` at ``bits=1``), ``sparse-csr`` / ``sparse-bitmask`` = fp32 values
with ``sparse="csr"`` / ``"bitmask"``, ``codebook`` = ``Storage("codebook", bits)``.

``size_bytes`` counts arithmetically from shapes and nonzero counts (with a coder it must encode
the stream); ``export`` writes the real arrays (little-endian, numpy ``tobytes``; bits packed with
``np.packbits(bitorder="little")``) tensor after tensor with no header: as in a firmware image,
the architecture (names, shapes) is the code, so ``load`` needs the model and the plan to decode a
blob. Structural damage (a truncated or overlong blob, impossible pointers or codes, a broken
coder stream) raises ``ValueError``; a flipped value bit cannot be seen without a checksum.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import torch
from torch import nn

from . import coding, validate
from .quantization import quant

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


# ---- counting ------------------------------------------------------------------------------------

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


def _parts(t: torch.Tensor, s: Storage) -> tuple[int, int, int]:
    """Bytes of one stored tensor as (payload, index, metadata)."""
    n = t.numel()
    if t.dim() < 2:
        return _packed(n, _WIDTH[s.values]), 0, 0
    out, cols = t.shape[0], math.prod(t.shape[1:])
    stored, index = n, 0
    if s.sparse:
        stored = int(torch.count_nonzero(t))
        if s.sparse == "bitmask":
            index = _packed(n, 1)
        elif s.sparse == "csr":
            index = stored * _col_dtype(cols).itemsize + (out + 1) * _ptr_dtype(n).itemsize
        else:                                        # + one filler per 2**index_bits zeros skipped
            nz = torch.nonzero(t.reshape(-1)).reshape(-1).cpu().numpy()
            stored += int(((np.diff(nz, prepend=-1) - 1) // 2 ** s.index_bits).sum())
            index = 4 + _packed(stored, s.index_bits)
    meta = {"fp32": 0, "fp16": 0, "codebook": 4 * 2 ** (s.bits or 0)}.get(s.values, 4 * out)
    if s.scheme == "affine":
        meta += _packed(out, s.bits)
    return _packed(stored, _WIDTH.get(s.values, s.bits)), index, meta


def size_report(model, fmt="fp32", bits=None) -> list[dict]:
    """Per stored tensor: name, shape, numel, kind ("weight"/"vector"), storage (``Storage.name``),
    bytes, and its split into ``payload`` (one entry per stored value: values or codes), ``index``
    (where sparse values sit: bitmask, column indices, row pointers, relative gaps) and
    ``metadata`` (scales, zero-points, centroid tables). With a coder, a last row of kind "coder"
    holds the coder's change (coded minus raw bytes; its table in ``metadata``), so the rows'
    bytes always add up to ``size_bytes``."""
    p = _as_plan(fmt, bits)
    rows = []
    for name, t, s in _stored(model, p):
        payload, index, meta = _parts(t, s)
        rows.append(dict(name=name, shape=tuple(t.shape), numel=t.numel(), kind="weight" if t.dim() >= 2 else "vector",
                         storage=s.name, bytes=payload + index + meta, payload=payload, index=index, metadata=meta))
    if p.coder:
        from .packing import _raw
        raw = _raw(model, p)
        change, table = coding.encoded_size(raw, p.coder) - len(raw), coding.header_bytes(p.coder)
        rows.append(dict(name=f"({p.coder} coder)", shape=(), numel=len(raw), kind="coder", storage=p.coder,
                         bytes=change, payload=change - table, index=0, metadata=table))
    return rows


def size_bytes(model_or_state_dict, fmt="fp32", bits=None) -> int:
    """Bytes the model takes under ``fmt``: a format name of ``FORMATS`` (with ``bits`` for ``nbit``,
    1..32, and ``codebook``, 1..16; other formats ignore it), a ``Storage`` for the weights, or a
    ``Plan``. Counted from shapes and nonzeros without an export, except that a coder must encode."""
    return sum(r["bytes"] for r in size_report(model_or_state_dict, fmt, bits))



def __getattr__(name: str):
    """``size.export`` / ``size.load`` / ``size.write``: the real bytes live in ``labkit.packing``."""
    if name in ("export", "load", "write"):
        from . import packing
        return getattr(packing, name)
    raise AttributeError(f"module 'labkit.size' has no attribute {name!r}")
