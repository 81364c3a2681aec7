"""labkit.ptq: BatchNorm folding, fake-quantised layers, calibration, k-means sharing, and the byte
count of quantised models proved against their export."""
import pytest
import torch
from torch import nn

from labkit import metrics, packing, size
from labkit.quantization import ptq
from labkit.quantization import sweep as qsweep
from labkit.quantization import quant


def tiny(seed=0):
    """Conv-BN-ReLU-pool + Linear on 1x8x8 inputs, with random BatchNorm statistics."""
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(64, 6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        bn = m[1]
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.2, 3)
        bn.weight.uniform_(0.1, 4)                                    # very different channel scales
        bn.bias.uniform_(-1, 1)
    return m.eval()


def batches(n=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 1, 8, 8, generator=g), torch.randint(0, 3, (16,), generator=g)) for _ in range(n)]


def test_fold_batchnorm_is_exact():
    m = tiny()
    f = ptq.fold_batchnorm(m)
    x = batches(1)[0][0]
    assert torch.allclose(f(x), m(x), atol=1e-5)
    assert isinstance(f[1], nn.Identity) and f[0].bias is not None
    assert isinstance(m[1], nn.BatchNorm2d)                           # the original is untouched
    assert ptq.layer_names(f) == ["0", "5", "7"]


def test_weights_lie_on_the_grid_and_8_bits_is_close():
    m = tiny()
    for bits in (2, 4, 8):
        q = ptq.quantize_model(m, bits)
        for name, layer in ptq.quant_layers(q).items():
            w = layer.layer.weight.detach()
            assert layer.frozen and layer.weight_bits == bits
            for row in w.reshape(w.shape[0], -1):                      # per channel: at most 2**bits - 1 levels
                assert row.unique().numel() <= 2 ** bits - 1
    x = batches(1)[0][0]
    assert torch.allclose(ptq.quantize_model(m, 8)(x), m(x), atol=0.05)


def test_calibration_sets_ranges_that_cover_the_data():
    m = tiny()
    q = ptq.quantize_model(m, 8, act_bits=8, method="minmax", batches=batches())
    first = ptq.quant_layers(q)["0"]
    lo, hi = first.act_range()
    xs = torch.cat([x for x, _ in batches()])
    assert lo <= float(xs.min()) + 1e-3 and hi >= float(xs.max()) - 2 * float(first.act_scale)
    clipped = ptq.quantize_model(m, 8, act_bits=4, method="percentile", batches=batches())
    assert ptq.quant_layers(clipped)["0"].act_range()[1] <= hi + 1e-6
    x = batches()[0][0]                                               # inside the calibrated ranges: close
    assert torch.allclose(q(x), m(x), atol=0.1)


@pytest.mark.parametrize("bits, act_bits", [(8, None), (4, None), (3, 8), ({"0": 8, "5": 2, "7": None}, None),
                                            ({"0": 6}, 4)])
def test_size_equals_export_and_export_decodes_to_the_model(bits, act_bits):
    m = tiny()
    q = ptq.quantize_model(m, bits, act_bits=act_bits, batches=batches())
    blob = ptq.export(q)
    assert ptq.size_bytes(q) == len(blob)
    state = ptq.load(blob, q)
    for k, v in q.state_dict().items():
        assert torch.allclose(state[k], v, rtol=1e-6, atol=1e-7), k
    if isinstance(bits, int) and act_bits is None:                     # uniform, weights only: labkit.size's nbit
        assert ptq.size_bytes(q) == size.size_bytes(q, "nbit", bits)


def test_activation_qparams_are_counted():
    m = tiny()
    w_only = ptq.size_bytes(ptq.quantize_model(m, 4))
    with_act = ptq.size_bytes(ptq.quantize_model(m, 4, act_bits=4, batches=batches()))
    assert with_act - w_only == 3 * 2 * 4                               # 3 layers x (scale, zero-point) x fp32


def test_share_weights_codebook_round_trip():
    m = tiny()
    s = ptq.share_weights(m, 2)
    for name in ptq.layer_names(s):
        assert s.get_submodule(name).weight.unique().numel() <= 4
    blob = packing.export(s, "codebook", 2)
    assert len(blob) == size.size_bytes(s, "codebook", 2)
    back = packing.load(blob, s, "codebook", 2)
    assert all(torch.equal(back[k], v) for k, v in s.state_dict().items())


def test_quant_layer_gradient_flows_straight_through():
    layer = ptq.QuantLayer(nn.Linear(5, 3), weight_bits=4)
    x = torch.randn(7, 5)
    layer(x).sum().backward()
    assert layer.layer.weight.grad is not None and layer.layer.weight.grad.abs().sum() > 0


def test_macs_are_counted_through_quant_layers():
    m = tiny()
    for q in (ptq.quantize_model(m, 4, act_bits=8, batches=batches()), ptq.wrap(m, 2)):
        assert metrics.count_macs(q, (1, 1, 8, 8)) == metrics.count_macs(m, (1, 1, 8, 8)) > 0


def test_layer_labels():
    labels = ptq.layer_labels(ptq.fold_batchnorm(tiny()))
    assert labels["0"] == "Conv2d 1->4, 3x3, 36 weights" and labels["7"] == "Linear 6->3, 18 weights"


@pytest.mark.parametrize("call, match", [
    (lambda: ptq.quantize_model(tiny(), 0), "from 1 to 32"),
    (lambda: ptq.quantize_model(tiny(), 33), "from 1 to 32"),
    (lambda: ptq.quantize_model(tiny(), 4, granularity="row"), "unknown granularity"),
    (lambda: ptq.quantize_model(tiny(), 4, method="entropy"), "unknown range method"),
    (lambda: ptq.quantize_model(tiny(), {"fc": 4}), "unknown layer"),
    (lambda: ptq.size_bytes(ptq.wrap(tiny(), 4)), "not frozen"),
    (lambda: ptq.size_bytes(ptq.quantize_model(tiny(), 4, granularity="tensor")), "per tensor"),
    (lambda: ptq.quant_layers(ptq.quantize_model(tiny(), 4))["0"].act_range(), "no activation range"),
    (lambda: ptq.QuantLayer(nn.ReLU()), "wraps nn.Conv2d or nn.Linear"),
    (lambda: qsweep.ptq_point(tiny(), 4, "activations", "mse"), "unknown PTQ mode"),
])
def test_bad_input_names_the_fix(call, match):
    with pytest.raises((ValueError, TypeError), match=match) as e:
        call()
    assert "\n" not in str(e.value)


def test_uncalibrated_activations_are_refused():
    q = ptq.wrap(tiny(), 8, act_bits=8)
    with pytest.raises(RuntimeError, match="calibrate"):
        ptq.quant_layers(q)["0"].set_act_range_()
    assert quant.qrange(8, "affine") == (0, 255)
