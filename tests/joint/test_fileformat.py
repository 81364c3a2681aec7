"""The compressed file: write, read back, re-evaluate; damage is refused with one clear line."""
import os

import numpy as np
import pytest
import torch

from labkit import joint, zoo
from labkit.joint import fileformat
from labkit.layers import fold_batchnorm, weighted_layers
from labkit.pruning.masks import apply_masks_, magnitude_masks
from labkit.train import evaluate


@pytest.fixture(scope="module")
def compressed():
    """LeNet-5, pruned 90 % and shared in 4 bits (no fine-tuning: the file, not the accuracy, is tested)."""
    m = fold_batchnorm(zoo.load("lenet5", device="cpu"))
    apply_masks_(m, magnitude_masks(m, 0.9))
    joint.share_(m, {n: 4 for n in weighted_layers(m)})
    return joint.bake_(m).eval()


def test_gaps_round_trip_with_escapes():
    rng = np.random.default_rng(0)
    for ib in (2, 3, 8):
        nz = np.sort(rng.choice(5000, 300, replace=False))
        sym = fileformat.gaps(nz, ib)
        assert sym.max() <= 2 ** ib - 1 and np.array_equal(fileformat.positions(sym, ib), nz)
    assert list(fileformat.gaps(np.array([0, 3, 10]), 2)) == [0, 2, 3, 3, 0]   # 3 = skip 3 zeros, no weight


def test_write_read_evaluate(compressed, tmp_path):
    path = tmp_path / "lenet5.lkjc"
    parts = joint.write(compressed, path)
    assert sum(parts.values()) == os.path.getsize(path)
    decoded = joint.read(path, compressed)
    for (k, a), b in zip(compressed.state_dict().items(), decoded.state_dict().values()):
        if a.dim() >= 2:
            assert torch.equal(a, b), k                           # weights exactly
        else:
            assert torch.allclose(a, b, atol=1e-2, rtol=1e-3), k  # biases as fp16
    assert all(joint.distinct_values(l.weight) <= 16 for l in weighted_layers(decoded).values())
    acc, acc_decoded = evaluate(compressed, limit=500), evaluate(decoded, limit=500)
    assert abs(acc - acc_decoded) <= 0.4
    assert os.path.getsize(path) < 246_824 / 20                   # > 20x smaller than fp32


def test_fp16_codebooks_and_compact_tables(compressed):
    """Codebooks rounded to fp16 (``bake_(m, torch.float16)``, as the pipeline does) are stored in 2
    bytes a centroid and biases rounded to int8 in 1 byte a value, and both still decode exactly;
    the two Huffman tables are the compact ones."""
    m = fold_batchnorm(zoo.load("lenet5", device="cpu"))
    apply_masks_(m, magnitude_masks(m, 0.9))
    joint.share_(m, {n: 4 for n in weighted_layers(m)})
    half = joint.bake_(m, torch.float16).eval()
    b32, p32 = joint.encode(compressed)
    b16, p16 = joint.encode(half)
    def centroids(m):
        return sum(joint.distinct_values(layer.weight) for layer in weighted_layers(m).values())
    assert p32["codebooks (fp32 centroids)"] == 4 * centroids(compressed)
    assert p16["codebooks (fp16 centroids)"] == 2 * centroids(half)
    streams = fileformat.streams(half)
    assert p16["entropy tables (2 Huffman)"] == sum(1 + (int(s.max()) + 2) // 2 for s in streams.values())
    decoded = joint.decode(b16, half)
    for k, v in half.state_dict().items():
        if v.dim() >= 2:
            assert torch.equal(v, decoded[k]) and torch.equal(v, v.half().float()), k
    assert len(b16) < len(b32)
    # biases rounded to int8 x an fp16 scale (joint.round_vectors_, as the pipeline does): 1 byte each
    joint.round_vectors_(half)
    b8, p8 = joint.encode(half)
    n_vec = [v.numel() for v in half.state_dict().values() if v.dim() < 2]
    assert p16["vectors (fp16 biases)"] == 2 * sum(n_vec) and p8["vectors (int8 biases, fp16 scales)"] == sum(n_vec) + 2 * len(n_vec)
    decoded = joint.decode(b8, half)
    assert all(torch.equal(v, decoded[k]) for k, v in half.state_dict().items())
    assert len(b8) == len(b16) - sum(n_vec) + 2 * len(n_vec)


def test_damage_is_refused(compressed, tmp_path):
    blob, _ = joint.encode(compressed)
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x10
    cases = {"truncated": blob[:-7], "CRC32 mismatch": bytes(flipped), "magic": b"XXXX" + blob[4:],
             "shorter than its 16-byte header": blob[:9], "extra bytes": blob + b"\0"}
    for why, bad in cases.items():
        with pytest.raises(ValueError, match=why) as e:
            joint.decode(bad, compressed)
        assert "\n" not in str(e.value) and "joint.write" in str(e.value)


def test_wrong_template_is_refused(compressed):
    blob, _ = joint.encode(compressed)
    with pytest.raises(ValueError, match="architecture"):
        joint.decode(blob, fold_batchnorm(zoo.load("cnn", device="cpu")))


def test_share_sums_gradients_per_centroid():
    layer = torch.nn.Linear(6, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.arange(24.0).reshape(4, 6) - 12)
        layer.weight[0, :3] = 0
    joint.share_(torch.nn.Sequential(layer), {"0": 2})
    shared = layer.parametrizations.weight[0]
    x = torch.randn(5, 6)
    layer(x).sum().backward()
    g = (torch.ones(5, 4).t() @ x)                                # dL/dW of sum(Wx + b)
    g = g * shared.mask
    want = torch.zeros(shared.codebook.numel()).index_add_(0, shared.index.reshape(-1), g.reshape(-1))
    assert torch.allclose(shared.codebook.grad, want, atol=1e-5)
    assert (layer.weight[0, :3] == 0).all()


def test_fit_allocation_counts_the_real_file():
    """The fitted allocation's one-shot file (header, tables, biases included) fits the target with
    the margin, where the allocator's estimate alone would be over it."""
    base = zoo.load("lenet5", device="cpu")
    names = list(weighted_layers(base))
    opts = [(0.9, 3), (0.95, 2), (0.98, 2)]
    cost = {n: {o: i * (1 + k) for i, o in enumerate(opts)} for k, n in enumerate(names)}
    size = {n: {o: joint.option_bytes(weighted_layers(base)[n].weight.numel(), *o) for o in opts} for n in names}
    table = {"cost": cost, "size": size}
    target = 4000
    alloc = joint.fit_allocation(base, table, target, margin=0.05)
    assert joint.one_shot_bytes(base, alloc) <= 0.95 * target
    naive = joint.allocation(table, target)
    assert joint.one_shot_bytes(base, naive) > joint.one_shot_bytes(base, alloc)
    with pytest.raises(ValueError, match="raise the byte budget"):
        joint.fit_allocation(base, table, 300)
