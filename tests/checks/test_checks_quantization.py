"""Each check of notebook 03 passes the reference solution, fails a stub and plausible wrong answers,
and does not lean on ``labkit.quant`` / ``labkit.ptq`` (whose bugs must not hide the same student bug)."""
import random

import pytest
import torch

from labkit import checks
from labkit.checks import quantization as qchecks
from labkit.quantization import ptq, quant


# ---- reference solutions (the notebook's exercise cells) ----------------------------------------

def quantize(x, scale, zero_point, qmin, qmax):
    return (torch.round(x / scale) + zero_point).clamp(qmin, qmax).to(torch.int64)


def dequantize(q, scale, zero_point):
    return (q - zero_point).float() * scale


def linear_qparams(x, bits, scheme, dim=None):
    if dim is None:
        lo, hi = x.min(), x.max()
    else:
        rows = x.movedim(dim, 0).reshape(x.shape[dim], -1)
        lo, hi = rows.min(1).values, rows.max(1).values
    lo, hi = lo.clamp(max=0), hi.clamp(min=0)
    if scheme == "symmetric":
        scale = torch.maximum(-lo, hi) / (2 ** (bits - 1) - 1)
        return scale, torch.zeros_like(scale, dtype=torch.int64)
    qmin, qmax = 0, 2 ** bits - 1
    scale = (hi - lo) / (qmax - qmin)
    return scale, torch.round(qmin - lo / scale).clamp(qmin, qmax).to(torch.int64)


def kmeans(w, bits, iters=30):
    x = w.reshape(-1)
    c = torch.linspace(float(x.min()), float(x.max()), 2 ** bits)
    for _ in range(iters):
        idx = (x[:, None] - c[None, :]).abs().argmin(1)
        for j in range(len(c)):
            if (idx == j).any():
                c[j] = x[idx == j].mean()
    return c, (x[:, None] - c[None, :]).abs().argmin(1).reshape(w.shape)


class FakeQuantSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        v = torch.round(x / scale) + zero_point
        ctx.save_for_backward((v >= qmin) & (v <= qmax))
        return (v.clamp(qmin, qmax) - zero_point) * scale

    @staticmethod
    def backward(ctx, grad_output):
        (inside,) = ctx.saved_tensors
        return grad_output * inside, None, None, None, None


def fake_quant(x, scale, zero_point, qmin, qmax):
    return FakeQuantSTE.apply(x, scale, zero_point, qmin, qmax)


def stub(*args, **kwargs):
    raise NotImplementedError()


# ---- linear quantisation -------------------------------------------------------------------------

def test_linear_passes_reference(capsys):
    assert checks.check_linear_quantization(quantize, dequantize, linear_qparams, cases=30) is None
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("which", [0, 1, 2])
def test_linear_fails_stub(which):
    fns = [quantize, dequantize, linear_qparams]
    fns[which] = stub
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_linear_quantization(*fns, cases=5)


WRONG = {
    "no clamp": (lambda x, s, z, qmin, qmax: (torch.round(x / s) + z).to(torch.int64), dequantize, linear_qparams, "clamp"),
    "floor": (lambda x, s, z, qmin, qmax: (torch.floor(x / s) + z).clamp(qmin, qmax).to(torch.int64), dequantize,
              linear_qparams, "fake_quantize"),
    "zero point ignored": (quantize, lambda q, s, z: q.float() * s, linear_qparams, "zero_point"),
    "2**b - 1 for symmetric": (quantize, dequantize,
                               lambda x, b, sch, dim=None: (linear_qparams(x, b, sch, dim)[0] / (2 ** b - 1) * (2 ** (b - 1) - 1)
                                                           if sch == "symmetric" else linear_qparams(x, b, sch, dim)[0],
                                                           linear_qparams(x, b, sch, dim)[1]), "scale should be"),
    "zero point not rounded": (quantize, dequantize,
                               lambda x, b, sch, dim=None: (linear_qparams(x, b, sch, dim)[0],
                                                           (0 - x.min().clamp(max=0) / linear_qparams(x, b, sch, dim)[0])
                                                           if sch == "affine" else linear_qparams(x, b, sch, dim)[1]),
                               "zero_point"),
    "range not widened to 0": (quantize, dequantize,
                               lambda x, b, sch, dim=None: ((x.max() - x.min()) / (2 ** b - 1), torch.round(-x.min() / ((x.max() - x.min()) / (2 ** b - 1))))
                               if sch == "affine" else linear_qparams(x, b, sch, dim), "scale"),
}


@pytest.mark.parametrize("name", WRONG)
def test_linear_fails_wrong_answers(name):
    q, dq, qp, match = WRONG[name]
    with pytest.raises(AssertionError, match=match):
        checks.check_linear_quantization(q, dq, qp, cases=40)


# ---- k-means -------------------------------------------------------------------------------------

def test_kmeans_passes_reference(capsys):
    assert checks.check_kmeans(kmeans, cases=10) is None
    assert "✓" in capsys.readouterr().out


def test_kmeans_fails_stub_and_wrong_answers():
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_kmeans(stub, cases=3)
    with pytest.raises(AssertionError, match="evenly spaced grid"):                   # no Lloyd iterations
        checks.check_kmeans(lambda w, b: kmeans(w, b, iters=0), cases=10)
    with pytest.raises(AssertionError, match="nearest centroid"):                      # indices off by one
        checks.check_kmeans(lambda w, b: (lambda c, i: (c, (i + 1) % len(c)))(*kmeans(w, b)), cases=10)
    with pytest.raises(AssertionError, match="entries"):                               # 2**bits + 1 centroids
        checks.check_kmeans(lambda w, b: kmeans(w, b + 1), cases=10)


# ---- straight-through estimator -----------------------------------------------------------------

def test_ste_passes_reference(capsys):
    assert checks.check_fake_quant_ste(fake_quant, cases=20) is None
    assert "✓" in capsys.readouterr().out


def test_ste_passes_the_library_version(capsys):
    checks.check_fake_quant_ste(quant.fake_quantize_ste, cases=20)      # labkit.quant checked by the independent check
    assert "✓" in capsys.readouterr().out


def test_ste_fails_stub_and_wrong_answers():
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_fake_quant_ste(stub, cases=3)
    plain = lambda x, s, z, qmin, qmax: ((torch.round(x / s) + z).clamp(qmin, qmax) - z) * s   # round: zero gradient
    with pytest.raises(AssertionError, match="gradient"):
        checks.check_fake_quant_ste(plain, cases=20)
    unclipped = lambda x, s, z, qmin, qmax: x + (plain(x, s, z, qmin, qmax) - x).detach()    # STE without clipping
    with pytest.raises(AssertionError, match="must be 0"):
        checks.check_fake_quant_ste(unclipped, cases=20)
    no_clamp = lambda x, s, z, qmin, qmax: x + ((torch.round(x / s) + z - z) * s - x).detach()
    with pytest.raises(AssertionError, match="forward"):
        checks.check_fake_quant_ste(no_clamp, cases=20)


# ---- independent of labkit.quant / labkit.ptq ----------------------------------------------------

def test_checks_do_not_use_labkit_quant_or_ptq(monkeypatch, capsys):
    """Every function of labkit.quant and labkit.ptq raises: the checks still pass the references
    and still fail wrong answers, so they never take their reference from the library."""
    def broken(*args, **kwargs):
        raise RuntimeError("a check used labkit.quant / labkit.ptq")
    for mod in (quant, ptq):
        for name, obj in list(vars(mod).items()):
            if callable(obj) and getattr(obj, "__module__", None) == mod.__name__:
                monkeypatch.setattr(mod, name, broken)
    checks.check_linear_quantization(quantize, dequantize, linear_qparams, cases=20)
    checks.check_kmeans(kmeans, cases=8)
    checks.check_fake_quant_ste(fake_quant, cases=15)
    assert capsys.readouterr().out.count("✓") == 3
    q, dq, qp, match = WRONG["2**b - 1 for symmetric"]
    with pytest.raises(AssertionError, match=match):
        checks.check_linear_quantization(q, dq, qp, cases=40)
    with pytest.raises(AssertionError, match="evenly spaced grid"):
        checks.check_kmeans(lambda w, b: kmeans(w, b, iters=0), cases=10)


def test_reference_qparams_agree_with_pytorch_observers():
    """The check's own min/max qparams equal torch.ao.quantization's MinMaxObserver (per tensor)
    and PerChannelMinMaxObserver (per channel) for the same integer range."""
    from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver
    rng = random.Random(7)
    for _ in range(200):
        bits, scheme = rng.randint(2, 8), rng.choice(["symmetric", "affine"])
        qmin, qmax = qchecks._qrange(bits, scheme)
        x = qchecks._tensor(rng)
        dim = rng.choice([None, rng.randrange(x.dim())])
        sym = scheme == "symmetric"
        kw = dict(quant_min=qmin, quant_max=qmax, dtype=torch.qint8 if sym else torch.quint8)
        if dim is None:
            obs = MinMaxObserver(qscheme=torch.per_tensor_symmetric if sym else torch.per_tensor_affine, **kw)
        else:
            obs = PerChannelMinMaxObserver(ch_axis=dim, qscheme=torch.per_channel_symmetric if sym else torch.per_channel_affine, **kw)
        obs(x if x.dim() > 1 else x[:, None])
        want_s, want_z = obs.calculate_qparams()
        s, z = qchecks._ref_qparams(x, bits, scheme, dim)
        assert torch.allclose(s, want_s.reshape(-1).float(), rtol=1e-6, atol=0)
        assert torch.equal(z, want_z.reshape(-1).long())
    assert qchecks._qrange(8, "symmetric") == (-127, 127) and qchecks._qrange(4, "affine") == (0, 15)


def test_reference_kmeans_error():
    """Lloyd's k-means from a linear initialisation: zero steps is the evenly spaced grid, Lloyd steps
    move the centroids to the cluster means, and lower the error of random weights well below the grid's."""
    w = torch.tensor([-1.0, -1.0, 0.0, 0.5, 0.5, 0.5, 2.0, 2.0]).reshape(2, 4)
    grid = torch.linspace(-1, 2, 4).double()
    want = float((w.double().reshape(-1, 1) - grid).abs().min(1).values.pow(2).mean())
    assert want > 0 and qchecks._lloyd_mse(w, 2, iters=0) == pytest.approx(want)
    three = torch.tensor([0.0, 0.1, 1.0])                       # grid {0, 1}; Lloyd: {0.05, 1}
    assert qchecks._lloyd_mse(three, 1, iters=0) == pytest.approx(0.01 / 3)
    assert qchecks._lloyd_mse(three, 1, iters=50) == pytest.approx(0.005 / 3)
    g = torch.Generator().manual_seed(3)
    w = torch.randn(30, 40, generator=g)
    assert qchecks._lloyd_mse(w, 3, iters=50) < 0.9 * qchecks._lloyd_mse(w, 3, iters=0)


# ---- integer-only inference ------------------------------------------------------------------

def fixed_point_multiplier(m):
    mant, exp = torch.frexp(m.double())
    return torch.round(mant * 2 ** 31).long(), (31 - exp).long()


def integer_linear(x_q, x_scale, x_zp, w_q, w_scale, bias, y_scale, y_zp, rounding="even", use_bias=True, use_xzp=True):
    b_q = torch.round(bias.double() / (x_scale * w_scale.double())).long()
    m = (torch.tensor(x_scale, dtype=torch.float32) * w_scale) / torch.tensor(y_scale, dtype=torch.float32)
    m0, shift = fixed_point_multiplier(m)
    acc = (x_q.long() - (x_zp if use_xzp else 0)) @ w_q.long().T + (b_q if use_bias else 0)
    p = acc * m0
    q = p >> shift
    r = p - (q << shift)
    half = 1 << (shift - 1)
    if rounding == "even":
        q = q + ((r > half) | ((r == half) & (q % 2 == 1))).long()
    elif rounding == "up":
        q = q + (r >= half).long()
    return (q + y_zp).clamp(0, 255).to(torch.uint8)


def float_requant(x_q, x_scale, x_zp, w_q, w_scale, bias, y_scale, y_zp):   # the float path, no integers
    real = ((x_q.double() - x_zp) * x_scale) @ (w_q.double() * w_scale.double()[:, None]).T + bias.double()
    return (torch.round(real / y_scale) + y_zp).clamp(0, 255).to(torch.uint8)


def test_integer_linear_check_passes_the_solution(capsys):
    checks.check_integer_linear(fixed_point_multiplier, integer_linear)
    assert "bit for bit" in capsys.readouterr().out


@pytest.mark.parametrize("fpm, lin, needle", [
    (stub, integer_linear, "not implemented"),
    (lambda m: (torch.round(m.double() * 2 ** 31).long(), torch.full_like(m, 31, dtype=torch.long)), integer_linear,
     "31-bit"),
    (lambda m: fixed_point_multiplier(m)[0].double(), integer_linear, "tuple"),
    (fixed_point_multiplier, lambda *a: integer_linear(*a, rounding="floor"), "floors"),
    (fixed_point_multiplier, lambda *a: integer_linear(*a, use_bias=False), "bias"),
    (fixed_point_multiplier, lambda *a: integer_linear(*a, use_xzp=False), "x_zp"),
    (fixed_point_multiplier, float_requant, "differ from ONNX Runtime"),
    (fixed_point_multiplier, lambda *a: integer_linear(*a).long(), "uint8")])
def test_integer_linear_check_fails_wrong_answers(fpm, lin, needle):
    with pytest.raises(AssertionError, match=needle):
        checks.check_integer_linear(fpm, lin)


def test_fixed_point_agrees_with_onnxruntime_on_many_layers():
    import random
    from labkit.quantization import integer
    total = 0
    for c in integer.layer_cases(60, random.Random(1)):
        b_q = integer.quantize_bias(c["bias"], c["x_scale"], c["w_scale"])
        m0, shift = integer.fixed_point_multiplier(integer.float32_multiplier(c["x_scale"], c["w_scale"], c["y_scale"]))
        mine = integer.integer_linear(c["x_q"], c["x_zp"], c["w_q"], b_q, m0, shift, c["y_zp"])
        theirs = integer.ort_qlinear(c["x_q"], c["x_scale"], c["x_zp"], c["w_q"], c["w_scale"], b_q, c["y_scale"], c["y_zp"])
        assert torch.equal(mine, theirs)
        total += mine.numel()
    assert total > 1000
