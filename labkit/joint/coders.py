"""Entropy coders compared on the same symbol streams, against the Shannon bound.

The order-0 entropy ``H = -sum p_i log2 p_i`` of a stream's symbol frequencies bounds what any
coder that codes symbols one at a time with a fixed model can reach: ``n * H / 8`` bytes (Shannon,
1948), before the cost of telling the decoder the model. Coders compared:

- ``huffman``: the lab's canonical Huffman (``labkit.coding``); whole bits per symbol, so within one
  bit per symbol of ``H`` (and within ``p_max + 0.086`` bits, Gallager 1978); its table is the
  compact one the file stores (one byte, then 4 bits per symbol up to the largest used);
- ``ans``: rANS with the exact empirical model (``constriction``, Duda 2013; Bamler 2022): fractional
  bits, a few bytes of flush; its table (the counts) is charged at 2 bytes per symbol of the alphabet;
- ``zstd`` (level 19) and ``brotli`` (quality 11): general-purpose LZ + entropy coders, tables
  inside their own streams.
"""
from __future__ import annotations

import numpy as np

from .. import coding

CODERS = ("huffman", "ans", "zstd", "brotli")


def entropy_bits(symbols) -> float:
    """Order-0 Shannon entropy of a stream, in bits per symbol."""
    counts = np.bincount(np.asarray(symbols, np.int64))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def entropy_bound(symbols) -> float:
    """``n * H / 8``: the fewest bytes a symbol-by-symbol coder with a known model can reach."""
    return len(symbols) * entropy_bits(symbols) / 8


def ans_encode(symbols) -> tuple[np.ndarray, int]:
    """(compressed uint32 words, table bytes) of ``symbols`` under rANS with their exact frequencies."""
    import constriction
    s = np.asarray(symbols, np.int32)
    counts = np.bincount(s).astype(np.float64)
    model = constriction.stream.model.Categorical(counts / counts.sum(), perfect=False)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(s, model)
    return coder.get_compressed(), 2 * len(counts)


def ans_decode(words: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """The inverse of ``ans_encode`` given the counts and the length."""
    import constriction
    model = constriction.stream.model.Categorical(counts / counts.sum(), perfect=False)
    return constriction.stream.stack.AnsCoder(words).decode(model, n)


def coded_bytes(symbols, coder: str) -> tuple[int, int]:
    """``(payload bytes, table bytes)`` of ``symbols`` (uint8) through ``coder``."""
    data = np.asarray(symbols, np.uint8).tobytes()
    if coder == "huffman":
        table = coding.huffman_header(data, compact=True)
        return coding.huffman_size(data, compact=True) - table, table
    if coder == "ans":
        words, table = ans_encode(symbols)
        return words.nbytes, table
    if coder == "zstd":
        import zstandard
        return len(zstandard.ZstdCompressor(level=19).compress(data)), 0
    if coder == "brotli":
        import brotli
        return len(brotli.compress(data, quality=11)), 0
    raise ValueError(f"unknown coder {coder!r}: use one of {', '.join(CODERS)}")


def available() -> list[str]:
    """The coders of ``CODERS`` whose library imports here."""
    import importlib
    out = []
    for c, mod in zip(CODERS, (None, "constriction", "zstandard", "brotli")):
        try:
            if mod:
                importlib.import_module(mod)
            out.append(c)
        except ImportError:
            pass
    return out


def compare(streams: dict[str, np.ndarray], coders=None) -> list[dict]:
    """One row per (stream, coder): symbols, entropy (bits/symbol), the bound, payload, table, total,
    and ``vs bound`` = payload / bound (1.00 = at the bound)."""
    rows = []
    for name, s in streams.items():
        h, bound = entropy_bits(s), entropy_bound(s)
        for c in coders or available():
            payload, table = coded_bytes(s, c)
            rows.append({"stream": name, "coder": c, "symbols": len(s), "H bits": h, "bound": bound,
                         "payload": payload, "table": table, "total": payload + table,
                         "vs bound": payload / bound if bound else float("nan")})
    return rows
