"""labkit.quant's linear quantisation, ranges and straight-through estimator, against PyTorch's ops."""
import pytest
import torch

from labkit.quantization import quant


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_qrange():
    assert quant.qrange(8, "symmetric") == (-127, 127)
    assert quant.qrange(2, "symmetric") == (-1, 1)
    assert quant.qrange(8, "affine") == (0, 255)
    assert quant.qrange(1, "affine") == (0, 1)


@pytest.mark.parametrize("scheme", quant.SCHEMES)
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_agrees_with_torch_fake_quantize(scheme, bits, dim):
    x = rand(6, 5, 4, seed=bits) * 3 + (1.0 if scheme == "affine" else 0.0)
    qmin, qmax = quant.qrange(bits, scheme)
    lo, hi = quant.tensor_range(x, dim=dim)
    scale, zp = quant.qparams(lo, hi, bits, scheme)
    if dim is None:
        scale, zp = scale.reshape(()), zp.reshape(())
        want = torch.fake_quantize_per_tensor_affine(x, float(scale), int(zp), qmin, qmax)
    else:
        want = torch.fake_quantize_per_channel_affine(x, scale, zp.int(), dim, qmin, qmax)
    q = quant.quantize(x, scale, zp, bits, scheme, dim)
    assert q.dtype == torch.int64 and q.min() >= qmin and q.max() <= qmax
    assert torch.equal(quant.dequantize(q, scale, zp, dim), want)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_error_within_half_a_step_and_zero_exact(bits):
    x = rand(50, 20, seed=1)
    for scheme in quant.SCHEMES:
        lo, hi = quant.tensor_range(x, dim=0)
        s, z = quant.qparams(lo, hi, bits, scheme)
        back = quant.dequantize(quant.quantize(x, s, z, bits, scheme, 0), s, z, 0)
        qmin, qmax = quant.qrange(bits, scheme)
        s_, z_ = s[:, None], z[:, None]
        inside = (x >= (qmin - z_) * s_) & (x <= (qmax - z_) * s_)
        err = (back - x).abs()
        assert (err[inside] <= (s_ / 2 * (1 + 1e-5)).expand_as(x)[inside]).all()
        assert (err <= s_ * (1 + 1e-5)).all()                      # the clipped edge: under one step
        zero = quant.dequantize(quant.quantize(torch.zeros(50, 1), s, z, bits, scheme, 0), s, z, 0)
        assert torch.equal(zero, torch.zeros(50, 1))


def test_qparams_edge_cases():
    s, z = quant.qparams(0.0, 0.0, 8, "affine")                   # empty range: scale 1, no division by 0
    assert float(s) == 1.0 and int(z) == 0
    s, z = quant.qparams(1.0, 3.0, 8, "affine")                   # all positive: range widened to [0, 3]
    assert float(s) == pytest.approx(3 / 255) and int(z) == 0
    s, z = quant.qparams(-2.0, -1.0, 4, "affine")                 # all negative: zero at the top code
    assert int(z) == 15
    s, z = quant.qparams(-1.0, 4.0, 4, "symmetric")
    assert float(s) == pytest.approx(4 / 7) and int(z) == 0


def test_ranges_percentile_clips_and_mse_is_best():
    x = rand(10_000, seed=2)
    x[::997] *= 40                                                  # a few outliers
    lo, hi = quant.tensor_range(x, "minmax")
    assert float(lo) == float(x.min()) and float(hi) == float(x.max())
    plo, phi = quant.tensor_range(x, "percentile", percentile=99.9)
    assert float(plo) > float(lo) and float(phi) < float(hi)
    errs = {m: float((quant.fake_quantize(x, 4, method=m) - x).pow(2).mean()) for m in quant.RANGE_METHODS}
    assert errs["mse"] <= errs["minmax"] and errs["mse"] <= errs["percentile"] * 1.0001


def test_per_channel_beats_per_tensor_with_outlier_channels():
    w = rand(16, 32, seed=3)
    w[:2] *= 50                                                     # two outlier channels
    e_t = (quant.fake_quantize(w, 4, granularity="tensor") - w)[2:].pow(2).mean()      # the ordinary channels
    e_c = (quant.fake_quantize(w, 4, granularity="channel", dim=0) - w)[2:].pow(2).mean()
    assert e_c < e_t / 100


def test_ste_matches_torch_forward_and_gradient():
    x = rand(8, 9, seed=4) * 2
    for scale, zp, qmin, qmax in [(0.1, 0, -7, 7), (0.05, 100, 0, 255), (0.3, 1, 0, 3)]:
        a = x.clone().requires_grad_(True)
        b = x.clone().requires_grad_(True)
        up = rand(8, 9, seed=5)
        ya = quant.fake_quantize_ste(a, scale, zp, qmin, qmax)
        yb = torch.fake_quantize_per_tensor_affine(b, scale, zp, qmin, qmax)
        assert torch.allclose(ya, yb)
        ya.backward(up)
        yb.backward(up)
        assert torch.equal(a.grad, b.grad)
        assert (a.grad == 0).any() and (a.grad != 0).any()            # some values clamped, some not


@pytest.mark.parametrize("call, match", [
    (lambda: quant.qrange(0), "from 1 to 32"),
    (lambda: quant.qrange(33, "affine"), "from 1 to 32"),
    (lambda: quant.qrange(1, "symmetric"), "bits >= 2"),
    (lambda: quant.qrange(8, "asymmetric"), "unknown quantisation scheme"),
    (lambda: quant.fake_quantize(torch.ones(3), 8, granularity="row"), "unknown granularity"),
    (lambda: quant.fake_quantize(torch.ones(3, 2), 8, granularity="channel", dim=2), "dim inside"),
    (lambda: quant.tensor_range(torch.ones(3), "entropy"), "unknown range method"),
    (lambda: quant.tensor_range(torch.ones(3), "percentile", percentile=40), "percentile must be"),
    (lambda: quant.tensor_range(torch.ones(0)), "empty tensor"),
])
def test_bad_input_names_the_fix(call, match):
    with pytest.raises((ValueError, TypeError), match=match) as e:
        call()
    assert "\n" not in str(e.value)
