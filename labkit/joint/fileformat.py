"""The compressed file of Deep Compression, for real: write it, read it back, rebuild the model.

A pruned, weight-shared model (``labkit.quantization.sharing``) is stored as two symbol streams and a few
tables (Han et al., ICLR 2016, sections 2-4):

- **values**: for every nonzero weight, its centroid's number in the layer's codebook (one byte
  symbol, at most ``2**bits`` distinct);
- **gaps** (relative index): for every nonzero weight, the zeros skipped since the previous one
  in flattened order, as a symbol ``0 .. 2**index_bits - 2``; the symbol ``2**index_bits - 1``
  is an *escape*: "skip that many zeros, no weight here" (so a long run costs one extra symbol
  and, unlike Han et al.'s filler zero, no value);
- each stream is entropy-coded with the lab's canonical Huffman coder over all layers at once, in
  its compact form (``labkit.coding``: one byte for the alphabet, the code lengths of the symbols up
  to the largest used, 4 bits each, then the codes; the metadata knows the streams' lengths).

File layout (little-endian)::

    magic b"LKJC" | version u16 | flags u16 | body length u32 | CRC32 of the body u32     (16 bytes)
    body:  metadata length u16 | metadata (zlib'd JSON: tensor names, shapes, bits, counts, stream lengths)
           codebooks (every weight's k centroids: fp16 when flag bit 0 is set, else fp32)
           vectors (biases: int8 with one fp16 scale each when flag bit 1 is set, else fp16)
           values stream (Huffman) | gaps stream (Huffman)

Codebooks are stored in fp16 when every centroid is an fp16 number (``pipeline.compress`` rounds
them so), else in fp32: either way the file is lossless for the weights. Biases are stored as int8
with an fp16 scale per vector when every one is such a product (``round_vectors_`` makes them so),
else in fp16. Version 1 files (fp32 codebooks, fp16 biases, 132-byte Huffman tables) are still read.

As in a firmware image the architecture is code: ``read`` takes a template model of the same
architecture and checks every name and shape against the metadata. A short, long or damaged file
raises a one-line ``ValueError`` (the CRC32 catches a flipped bit anywhere in the body).
"""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import coding

MAGIC = b"LKJC"
VERSION = 2
FP16_BOOKS = 1                                # flags bit 0: codebooks are fp16
INT8_VECTORS = 2                              # flags bit 1: vectors are int8 x an fp16 scale each
HEADER = struct.Struct("<4sHHII")            # magic, version, flags, body length, CRC32
MAX_SYMBOL_BITS = 8                           # symbols are bytes


def _int8_scale(v: np.ndarray) -> np.float32:
    """The fp16 scale of a vector stored as int8: ``max |v| / 127`` rounded to fp16."""
    return np.float32(np.float16(np.abs(v).max() / 127 if v.size else 0.0))


def _int8(v: np.ndarray) -> tuple[np.float32, np.ndarray]:
    s = _int8_scale(v)
    q = np.clip(np.round(v / s), -127, 127) if s > 0 else np.zeros_like(v)
    return s, q.astype(np.int8)


@torch.no_grad()
def round_vectors_(model: nn.Module) -> nn.Module:
    """Round every stored vector (bias) of ``model`` to ``int8 x fp16 scale``, in place: what a file
    then stores in one byte a value, losslessly (``encode`` checks)."""
    for t in model.state_dict().values():
        if t.is_floating_point() and t.dim() < 2:
            s, q = _int8(t.detach().cpu().numpy().astype(np.float32))
            t.copy_(torch.from_numpy(q.astype(np.float32) * s))
    return model


def _stored(model) -> list[tuple[str, torch.Tensor]]:
    state = model.state_dict() if isinstance(model, nn.Module) else dict(model)
    return [(k, v.detach().cpu()) for k, v in state.items() if v.is_floating_point()]


def gaps(nz: np.ndarray, index_bits: int) -> np.ndarray:
    """Relative-index symbols of sorted nonzero positions ``nz``: zeros skipped since the previous
    entry, with escape symbol ``2**index_bits - 1`` for every full run of that many zeros."""
    esc = 2 ** index_bits - 1
    skip = np.diff(nz, prepend=-1) - 1                    # zeros before each nonzero
    n_esc = skip // esc
    out = np.full(len(nz) + int(n_esc.sum()), esc, np.uint8)
    ends = np.cumsum(n_esc + 1) - 1                       # where each real entry sits
    out[ends] = skip - n_esc * esc
    return out


def positions(sym: np.ndarray, index_bits: int) -> np.ndarray:
    """The inverse of ``gaps``: flat positions of the nonzeros."""
    esc = 2 ** index_bits - 1
    sym = sym.astype(np.int64)
    real = sym != esc
    step = np.where(real, sym + 1, esc)                   # an entry moves past its gap and itself
    return (np.cumsum(step) - 1)[real]


def encode_tensor(w: torch.Tensor, index_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codebook fp32, value symbols, gap symbols) of one shared, pruned weight."""
    flat = w.reshape(-1).numpy()
    nz = np.flatnonzero(flat)
    codebook = np.unique(flat[nz]).astype(np.float32)
    if len(codebook) > 2 ** MAX_SYMBOL_BITS:
        raise ValueError(f"a weight holds {len(codebook)} distinct values, more than the {2 ** MAX_SYMBOL_BITS} "
                         f"a byte symbol can name: share it first with joint.share_(model, bits) (bits <= 8)")
    return codebook, np.searchsorted(codebook, flat[nz]).astype(np.uint8), gaps(nz, index_bits)


def streams(model, index_bits: dict[str, int] | int = 8) -> dict[str, np.ndarray]:
    """The two symbol streams a file codes (``{"values": uint8, "gaps": uint8}``), all weights in order."""
    vals, gps = [], []
    for name, t in _stored(model):
        if t.dim() >= 2:
            _, v, g = encode_tensor(t, _ib(index_bits, name))
            vals.append(v)
            gps.append(g)
    return {"values": np.concatenate(vals), "gaps": np.concatenate(gps)}


def _ib(index_bits, name: str) -> int:
    ib = index_bits.get(name.rsplit(".", 1)[0], 8) if isinstance(index_bits, dict) else index_bits
    if not 2 <= ib <= MAX_SYMBOL_BITS:
        raise ValueError(f"index_bits must be 2..8 (one byte symbol), got {ib} for {name!r}: e.g. index_bits=8")
    return ib


def encode(model, index_bits: dict[str, int] | int = 8, bits: dict[str, int] | None = None) -> tuple[bytes, dict]:
    """``(file bytes, parts)`` of a pruned, shared model; ``parts`` is the byte table (header,
    metadata, codebooks, vectors, values, indices, entropy tables), summing to ``len(file bytes)``."""
    meta, books, vecs, vals, gps = {"v": VERSION, "t": []}, [], [], [], []
    for name, t in _stored(model):
        if t.dim() >= 2:
            ib = _ib(index_bits, name)
            cb, v, g = encode_tensor(t, ib)
            layer = name.rsplit(".", 1)[0]
            meta["t"].append([name, list(t.shape), "w", int((bits or {}).get(layer, 0)), ib, len(cb), len(v), len(g)])
            books.append(cb)
            vals.append(v)
            gps.append(g)
        else:
            meta["t"].append([name, list(t.shape), "v"])
            vecs.append(t.numpy().astype(np.float32))
    allb = np.concatenate(books) if books else np.zeros(0, np.float32)
    half = bool(np.array_equal(allb.astype("<f2").astype(np.float32), allb))
    bookbytes = allb.astype("<f2" if half else "<f4").tobytes()
    sv, sg = np.concatenate(vals), np.concatenate(gps)
    cv, cg = coding.huffman_encode(sv.tobytes(), compact=True), coding.huffman_encode(sg.tobytes(), compact=True)
    meta["s"] = [len(cv), len(cg)]
    mj = zlib.compress(json.dumps(meta, separators=(",", ":")).encode(), 9)
    q8 = [_int8(v) for v in vecs]
    int8 = all(np.array_equal(q.astype(np.float32) * s, v) for (s, q), v in zip(q8, vecs))
    if int8:
        vecbytes = np.array([s for s, _ in q8], "<f2").tobytes() + b"".join(q.tobytes() for _, q in q8)
    else:
        vecbytes = b"".join(v.astype("<f2").tobytes() for v in vecs)
    body = struct.pack("<H", len(mj)) + mj + bookbytes + vecbytes + cv + cg
    flags = (FP16_BOOKS if half else 0) | (INT8_VECTORS if int8 else 0)
    blob = HEADER.pack(MAGIC, VERSION, flags, len(body), zlib.crc32(body)) + body
    tv, tg = (coding.huffman_header(s.tobytes(), compact=True) for s in (sv, sg))
    parts = {"header (magic, version, length, CRC32)": HEADER.size, "metadata (names, shapes, counts)": 2 + len(mj),
             f"codebooks ({'fp16' if half else 'fp32'} centroids)": len(bookbytes),
             f"vectors ({'int8 biases, fp16 scales' if int8 else 'fp16 biases'})": len(vecbytes),
             "values (Huffman codes)": len(cv) - tv, "indices (Huffman-coded gaps)": len(cg) - tg,
             "entropy tables (2 Huffman)": tv + tg}
    assert sum(parts.values()) == len(blob)
    return blob, parts


def write(model, path, index_bits: dict[str, int] | int = 8, bits: dict[str, int] | None = None) -> dict:
    """Write the compressed file of ``model`` to ``path``; returns its byte table (``encode``'s parts)."""
    blob, parts = encode(model, index_bits, bits)
    Path(path).write_bytes(blob)
    return parts


def _bad(why: str) -> ValueError:
    return ValueError(f"not a readable labkit joint file ({why}): re-write it with labkit.joint.write(model, path)")


def decode(blob: bytes, template: nn.Module) -> dict:
    """A state_dict for ``template`` (same architecture) from ``encode``'s bytes; ``ValueError`` on damage."""
    blob = bytes(blob)
    if len(blob) < HEADER.size:
        raise _bad(f"{len(blob)} bytes, shorter than its {HEADER.size}-byte header: truncated")
    magic, version, flags, n, crc = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise _bad(f"magic {magic!r}, expected {MAGIC!r}")
    if version not in (1, VERSION):
        raise _bad(f"version {version}, this labkit reads versions 1 and {VERSION}")
    body = blob[HEADER.size:]
    if len(body) != n:
        raise _bad(f"body of {len(body)} bytes, the header says {n}: {'truncated' if len(body) < n else 'extra bytes'}")
    if zlib.crc32(body) != crc:
        raise _bad("CRC32 mismatch: the bytes were changed")
    try:
        (m,) = struct.unpack_from("<H", body)
        meta = json.loads(zlib.decompress(body[2:2 + m]))
    except (struct.error, zlib.error, ValueError) as e:
        raise _bad(f"unreadable metadata: {e}") from None
    p = 2 + m
    ws = [e for e in meta["t"] if e[2] == "w"]
    books = np.frombuffer(body, "<f2" if flags & FP16_BOOKS else "<f4", sum(e[5] for e in ws), p)
    p += books.nbytes
    books = books.astype(np.float32)
    sizes = [int(np.prod(e[1])) for e in meta["t"] if e[2] == "v"]
    if flags & INT8_VECTORS:
        scales = np.frombuffer(body, "<f2", len(sizes), p).astype(np.float32)
        p += 2 * len(sizes)
        q = np.frombuffer(body, np.int8, sum(sizes), p).astype(np.float32)
        p += sum(sizes)
        vecs = q * np.repeat(scales, sizes)
    else:
        vecs = np.frombuffer(body, "<f2", sum(sizes), p).astype(np.float32)
        p += 2 * sum(sizes)
    lv, lg = meta["s"]
    counts = (sum(e[6] for e in ws), sum(e[7] for e in ws)) if version >= 2 else (None, None)
    vals = np.frombuffer(coding.huffman_decode(body[p:p + lv], counts[0]), np.uint8)
    gps = np.frombuffer(coding.huffman_decode(body[p + lv:p + lv + lg], counts[1]), np.uint8)
    state = template.state_dict()
    expected = {k: list(v.shape) for k, v in state.items() if v.is_floating_point()}
    if expected != {e[0]: e[1] for e in meta["t"]}:
        raise ValueError("the file's tensors (names, shapes) differ from the template model's: "
                         "read it with a model of the architecture it was written from")
    out, cb0, v0, g0, x0 = {}, 0, 0, 0, 0
    for e in meta["t"]:
        name, shape, numel = e[0], e[1], int(np.prod(e[1]))
        if e[2] == "v":
            out[name] = torch.from_numpy(vecs[x0:x0 + numel].copy()).reshape(shape)
            x0 += numel
            continue
        _, _, _, _, ib, k, nv, ng = e
        pos = positions(gps[g0:g0 + ng], ib)
        sym = vals[v0:v0 + nv]
        if len(pos) != nv or (nv and (pos[-1] >= numel or sym.max() >= k)):
            raise _bad(f"tensor {name!r}: its index does not fit its shape")
        dense = np.zeros(numel, np.float32)
        dense[pos] = books[cb0:cb0 + k][sym]
        out[name] = torch.from_numpy(dense).reshape(shape)
        cb0, v0, g0 = cb0 + k, v0 + nv, g0 + ng
    for k, v in state.items():
        out[k] = out[k].to(v.dtype) if k in out else v.detach().clone()
    return out


def from_bytes(blob: bytes, template: nn.Module) -> nn.Module:
    """The model a file's bytes store: a copy of ``template`` with the decoded weights (eval mode)."""
    import copy
    model = copy.deepcopy(template).cpu()
    model.load_state_dict(decode(blob, model))
    return model.eval()


def read(path, template: nn.Module) -> nn.Module:
    """The model stored in the file at ``path``: a copy of ``template`` with the decoded weights (eval mode)."""
    return from_bytes(Path(path).read_bytes(), template)
