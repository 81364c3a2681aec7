"""Model size in bytes under a storage plan (the plans themselves: ``labkit.plan``; the real export
that proves each count: ``labkit.packing``).

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
              ``[0, 2**bits - 1]`` (``labkit.quant.qparams`` of the channel's min and max)
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

import numpy as np
import torch

from . import coding
from .plan import (CODERS, FORMATS, SPARSE, VALUES, Plan, Storage, _as_plan, _col_dtype,  # noqa: F401
                   _packed, _ptr_dtype, _raw, _stored, _WIDTH, plan)


# ---- counting ------------------------------------------------------------------------------------

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
