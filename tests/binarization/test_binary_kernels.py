"""labkit.binarization.kernels: the XNOR-popcount kernels agree exactly with the float +-1
arithmetic, and the packed model decoded from the exported bytes predicts exactly what the
fake-quantized model does."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labkit import binarization as B, speedups
from labkit.binarization import kernels as K, ledger
from labkit.models import baseline_cnn, lenet5


@pytest.mark.parametrize("k", [1, 63, 64, 65, 200, 1152])
def test_xnor_matmul_is_the_integer_pm1_matmul(k):
    g = torch.Generator().manual_seed(k)
    x, w = torch.randn(5, k, generator=g), torch.randn(9, k, generator=g)
    got = K.xnor_matmul(x.numpy(), w)
    assert got.dtype == np.int32
    assert np.array_equal(got, (B.sign(x) @ B.sign(w).T).numpy().astype(np.int32))


@pytest.mark.parametrize("stride,padding,kernel", [(1, 1, 3), (2, 0, 3), (1, 2, 5), (2, 1, 1)])
def test_xnor_conv_is_the_integer_pm1_conv_padded_with_minus_one(stride, padding, kernel):
    g = torch.Generator().manual_seed(stride * 10 + padding)
    x, w = torch.randn(2, 5, 9, 7, generator=g), torch.randn(4, 5, kernel, kernel, generator=g)
    want = F.conv2d(F.pad(B.sign(x), (padding,) * 4, value=-1.0), B.sign(w), stride=stride)
    assert np.array_equal(K.xnor_conv(x.numpy(), w, stride, padding), want.numpy().astype(np.int32))


def test_pack_bits_pads_with_zero_words():
    words = K.pack_bits(np.ones((2, 65), bool))
    assert words.shape == (2, 2) and words.dtype == np.uint64
    assert int(words[0, 0]) == 2 ** 64 - 1 and int(words[0, 1]) == 1


@pytest.mark.parametrize("technique,builder", [("xnor", baseline_cnn), ("xnor", lenet5), ("bwn", baseline_cnn),
                                               ("ternary", lenet5)])
def test_packed_model_predicts_exactly_what_the_trained_model_does(technique, builder):
    torch.manual_seed(0)
    m = B.binarized(builder(), technique)
    opt = torch.optim.Adam(m.parameters(), 1e-2)              # a few steps: BN statistics and weights move
    for _ in range(3):
        x = torch.randn(16, 1, 28, 28)
        opt.zero_grad()
        F.cross_entropy(m(x), torch.randint(0, 10, (16,))).backward()
        opt.step()
    m.eval()
    packed = K.packed_model(m, B.export(m))
    x = torch.randn(64, 1, 28, 28)
    with torch.inference_mode():
        assert torch.equal(m(x), packed(x))                   # bit-identical logits, not just predictions
        assert torch.equal(m(x[:1]), packed(x[:1]))           # and at batch 1 (another buffer shape)


def test_the_ledger_counts_ops_and_bytes():
    m = B.binarized(baseline_cnn(), "xnor").eval()
    rows = ledger.ledger(m, batch_sizes=(1,), repeats=2)
    by = {r["layer"]: r for r in rows}
    assert by["fc1"]["op_ratio"] == 64.0 and by["fc1"]["macs"] == 1152 * 256
    assert by["conv2"]["op_ratio"] == pytest.approx(288 / 5)      # 288 weights a patch: 5 words
    assert by["fc1"]["bytes_ratio"] == 1152 * 256 * 4 / (1152 * 256 / 8 + 4 * 256)
    assert all(r["fp32_ms"] > 0 and r["packed_ms"] > 0 for r in rows)
    for r in rows:                        # each speedup: the protocol's paired median inside its 95 % interval
        for key, within in (("speedup", "within_noise"), ("speedup_vs_deployed", "within_noise_vs_deployed"),
                            ("speedup_deployed_vs_fp32", "within_noise_deployed_vs_fp32")):
            assert 0 < r[f"{key}_lo"] <= r[key] <= r[f"{key}_hi"] and isinstance(r[within], bool)
        assert r["noise_floor"] >= 0 and r["floor_line"].startswith("A/A noise floor: ±")
    text = ledger.ledger_table(rows)
    assert "x measured" not in text
    cell = re.compile(r"(\d+\.\d\dx \[\d+\.\d\d-\d+\.\d\d\]|≈1 \(within noise\))")
    for r in rows:
        line = next(ln for ln in text.splitlines() if ln.split()[:1] == [r["layer"]])
        assert len(cell.findall(line)) == 2                    # measured and vs deployed, both with an interval
        assert speedups.text(r) in line and speedups.text(r, "speedup_vs_deployed") in line
    floors = [ln for ln in text.splitlines() if "A/A noise floor: ±" in ln]
    assert len(floors) == len(rows) and floors[0].startswith(f"{rows[0]['layer']}, batch 1: ")   # one per run
    assert [ledger.reuse(r) for r in rows] == [14 * 14, 7 * 7, 1]          # conv2, conv3, fc1 at batch 1


def test_the_roofline_reading_is_a_verdict_per_row_from_its_numbers():
    row = lambda layer, b, macs, nbytes, sp: {"layer": layer, "batch_size": b, "macs": macs, "fp32_bytes": nbytes,
                                             "op_ratio": 64.0, "speedup": sp, "speedup_lo": sp * 0.9,
                                             "speedup_hi": sp * 1.1, "within_noise": False}
    fc1, fc1_64 = 1152 * 256, 1152 * 256 * 64
    goals = ledger.roofline_goals([row("fc1", 1, fc1, 4 * fc1, 4.0), row("fc1", 1, fc1, 4 * fc1, 0.5),
                                   row("fc1", 64, fc1_64, 4 * fc1, 9.0), row("fc1", 64, fc1_64, 4 * fc1, 80.0)])
    assert [g["verdict"].strip() for g in goals] == ["met (timed)", "NOT met (timed)", "met (timed)", "NOT met (timed)"]
    assert "memory-bound" in goals[0]["goal"] and "compute-bound" in goals[2]["goal"]
    assert goals[0]["target"] == "> 1.00x" and goals[2]["target"] == "< 64.00x"
