"""labkit.size and labkit.quant: byte counts proven against real exports, round trips, errors."""
import os
import zlib

import pytest
import torch
from torch import nn

from labkit import coding, packing, size
from labkit.quantization import quant

CASES = [("fp32", None), ("fp16", None), ("int8", None), ("sparse-csr", None), ("sparse-bitmask", None)]
CASES += [(f, b) for f in ("nbit", "codebook") for b in (1, 2, 3, 4, 8)]


def tiny(sparsity=0.7, seed=0):
    """Conv2d + BatchNorm2d + Linear with random BN statistics and ~``sparsity`` zero weights."""
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(16, 5))
    with torch.no_grad():
        for t in m.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t).abs() if t.dim() < 2 else torch.randn_like(t))
                if t.dim() >= 2:
                    t.mul_(torch.rand_like(t) >= sparsity)
    return m


def weights(m):
    return {k: v for k, v in m.state_dict().items() if v.is_floating_point() and v.dim() >= 2}


# ---- size_bytes == len(export) == file size, every format --------------------------------------

@pytest.mark.parametrize("fmt,bits", CASES)
def test_count_matches_export_and_file(fmt, bits, tmp_path):
    m = tiny()
    blob = packing.export(m, fmt, bits)
    path = tmp_path / "model.bin"
    assert packing.write(m, path, fmt, bits) == len(blob) == os.path.getsize(path)
    assert size.size_bytes(m, fmt, bits) == len(blob)
    assert size.size_bytes(m.state_dict(), fmt, bits) == len(blob)
    report = size.size_report(m, fmt, bits)
    assert all(r["bytes"] == r["payload"] + r["index"] + r["metadata"] for r in report)
    assert "1.num_batches_tracked" not in [r["name"] for r in report]  # integer buffers not stored
    assert set(packing.load(blob, m, fmt, bits)) == set(m.state_dict())


def test_sparse_formats_are_smaller_when_sparse_and_nbit8_equals_int8():
    m = tiny(0.7)
    assert size.size_bytes(m, "sparse-csr") < size.size_bytes(m, "fp32")
    assert size.size_bytes(m, "sparse-bitmask") < size.size_bytes(m, "fp32")
    assert size.size_bytes(m, "nbit", 8) == size.size_bytes(m, "int8") == len(packing.export(m, "nbit", bits=8))


# ---- hand-computed counts ------------------------------------------------------------------------

def linear(nnz=None, seed=1):
    torch.manual_seed(seed)
    m = nn.Linear(10, 4)
    if nnz is not None:
        with torch.no_grad():
            m.weight.zero_()
            m.weight.view(-1)[torch.arange(nnz) * 7] = torch.arange(1.0, nnz + 1)
    return m


def test_hand_counts():
    m = linear()
    assert size.size_bytes(m, "fp32") == (40 + 4) * 4 == 176
    assert size.size_bytes(m, "fp16") == 44 * 2
    assert size.size_bytes(m, "int8") == 40 + 4 * 4 + 4 * 4          # codes + scales + fp32 bias
    assert size.size_bytes(m, "nbit", 3) == 15 + 16 + 16               # 120 bits = 15 bytes
    assert size.size_bytes(nn.Linear(7, 1), "nbit", 3) == 3 + 4 + 4    # 21 bits round up to 3 bytes
    assert size.size_bytes(m, "codebook", 2) == 4 * 4 + 10 + 16        # full table + 80 bits + bias
    assert size.size_bytes(nn.BatchNorm1d(3)) == 4 * 3 * 4             # num_batches_tracked not stored
    scalar = nn.Module()
    scalar.s = nn.Parameter(torch.tensor(2.5))
    assert size.size_bytes(scalar, "int8") == 4                          # 0-d tensors are vectors, fp32
    assert packing.load(packing.export(scalar, "int8"), scalar, "int8")["s"].shape == ()


def test_hand_counts_sparse():
    m = linear(nnz=5)
    csr = size.size_report(m, "sparse-csr")[0]
    assert (csr["payload"], csr["index"], csr["metadata"]) == (5 * 4, 5 * 1 + 5 * 2, 0)  # uint8 cols, uint16 ptrs
    assert size.size_bytes(m, "sparse-csr") == 35 + 16
    assert size.size_bytes(m, "sparse-bitmask") == 5 + 20 + 16
    wide = nn.Linear(70000, 1, bias=False)                            # > 65536 columns and positions
    with torch.no_grad():
        wide.weight.zero_()
        wide.weight[0, [0, 300, 69999]] = torch.tensor([1.0, -2.0, 3.0])
    assert size.size_bytes(wide, "sparse-csr") == 3 * 4 + 3 * 4 + 2 * 4 == len(packing.export(wide, "sparse-csr"))
    assert torch.equal(packing.load(packing.export(wide, "sparse-csr"), wide, "sparse-csr")["weight"], wide.weight)


# ---- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["fp32", "sparse-csr", "sparse-bitmask"])
def test_exact_roundtrip(fmt):
    m = tiny()
    sd = packing.load(packing.export(m, fmt), tiny(seed=5), fmt)    # decoded into a model with other weights
    for k, v in m.state_dict().items():
        assert torch.equal(sd[k], v) or k.endswith("num_batches_tracked"), k
    fresh = tiny(seed=5)
    fresh.load_state_dict(sd)
    assert torch.equal(fresh[4].weight, m[4].weight)


def test_fp16_roundtrip():
    m = tiny()
    sd = packing.load(packing.export(m, "fp16"), m, "fp16")
    assert all(torch.equal(sd[k], v.half().float()) for k, v in m.state_dict().items() if v.is_floating_point())


@pytest.mark.parametrize("fmt,bits", [("int8", None)] + [("nbit", b) for b in (1, 2, 3, 4, 8)])
def test_quantized_roundtrip(fmt, bits):
    m = tiny(0.0)
    sd = packing.load(packing.export(m, fmt, bits), m, fmt, bits)
    for k, v in m.state_dict().items():
        if v.is_floating_point() and v.dim() >= 2:
            assert torch.equal(sd[k], quant.dequantize_symmetric(*quant.quantize_symmetric(v, bits or 8)))
            assert not torch.equal(sd[k], v)
        else:
            assert torch.equal(sd[k], v)                               # vectors stay fp32


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_codebook_roundtrip(bits):
    m = tiny(0.0)
    sd = packing.load(packing.export(m, "codebook", bits), m, "codebook", bits)
    for k, w in weights(m).items():
        codebook, _ = quant.kmeans_codebook(w, bits)
        assert torch.isin(sd[k], codebook).all()
        assert sd[k].unique().numel() <= 2 ** bits
        step = (w.max() - w.min()) / (2 ** bits - 1)                  # k-means beats the linear grid
        assert ((sd[k] - w) ** 2).mean() <= (step / 2) ** 2 * 1.001


def test_codebook_exact_when_weights_already_shared():
    m = tiny(0.0)
    levels = torch.tensor([-0.5, -0.125, 0.25, 1.0])
    with torch.no_grad():
        for w in weights(m).values():
            w.copy_(levels[torch.randint(0, 4, w.shape)])
    sd = packing.load(packing.export(m, "codebook", 2), m, "codebook", 2)
    assert all(torch.equal(sd[k], v) for k, v in m.state_dict().items())


def test_byte_layout():
    m = nn.Linear(8, 1, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, -1.0, 0.0, 3.0, -1.0, 0.0, 0.0, 2.0]]))
    signs = torch.tensor([1, 0, 1, 1, 0, 1, 1, 1])                      # q > 0; w >= 0 binarises to +1
    scale = torch.tensor([8.0 / 8]).numpy().tobytes()                     # mean |w| as fp32
    assert packing.export(m, "nbit", 1) == scale + bytes([int((signs * 2 ** torch.arange(8)).sum())])
    nz = bytes([0b10011011])                                             # bitmask, least significant bit first
    assert packing.export(m, "sparse-bitmask") == nz + torch.tensor([1.0, -1, 3, -1, 2]).numpy().tobytes()
    ptr_cols = bytes([0, 0, 5, 0]) + bytes([0, 1, 3, 4, 7])             # uint16 row pointers, uint8 columns
    assert packing.export(m, "sparse-csr") == ptr_cols + torch.tensor([1.0, -1, 3, -1, 2]).numpy().tobytes()


def test_load_needs_exact_length():
    m = tiny()
    blob = packing.export(m, "int8")
    with pytest.raises(ValueError, match="same model, fmt and bits"):
        packing.load(blob + b"\0", m, "int8")
    with pytest.raises(ValueError, match="same model, fmt and bits"):
        packing.load(blob[:-1], m, "int8")


# ---- quant -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_quantize_error_within_half_step(bits):
    torch.manual_seed(bits)
    w = torch.randn(6, 3, 5)
    q, scale = quant.quantize_symmetric(w, bits)
    qmax = 2 ** (bits - 1) - 1
    assert q.dtype == torch.int64 and scale.shape == (6,)
    assert (q.abs() <= qmax).all() and torch.equal(q.abs().amax((1, 2)), torch.full((6,), qmax))
    err = (w - quant.dequantize_symmetric(q, scale)).abs()
    assert (err <= scale.view(6, 1, 1) / 2 * (1 + 1e-5)).all()
    qt, st = quant.quantize_symmetric(w, bits, dim=None)
    assert st.dim() == 0 and torch.isclose(st, w.abs().max() / qmax)
    assert ((w - quant.dequantize_symmetric(qt, st, dim=None)).abs() <= st / 2 * (1 + 1e-5)).all()


def test_binarize_and_zero_channel():
    w = torch.tensor([[0.5, -1.5, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    q, scale = quant.quantize_symmetric(w, 1)
    assert torch.equal(q[0], torch.tensor([1, -1, 1, 1])) and torch.allclose(scale, torch.tensor([1.0, 0.0]))
    assert torch.equal(quant.dequantize_symmetric(q, scale)[0].abs(), torch.full((4,), 1.0))
    q8, s8 = quant.quantize_symmetric(w, 8)
    assert s8[1] == 1.0 and (q8[1] == 0).all() and torch.isfinite(quant.dequantize_symmetric(q8, s8)).all()
    q8c, s8c = quant.quantize_symmetric(w, 8, dim=1)                    # per column
    assert s8c.shape == (4,) and s8c[2] == 1.0


def test_kmeans_codebook():
    torch.manual_seed(0)
    w = torch.randn(20, 25)
    codebook, idx = quant.kmeans_codebook(w, 3)
    assert codebook.numel() <= 8 and idx.shape == w.shape and idx.dtype == torch.int64
    assert idx.unique().numel() <= 8 and idx.max() < codebook.numel()
    nearest = (w.unsqueeze(-1) - codebook).abs().argmin(-1)
    assert torch.equal(codebook[idx], codebook[nearest])                 # each weight at its nearest centroid
    grid, gidx = quant.kmeans_codebook(w, 3, iters=0)                   # linear initialisation only
    assert torch.allclose(grid, torch.linspace(w.min().item(), w.max().item(), 8))
    assert ((codebook[idx] - w) ** 2).mean() < 0.8 * ((grid[gidx] - w) ** 2).mean()  # Lloyd steps help
    again = quant.kmeans_codebook(w, 3)
    assert torch.equal(again[0], codebook) and torch.equal(again[1], idx)  # deterministic
    few = torch.tensor([[0.3, -1.0], [0.3, 7.0]])
    cb, ix = quant.kmeans_codebook(few, 2)
    assert torch.equal(cb[ix], few) and cb.numel() == 3


# ---- errors and helpers ------------------------------------------------------------------------

@pytest.mark.parametrize("call,fix", [
    (lambda m: size.size_bytes(m, "int4"), "use one of"),
    (lambda m: size.size_bytes(m, "nbit"), "pass bits="),
    (lambda m: packing.export(m, "codebook"), "pass bits="),
    (lambda m: size.size_bytes(m, "nbit", bits=0), "from 1 to 32"),
    (lambda m: size.size_bytes(m, "nbit", bits=33), "from 1 to 32"),
    (lambda m: size.size_bytes(m, "codebook", bits=17), "at most 16"),
    (lambda m: size.size_bytes({"weight": [1.0, 2.0]}), "pass the model itself or model.state_dict()"),
    (lambda m: size.size_bytes(3), "pass a torch.nn.Module"),
    (lambda m: size.size_bytes(nn.Linear), "call it"),
    (lambda m: quant.quantize_symmetric(torch.ones(3), 0), "from 1 to 32"),
])
def test_errors_name_the_fix(call, fix):
    with pytest.raises((ValueError, TypeError), match=fix.replace("(", r"\(").replace(")", r"\)")):
        call(linear())




# ---- composable plans: values x sparsity x coder, per-tensor overrides ---------------------------

S, P = size.Storage, size.Plan
PLANS = {
    "codebook4+relative4+huffman": P(S("codebook", 4, sparse="relative", index_bits=4), coder="huffman"),
    "int3+csr": P(S("int", 3, sparse="csr")),
    "binary+bitmask": P(S("binary", sparse="bitmask")),
    "int4-affine": P(S("int", 4, scheme="affine")),
    "fp16+zlib": P(S("fp16"), S("fp16"), coder="zlib"),
    "fp32+relative2": P(S(sparse="relative", index_bits=2)),
    "int8+relative8+zlib": P(S("int8", sparse="relative", index_bits=8), coder="zlib"),
    "int2-affine+csr+huffman": P(S("int", 2, scheme="affine", sparse="csr"), coder="huffman"),
    "int5-affine+relative3": P(S("int", 5, scheme="affine", sparse="relative", index_bits=3)),
    "codebook3+csr": P(S("codebook", 3, sparse="csr")),
    "codebook1+relative2": P(S("codebook", 1, sparse="relative", index_bits=2)),
    "binary+huffman": P(S("binary"), coder="huffman"),
    "fp16+relative3": P(S("fp16", sparse="relative", index_bits=3)),
    "int6+bitmask": P(S("int", 6, sparse="bitmask")),
    "per-tensor mix+huffman": P(S("int", 4, sparse="relative", index_bits=2), S("fp16"), coder="huffman",
                                per_tensor={"0.weight": S("codebook", 2, sparse="bitmask"), "1.running_var": S()}),
    "per-tensor binary/affine": P(S("binary"), per_tensor={"4.weight": S("int", 6, "affine", "relative", 3)}),
}


def represent(w, s):
    """What Storage ``s`` keeps of the weight ``w``, computed here from labkit.quant alone."""
    shape, w = w.shape, w.reshape(w.shape[0], -1).float()
    keep = w != 0 if s.sparse else torch.ones_like(w, dtype=torch.bool)
    if s.values == "fp16":
        r = w.half().float()
    elif s.values in ("int8", "int") and s.scheme == "symmetric":
        r = quant.dequantize_symmetric(*quant.quantize_symmetric(w, s.bits or 8))
    elif s.values == "int":
        scale, zero = quant.qparams(w.amin(1), w.amax(1), s.bits, "affine")
        r = quant.dequantize(quant.quantize(w, scale, zero, s.bits, "affine", dim=0), scale, zero, dim=0)
    elif s.values == "binary":                         # alpha = mean |w| of the stored values of a row
        r = torch.where(w >= 0, 1.0, -1.0) * ((w.abs() * keep).sum(1) / keep.sum(1).clamp(min=1))[:, None]
    elif s.values == "codebook":
        r = torch.zeros_like(w)
        codebook, idx = quant.kmeans_codebook(w[keep], s.bits)
        r[keep] = codebook[idx]
    else:
        r = w
    return (r * keep).reshape(shape)


def representable(p, seed=0):
    """``tiny(0.7)`` with every tensor already on the grid of ``p`` (so that decoding is exact)."""
    m = tiny(0.7, seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, t in m.state_dict().items():
            if not t.is_floating_point():
                continue
            s = p.storage(k, t)
            w = t.view(t.shape[0], -1) if t.dim() >= 2 else t
            alpha = 2.0 ** -torch.arange(w.shape[0] if t.dim() >= 2 else 1).remainder(3)[:, None]  # dyadic: exact means
            if t.dim() >= 2 and s.values == "codebook":            # 2**bits - 1 shared nonzero levels
                levels = torch.tensor([0.5, -0.25, 1.5, -2.0, 0.75, -0.375, 3.0, -1.25])[:2 ** s.bits - 1]
                w.copy_(levels[torch.randint(0, len(levels), w.shape, generator=g)] * (w != 0))
            elif t.dim() >= 2 and s.values == "binary":
                w.copy_(torch.where(w >= 0, 1.0, -1.0) * alpha * ((w != 0) if s.sparse else 1))
            else:
                t.copy_(represent(t, s) if t.dim() >= 2 else t.to(torch.float16 if s.values == "fp16" else t.dtype).float())
    return m


@pytest.mark.parametrize("name", PLANS)
def test_plan_count_matches_export_and_decodes_to_what_it_represents(name, tmp_path):
    p = PLANS[name]
    m = representable(p)
    blob = packing.export(m, p)
    assert size.size_bytes(m, p) == len(blob) == packing.write(m, tmp_path / "m.bin", p) == os.path.getsize(tmp_path / "m.bin")
    assert size.size_bytes(m.state_dict(), p) == len(blob)
    report = size.size_report(m, p)
    assert sum(r["bytes"] for r in report) == len(blob)
    assert all(r["bytes"] == r["payload"] + r["index"] + r["metadata"] for r in report)
    assert [r["kind"] for r in report].count("coder") == (p.coder is not None)
    sd = packing.load(blob, tiny(seed=5), p)                          # decoded into a model with other weights
    for k, v in m.state_dict().items():
        if v.is_floating_point() and v.dim() >= 2:
            assert torch.equal(sd[k], represent(v, p.storage(k, v))), k    # exactly the format's values
            assert torch.allclose(sd[k], v, rtol=1e-6, atol=0), k          # ... which the model already held
        else:
            assert torch.equal(sd[k], v), k


def test_presets_are_plans():
    m = tiny()
    for fmt, bits in CASES:
        p = size.plan(fmt, bits)
        assert packing.export(m, p) == packing.export(m, fmt, bits) and size.size_bytes(m, p) == size.size_bytes(m, fmt, bits)
    assert size.plan("nbit", 1) == P(S("binary")) and size.plan("nbit", 4) == P(S("int", 4))
    assert size.plan("fp16") == P(S("fp16"), S("fp16")) and size.plan("sparse-csr") == P(S(sparse="csr"))
    assert packing.export(m, S("codebook", 3)) == packing.export(m, "codebook", 3)      # a Storage is a plan for the weights
    assert [r["storage"] for r in size.size_report(m, PLANS["per-tensor mix+huffman"])][:2] == ["codebook2+bitmask", "fp16"]
    assert S("int", 4, "affine", "relative", 8).name == "int4-affine+relative8"
    assert hash(PLANS["per-tensor mix+huffman"]) == hash(P(**{**PLANS["per-tensor mix+huffman"].__dict__}))


def test_hand_counts_plans():
    m = linear()                                                        # Linear(10, 4): 40 weights, 4 biases
    assert size.size_bytes(m, S("int", 4, "affine")) == 20 + 4 * 4 + 2 + 16   # codes, scales, 4-bit zero-points, bias
    assert size.size_bytes(m, S("binary")) == 5 + 16 + 16 == size.size_bytes(m, "nbit", 1)
    assert packing.export(m, S("binary")) == packing.export(m, "nbit", 1)
    five = linear(nnz=5)                                                # nonzeros at positions 0, 7, 14, 21, 28
    rel = size.size_report(five, S("codebook", 2, sparse="relative", index_bits=3))[0]
    assert (rel["payload"], rel["index"], rel["metadata"]) == (2, 4 + 2, 4 * 4)      # gaps 0, 6, 6, 6, 6: no filler
    rel = size.size_report(five, S("int8", sparse="relative", index_bits=2))[0]
    assert (rel["payload"], rel["index"], rel["metadata"]) == (9, 4 + 3, 4 * 4)      # 4 fillers: 9 entries


def test_relative_index_layout_with_fillers():
    m = nn.Linear(20, 1, bias=False)
    with torch.no_grad():
        m.weight.zero_()
        m.weight[0, [0, 3, 19]] = torch.tensor([1.0, -2.0, 3.0])
    p = S(sparse="relative", index_bits=2)                              # at most 3 zeros skipped per entry
    gaps = bytes([0 | 2 << 2 | 3 << 4 | 3 << 6, 3 | 3 << 2])             # 0, 2, then fillers at 7, 11, 15, then 3
    values = torch.tensor([1.0, -2, 0, 0, 0, 3]).numpy().tobytes()
    assert packing.export(m, p) == (6).to_bytes(4, "little") + gaps + values
    assert size.size_bytes(m, p) == 4 + 2 + 24
    assert torch.equal(packing.load(packing.export(m, p), m, p)["weight"], m.weight)
    shared = packing.load(packing.export(m, S("codebook", 2, sparse="relative", index_bits=2)), m,
                       S("codebook", 2, sparse="relative", index_bits=2))["weight"]
    assert torch.equal(shared, m.weight)                               # the fillers' 0.0 is in the table


def test_coders():
    m = tiny()
    raw = packing.export(m, "int8")
    assert packing.export(m, P(S("int8"), coder="zlib")) == zlib.compress(raw, 9)
    huff = packing.export(m, P(S("int8"), coder="huffman"))
    assert huff == coding.huffman_encode(raw) and coding.huffman_decode(huff) == raw
    sparse = nn.Linear(256, 64)
    with torch.no_grad():
        sparse.weight.mul_(torch.rand_like(sparse.weight) >= 0.9)
    sizes = [size.size_bytes(sparse, p) for p in ("fp32", "sparse-csr", S("codebook", 4, sparse="csr"),
                                                  S("codebook", 4, sparse="relative", index_bits=4))]
    assert sizes == sorted(sizes, reverse=True)                         # each Deep Compression stage helps
    assert size.size_bytes(sparse, P(coder="huffman")) < size.size_bytes(sparse) / 3   # mostly zero bytes


def test_huffman_layout():
    table = bytearray(128)
    table[48], table[49] = 1 << 4, 2 | 2 << 4                           # "a" (97): 1 bit, "b" and "c": 2 bits
    assert coding.huffman_encode(b"aaaabbc") == bytes(table) + (7).to_bytes(4, "little") + bytes([0b00001010, 0b11000000])
    for data in (b"", b"x", b"xxxxx", bytes(range(256)) * 3, bytes([0] * 500 + [1, 2, 3])):
        blob = coding.huffman_encode(data)
        assert coding.huffman_decode(blob) == data and coding.huffman_size(data) == len(blob)
    skewed = bytes(sum(([i] * round(1.618 ** i) for i in range(28)), []))  # Fibonacci counts: a deep tree
    counts = torch.bincount(torch.tensor(list(skewed)), minlength=256).numpy()
    assert coding._tree_lengths(counts).max() > coding.MAX_LEN >= coding.code_lengths(counts).max()
    assert coding.huffman_decode(coding.huffman_encode(skewed)) == skewed


def test_huffman_compact_layout():
    """The compact table: one byte (alphabet - 1), 4-bit lengths of values 0 .. alphabet - 1, no length."""
    assert coding.huffman_encode(bytes([0, 0, 0, 0, 1, 1, 2]), compact=True) == \
        bytes([2, 1 | 2 << 4, 2]) + bytes([0b00001010, 0b11000000])   # 0: 1 bit, 1 and 2: 2 bits
    for data in (b"x", bytes([3] * 9), bytes(range(16)) * 5, bytes(range(256)) * 3, bytes([0] * 500 + [1, 2, 3])):
        blob = coding.huffman_encode(data, compact=True)
        assert coding.huffman_decode(blob, len(data)) == data and coding.huffman_size(data, True) == len(blob)
        assert coding.huffman_header(data, compact=True) == 1 + (max(data) + 2) // 2            # 4 bits a value
        assert len(blob) - coding.huffman_size(data) == coding.huffman_header(data, True) - coding.huffman_header(data)
    blob = coding.huffman_encode(bytes(range(16)) * 5, compact=True)
    for bad, why in ((blob[:5], "shorter than its 9-byte table"), (blob[:-1], "values take"), (b"", "empty")):
        with pytest.raises(ValueError, match=why):
            coding.huffman_decode(bad, 80)


def _damage(blob, at, value):
    b = bytearray(blob)
    b[at] = value
    return bytes(b)


@pytest.mark.parametrize("p,damage", [
    (PLANS["int3+csr"], lambda b: b[:-1]),
    (PLANS["int3+csr"], lambda b: b + b"\0"),
    (PLANS["int3+csr"], lambda b: _damage(b, 4 * 4, 200)),                 # first row pointer after the scales
    (PLANS["fp32+relative2"], lambda b: _damage(b, 3, 1)),                 # entry count > numel
    (PLANS["fp32+relative2"], lambda b: _damage(b, 4, 255)),               # gaps that run past the tensor
    (P(S("int", 3)), lambda b: _damage(b, 4 * 4, 255)),                    # code 7 is outside -3..3
    (PLANS["fp16+zlib"], lambda b: b[:-1]),
    (PLANS["fp16+zlib"], lambda b: b + b"\0"),
    (PLANS["fp16+zlib"], lambda b: b"\0" * 10),
    (PLANS["binary+huffman"], lambda b: b[:-1]),
    (PLANS["binary+huffman"], lambda b: b + b"\0"),
    (PLANS["binary+huffman"], lambda b: bytes([0x11] * 128) + b[128:]),   # every value a 1-bit code
    (PLANS["binary+huffman"], lambda b: b[:100]),
])
def test_corrupt_blobs_raise_one_line(p, damage):
    m = representable(p)
    with pytest.raises(ValueError) as e:
        packing.load(damage(packing.export(m, p)), m, p)
    assert "\n" not in str(e.value) and ("same" in str(e.value))


@pytest.mark.parametrize("call,fix", [
    (lambda m: S("int"), "needs bits"),
    (lambda m: S("int", 1), "Storage('binary')"),
    (lambda m: S("int", 33), "from 1 to 32"),
    (lambda m: S("fp32", bits=8), "leave bits=None"),
    (lambda m: S("codebook", 17), "at most 16"),
    (lambda m: S("fp16", scheme="affine"), "values='int' only"),
    (lambda m: S("int", 4, scheme="asymmetric"), "unknown quantisation scheme"),
    (lambda m: S(sparse="coo"), "unknown sparsity"),
    (lambda m: S(sparse="relative"), "needs index_bits"),
    (lambda m: S(sparse="relative", index_bits=0), "from 1 to 16"),
    (lambda m: S(sparse="csr", index_bits=4), "drop index_bits"),
    (lambda m: S("binary", sparse="relative", index_bits=4), "use sparse='csr' or 'bitmask'"),
    (lambda m: P("int8"), "must be a Storage"),
    (lambda m: P(per_tensor=[("weight", S())]), "must be a dict"),
    (lambda m: P(vectors=S("int", 8)), "give it Storage('fp32')"),
    (lambda m: P(coder="gzip"), "unknown coder"),
    (lambda m: size.size_bytes(m, P(per_tensor={"fc.weight": S("fp16")})), "not a stored tensor"),
    (lambda m: packing.export(m, P(per_tensor={"bias": S("int", 4)})), "give it Storage('fp32')"),
    (lambda m: size.size_bytes(m, P(S("int", 4)), 4), "drop bits="),
    (lambda m: packing.load(b"", m, 8), "format name, a Storage or a Plan"),
])
def test_bad_plans_name_the_fix(call, fix):
    with pytest.raises((ValueError, TypeError), match=fix.replace("(", r"\(").replace(")", r"\)")) as e:
        call(linear())
    assert "\n" not in str(e.value)
