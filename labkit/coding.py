"""Entropy coding of a byte stream (``labkit.size``'s exports): ``zlib`` and a canonical Huffman coder.

``zlib`` is the standard library's DEFLATE at level 9 (LZ77 + Huffman, RFC 1950/1951): it also
finds repeated byte *sequences*. ``huffman`` codes each byte on its own, with shorter codes for
frequent values (Huffman, 1952), as the last stage of Deep Compression (Han et al., ICLR 2016).

Huffman blob layout (``HUFFMAN_HEADER`` = 132 bytes, then the codes):

=========================  ======================================================================
128 bytes                  the code length of each byte value 0..255, 4 bits each (value ``2i`` in
                           the low nibble of byte ``i``, ``2i + 1`` in the high one); 0 = absent
4 bytes                    the decoded length, uint32 little-endian
the rest                   each byte's code, most significant bit first, packed into bytes and
                           zero-padded to a whole byte
=========================  ======================================================================

A *compact* blob (``huffman_encode(data, compact=True)``) is for a container that already knows
the stream's length and whose symbols are few (a file of codebook indices): one byte ``A - 1``, the
code lengths of the values ``0 .. A - 1`` only (4 bits each, ``ceil(A / 2)`` bytes), then the codes;
``huffman_decode(blob, n)`` reads it. Its table is ``1 + ceil(A / 2)`` bytes instead of 132.

The code is *canonical* (as in DEFLATE, RFC 1951 section 3.2.2): codes of one length are
consecutive integers in byte-value order, shorter lengths first, so the lengths alone define the
code and are all the decoder needs. Lengths are at most ``MAX_LEN`` = 15 bits: if the Huffman tree
is deeper, every count is halved (rounding up, so no value disappears) and the tree rebuilt.
"""
from __future__ import annotations

import heapq
import struct
import zlib

import numpy as np

CODERS = (None, "zlib", "huffman")
MAX_LEN = 15
HUFFMAN_HEADER = 128 + 4
_CHUNK = 1 << 18                       # bytes encoded per numpy step (bounds the memory)


def _tree_lengths(counts: np.ndarray) -> np.ndarray:
    """Depth of every byte value in a Huffman tree built from ``counts`` (0 for absent values)."""
    lengths = np.zeros(256, np.int64)
    used = [int(s) for s in np.flatnonzero(counts)]
    if len(used) == 1:
        lengths[used] = 1                                    # one value still needs a 1-bit code
        return lengths
    heap = [(int(counts[s]), s, [s]) for s in used]          # (count, unique tie-break, values below)
    heapq.heapify(heap)
    node = 256
    while len(heap) > 1:
        c1, _, a = heapq.heappop(heap)
        c2, _, b = heapq.heappop(heap)
        lengths[a + b] += 1                                  # merging puts both subtrees one level deeper
        heapq.heappush(heap, (c1 + c2, node, a + b))
        node += 1
    return lengths


def code_lengths(counts) -> np.ndarray:
    """Huffman code lengths (int64, 256 entries, 0 = unused) for byte ``counts``, at most ``MAX_LEN``."""
    counts = np.asarray(counts, np.int64)
    while True:
        lengths = _tree_lengths(counts)
        if lengths.max() <= MAX_LEN:
            return lengths
        counts = (counts + 1) // 2                           # flatter counts, shallower tree


def canonical_codes(lengths) -> np.ndarray:
    """The canonical code (int64) of every byte value from its code length."""
    lengths = np.asarray(lengths, np.int64)
    codes = np.zeros(256, np.int64)
    code = prev = 0
    for s in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[s]) - prev
        prev = int(lengths[s])
        codes[s] = code
        code += 1
    return codes


def _write_bits(codes: np.ndarray, lengths: np.ndarray) -> bytes:
    """Concatenate variable-length codes, most significant bit first, packed into bytes."""
    out, carry, j = [], np.zeros(0, np.uint8), np.arange(MAX_LEN)
    for start in range(0, len(codes), _CHUNK):
        c, n = codes[start:start + _CHUNK, None], lengths[start:start + _CHUNK, None]
        shift = n - 1 - j                                    # bit j of each code, MSB first
        bits = np.concatenate([carry, ((c >> np.maximum(shift, 0)) & 1)[shift >= 0].astype(np.uint8)])
        whole = len(bits) // 8 * 8
        out.append(np.packbits(bits[:whole]).tobytes())
        carry = bits[whole:]
    out.append(np.packbits(carry).tobytes())
    return b"".join(out)


def huffman_encode(data: bytes, compact: bool = False) -> bytes:
    """``data`` coded byte by byte with a canonical Huffman code (layout in the module docstring);
    ``compact``: the table covers only the values up to the largest, and the length is not stored."""
    sym = np.frombuffer(bytes(data), np.uint8)
    if len(sym) >= 2 ** 32:
        raise ValueError(f"huffman codes streams under 4 GiB, got {len(sym)} bytes: use coder='zlib'")
    lengths = code_lengths(np.bincount(sym, minlength=256))
    a = int(sym.max()) + 1 if compact and len(sym) else 256
    nib = np.concatenate([lengths[:a], np.zeros(a % 2, np.int64)])
    table = (nib[0::2] | nib[1::2] << 4).astype(np.uint8).tobytes()
    head = bytes([a - 1]) + table if compact else table + struct.pack("<I", len(sym))
    return head + _write_bits(canonical_codes(lengths)[sym], lengths[sym])


def _compact_table(alphabet: int) -> int:
    return 1 + (alphabet + 1) // 2


def huffman_header(data: bytes, compact: bool = False) -> int:
    """Bytes of the table in ``huffman_encode(data, compact)``: ``HUFFMAN_HEADER``, or the compact
    one's (one byte, then 4 bits for each value up to the largest in ``data``)."""
    if not compact:
        return HUFFMAN_HEADER
    sym = np.frombuffer(bytes(data), np.uint8)
    return _compact_table(int(sym.max()) + 1 if len(sym) else 256)


def huffman_size(data: bytes, compact: bool = False) -> int:
    """``len(huffman_encode(data, compact))``, computed from the code lengths without writing the bits."""
    counts = np.bincount(np.frombuffer(bytes(data), np.uint8), minlength=256)
    return huffman_header(data, compact) + (int((counts * code_lengths(counts)).sum()) + 7) // 8


def _corrupt(why: str) -> ValueError:
    return ValueError(f"corrupt huffman stream ({why}): decode the bytes that export wrote, with the same plan")


def huffman_decode(blob, n: int | None = None) -> bytes:
    """The bytes that ``huffman_encode`` coded; ``n``: the length of a compact blob's stream (its
    container stores it). A ``ValueError`` if the stream is inconsistent."""
    buf = bytes(blob)
    if n is None:
        head, a, first = HUFFMAN_HEADER, 256, 0
        if len(buf) < head:
            raise _corrupt(f"{len(buf)} bytes, shorter than its {head}-byte header")
        n = struct.unpack_from("<I", buf, 128)[0]
    else:
        if not buf:
            raise _corrupt("empty: no table")
        a, first = buf[0] + 1, 1
        head = _compact_table(a)
        if len(buf) < head:
            raise _corrupt(f"{len(buf)} bytes, shorter than its {head}-byte table")
    nibbles = np.frombuffer(buf, np.uint8, (a + 1) // 2, first).astype(np.int64)
    lengths = np.zeros(256 + 1, np.int64)
    lengths[0:a + a % 2:2], lengths[1:a + a % 2:2] = nibbles & 15, nibbles >> 4
    lengths = lengths[:256]
    used = np.flatnonzero(lengths)
    if int((1 << (MAX_LEN - lengths[used])).sum()) > 1 << MAX_LEN:
        raise _corrupt("its code lengths are over-subscribed")
    if n and not len(used):
        raise _corrupt(f"{n} bytes to decode but no codes")
    codes = canonical_codes(lengths)
    table = np.zeros(1 << MAX_LEN, np.int64)                 # MAX_LEN-bit window -> length << 8 | value
    for s in used:
        lo = int(codes[s]) << (MAX_LEN - int(lengths[s]))
        table[lo:lo + (1 << (MAX_LEN - int(lengths[s])))] = int(lengths[s]) << 8 | int(s)
    body = np.frombuffer(buf + b"\0\0\0", np.uint8, offset=head).astype(np.int64)
    window = (body[:-2] << 16 | body[1:-1] << 8 | body[2:]).tolist()   # 24 bits from each byte on
    table, out, p = table.tolist(), bytearray(n), 0
    try:
        for i in range(n):
            entry = table[(window[p >> 3] >> (9 - (p & 7))) & 0x7FFF]
            if not entry:
                raise _corrupt(f"a bit pattern no code starts with, at bit {p}")
            out[i] = entry & 255
            p += entry >> 8
    except IndexError:
        p = 1 << 62
    if (p + 7) // 8 != len(buf) - head:
        raise _corrupt(f"{len(buf) - head} bytes of codes, but {n} values take {(p + 7) // 8}")
    return bytes(out)


def encode(data: bytes, coder: str | None) -> bytes:
    """``data`` through ``coder`` (one of ``CODERS``; ``None`` returns it unchanged)."""
    if coder == "zlib":
        return zlib.compress(bytes(data), 9)
    if coder == "huffman":
        return huffman_encode(data)
    return bytes(data)


def encoded_size(data: bytes, coder: str | None) -> int:
    """``len(encode(data, coder))``; Huffman's is computed without writing the bits."""
    return huffman_size(data) if coder == "huffman" else len(encode(data, coder))


def header_bytes(coder: str | None) -> int:
    """Bytes of ``coder``'s own table (Huffman's code lengths and decoded length; 0 otherwise)."""
    return HUFFMAN_HEADER if coder == "huffman" else 0


def decode(blob, coder: str | None) -> bytes:
    """The inverse of ``encode``; a one-line ``ValueError`` for a stream the coder cannot read."""
    if coder == "huffman":
        return huffman_decode(blob)
    if coder != "zlib":
        return bytes(blob)
    d = zlib.decompressobj()
    try:
        data = d.decompress(bytes(blob))
    except zlib.error as e:
        raise ValueError(f"corrupt zlib stream ({e}): decode the bytes that export wrote, with the same plan") from None
    if not d.eof or d.unused_data:
        why = "it stops early" if not d.eof else f"{len(d.unused_data)} bytes after its end"
        raise ValueError(f"corrupt zlib stream ({why}): decode the bytes that export wrote, with the same plan")
    return data
