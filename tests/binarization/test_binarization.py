"""labkit.binarization: the math (sign, STE, XNOR scale, TWN), the binarized layers and model
rewrite, and the storage plan proved against the real export."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labkit import binarization as B, packing, size
from labkit.models import baseline_cnn, lenet5


def test_sign_maps_zero_to_plus_one_and_ste_clips():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    y = B.binarize(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    y.backward(torch.arange(1.0, 8.0))
    assert x.grad.tolist() == [0, 2, 3, 4, 5, 6, 0]          # |x| <= 1 passes, the rest is clipped


def test_xnor_scale_minimises_the_error_and_matches_the_stored_scale():
    w = torch.randn(6, 3, 3, 3)
    a = B.xnor_scale(w)
    err = lambda s: ((w.reshape(6, -1) - s.view(-1, 1) * B.sign(w).reshape(6, -1)) ** 2).sum()  # noqa: E731
    for f in (0.9, 1.1):
        assert err(a) < err(a * f)
    from labkit.quantization import quant
    assert torch.equal(a, quant.quantize_symmetric(w, 1)[1])   # bit-identical to labkit.size's binary scale


def test_ternarize_twn_threshold_and_straight_through():
    w = torch.randn(4, 50, requires_grad=True)
    codes, alpha = B.ternarize(w)
    rows = w.detach().abs()
    keep = rows > 0.7 * rows.mean(1, keepdim=True)
    assert torch.equal(codes.detach().abs(), keep.float())
    assert torch.allclose(alpha, (rows * keep).sum(1) / keep.sum(1))
    codes.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))            # identity gradient


@pytest.mark.parametrize("technique", ["bwn", "ternary", "xnor"])
def test_binarize_swaps_the_inner_layers(technique):
    m = B.binarized(baseline_cnn(), technique)
    d = B.describe(m)
    assert d["binarized"] == ["conv2", "conv3", "fc1"] and d["technique"] == technique
    relus = sum(isinstance(x, torch.nn.ReLU) for x in m)
    assert relus == (1 if technique == "xnor" else 4)          # XNOR: BN right before each sign
    m(torch.randn(2, 1, 28, 28)).sum().backward()              # trains: gradients reach the latent weights
    assert all(l.weight.grad is not None for l in B.binary_layers(m).values())


def test_binary_conv_pads_with_minus_one():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False)
    b = B.layers.from_float(conv, "binary", True)
    x = torch.randn(1, 2, 5, 5)
    want = F.conv2d(F.pad(B.sign(x), (1, 1, 1, 1), value=-1.0), B.sign(conv.weight)) * B.xnor_scale(conv.weight).view(1, -1, 1, 1)
    assert torch.equal(b(x), want)


def test_layers_by_label_and_bad_names():
    m = baseline_cnn()
    assert B.layers.resolve(m, ["fc1", "conv2"]) == ["13", "4"]
    with pytest.raises(ValueError, match="unknown layer"):
        B.binarized(m, "bwn", ["conv9"])
    with pytest.raises(ValueError, match="use one of"):
        B.binarized(m, "nonsense")


@pytest.mark.parametrize("technique,builder", [("bwn", baseline_cnn), ("ternary", baseline_cnn), ("xnor", lenet5)])
def test_counted_bytes_equal_the_export_which_loads_back_exactly(technique, builder, tmp_path):
    m = B.binarized(builder().eval(), technique).eval()
    blob = B.export(m)
    path = tmp_path / "model.bin"
    path.write_bytes(blob)
    assert B.size_bytes(m) == path.stat().st_size == len(blob)
    state = B.load_state(path.read_bytes(), m)
    for name, layer in B.binary_layers(m).items():
        codes, alpha = layer.codes_alpha()
        assert torch.equal(state[f"{name}.weight"], (codes * alpha.view(-1, *[1] * (codes.dim() - 1))).detach())


def test_binarized_layers_are_exactly_32x_smaller_plus_scales():
    m = B.binarized(baseline_cnn(), "xnor")
    for r in B.layer_bytes(m):
        assert r["bits_bytes"] * 32 == r["fp32_bytes"]
        out = m.get_submodule(r["layer"]).weight.shape[0]
        assert r["scale_bytes"] == 4 * out and r["bytes"] == r["bits_bytes"] + r["scale_bytes"]
    assert size.size_bytes(baseline_cnn(), "fp32") / B.size_bytes(m) >= 15


def test_plan_stores_first_and_last_layers_in_fp32():
    m = B.binarized(baseline_cnn(), "bwn")
    rows = {r["name"]: r["storage"] for r in size.size_report(B.stored_state(m), B.plan(m))}
    assert rows["0.weight"] == rows["15.weight"] == "fp32"
    assert rows["4.weight"] == rows["8.weight"] == rows["13.weight"] == "binary"
    t = B.binarized(baseline_cnn(), "ternary")
    assert {r["storage"] for r in size.size_report(B.stored_state(t), B.plan(t)) if r["name"] == "13.weight"} == {"int2"}
    assert packing  # the export goes through labkit.packing (see the test above)


def test_runs_parse_and_bad_runs_name_the_format():
    assert B.parse_run("cnn/xnor/inner/0+1/2ep") == ("cnn", "xnor", None, [0, 1], 2)
    assert B.parse_run("cnn/bwn/conv2,conv3/0/0.5ep") == ("cnn", "bwn", ["conv2", "conv3"], [0], 0.5)
    for bad in ("cnn/xnor/inner/0", "cnn/xnor/inner/0/2", "cnn/nope/inner/0/1ep"):
        with pytest.raises(ValueError, match="use"):
            B.parse_run(bad)


def test_headline_gives_mean_and_spread_over_seeds():
    p = lambda seed, acc: {"config": {"model": "cnn", "technique": "bwn", "layers": ["fc1"], "seed": seed},  # noqa: E731
                           "accuracy_pct": acc, "size_bytes": 10, "macs": 5}
    (h,) = B.headline([p(0, 90.0), p(1, 92.0)])
    assert (h["seeds"], h["accuracy_mean"], h["accuracy_std"], h["accuracy_min"], h["accuracy_max"]) == (2, 91.0, 1.0, 90.0, 92.0)
