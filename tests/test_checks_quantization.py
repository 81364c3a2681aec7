"""Each check of notebook 03 passes the reference solution, fails a stub and plausible wrong answers."""
import pytest
import torch

from labkit import checks
from labkit.quantization.quant import fake_quantize_ste


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


# the STE solution is the library's own (labkit.quant.fake_quantize_ste)
fake_quant = fake_quantize_ste


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
