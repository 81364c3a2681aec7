"""labkit.lowrank: the tensor math against independent references, the factorized layers against
the dense ones they replace, rank selection, and the sweep's plumbing."""
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from labkit import lowrank, metrics, speedups
from labkit.models import baseline_cnn


def _seeded(seed=0):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------- SVD
def test_svd_factors_are_the_eckart_young_optimum():
    W = torch.randn(20, 13, generator=_seeded())
    for r in (1, 5, 13):
        A, B = lowrank.svd_factors(W, r)
        assert A.shape == (20, r) and B.shape == (r, 13)
        s = np.linalg.svd(W.double().numpy(), compute_uv=False)
        want = np.sqrt((s[r:] ** 2).sum() / (s ** 2).sum())
        assert lowrank.relative_error(W, A @ B) == pytest.approx(want, abs=1e-5)
        assert lowrank.svd_error(W, r) == pytest.approx(want, abs=1e-10)
    assert lowrank.relative_error(W, torch.mm(*lowrank.svd_factors(W, 13))) < 1e-5


def test_energy_and_rank_for_energy():
    W = torch.diag(torch.tensor([3.0, 2.0, 1.0]))
    e = lowrank.energy(W)
    assert torch.allclose(e, torch.tensor([9 / 14, 13 / 14, 1.0], dtype=torch.float64))
    assert lowrank.rank_for_energy(W, 0.5) == 1
    assert lowrank.rank_for_energy(W, 13 / 14) == 2
    assert lowrank.rank_for_energy(W, 0.95) == 3
    with pytest.raises(ValueError, match="fraction"):
        lowrank.rank_for_energy(W, 0)


def test_break_even_rank_is_where_the_two_factors_store_as_much():
    m, n = 256, 1152
    r = lowrank.break_even_rank(m, n)
    assert int(r) * (m + n) < m * n <= (int(r) + 1) * (m + n)


def test_svd_linear_computes_the_rank_r_layer_and_counts():
    layer = nn.Linear(30, 12)
    two = lowrank.svd_linear(layer, 4)
    x = torch.randn(5, 30, generator=_seeded(1))
    A, B = lowrank.svd_factors(layer.weight, 4)
    assert torch.allclose(two(x), x @ (A @ B).T + layer.bias, atol=1e-5)
    assert metrics.count_params(two) == 4 * (30 + 12) + 12
    assert lowrank.params_factored(layer, 4) == 4 * 42
    full = lowrank.svd_linear(layer, 12)
    assert torch.allclose(full(x), layer(x), atol=1e-5)


# ---------------------------------------------------------------------------- Tucker-2
def test_tucker2_full_rank_is_exact_and_hooi_never_worse():
    K = torch.randn(8, 6, 3, 3, generator=_seeded(2))
    C, Uo, Ui = lowrank.tucker2(K, 8, 6)
    assert torch.allclose(lowrank.tucker2_full(C, Uo, Ui), K.double(), atol=1e-10)
    errs = [lowrank.relative_error(K, lowrank.tucker2_full(*lowrank.tucker2(K, 3, 2, hooi_steps=s))) for s in (0, 1, 5)]
    assert errs[1] <= errs[0] + 1e-12 and errs[2] <= errs[1] + 1e-12
    # HOSVD's factors are orthonormal; the core is the projection
    assert torch.allclose(Uo.T @ Uo, torch.eye(8, dtype=torch.float64), atol=1e-10)


def test_tucker_conv_matches_the_dense_conv_with_its_kernel():
    conv = nn.Conv2d(6, 10, 3, stride=2, padding=1, bias=True)
    x = torch.randn(2, 6, 9, 9, generator=_seeded(3))
    chain = lowrank.tucker_conv(conv, 4, 3)
    C, Uo, Ui = lowrank.tucker2(conv.weight, 4, 3, hooi_steps=2)
    want = nn.functional.conv2d(x, lowrank.tucker2_full(C, Uo, Ui).float(), conv.bias, stride=2, padding=1)
    assert torch.allclose(chain(x), want, atol=1e-4)
    assert torch.allclose(lowrank.tucker_conv(conv, 10, 6)(x), conv(x), atol=1e-4)
    assert metrics.count_params(chain) - 10 == lowrank.params_factored(conv, (4, 3))


# ---------------------------------------------------------------------------- CP
def test_cp_als_recovers_an_exact_low_rank_tensor_and_cp_conv_runs_it():
    g = _seeded(4)
    true = [torch.randn(d, 3, generator=g, dtype=torch.float64) for d in (5, 4, 3, 3)]
    T = lowrank.cp_full(true)
    factors, history = lowrank.cp_als(T, 3, steps=200)
    assert history[-1] < 1e-4 and not lowrank.cp_diverged(factors, T)
    assert all(b <= a + 1e-9 for a, b in zip(history, history[1:]))       # ALS never increases the error
    conv = nn.Conv2d(4, 5, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(T.float())
    chain = lowrank.cp_conv(conv, 3, steps=200)
    x = torch.randn(2, 4, 7, 7, generator=g)
    assert torch.allclose(chain(x), conv(x), atol=1e-3)
    assert [type(m) for m in chain] == [nn.Conv2d] * 4 and chain[1].groups == chain[2].groups == 3
    assert metrics.count_params(chain) - 5 == lowrank.params_factored(conv, 3, "cp")


def test_cp_diverged_flags_cancelling_components():
    a = torch.ones(3, 2, dtype=torch.float64)
    big = [a * 1e3, torch.tensor([[1.0, -1.0]] * 3, dtype=torch.float64), a, a]
    assert lowrank.cp_diverged(big, torch.ones(3, 3, 3, 3))


# ---------------------------------------------------------------------------- models, selection
def test_factorize_copies_and_leaves_dense_layers_alone():
    torch.manual_seed(0)
    model = baseline_cnn(width=4).eval()
    out = lowrank.factorize(model, {"4": (4, 2), "8": None, "13": 3})
    assert isinstance(model[4], nn.Conv2d) and isinstance(out[4], nn.Sequential) and out[8] is not model[8]
    assert isinstance(out[8], nn.Conv2d) and isinstance(out[13], nn.Sequential)
    assert out(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="use one of"):
        lowrank.factorize(model, {"nope": 3})


def test_energy_ranks_and_ranks_of():
    torch.manual_seed(0)
    model = baseline_cnn(width=4)
    r = lowrank.energy_ranks(model, 1.0)
    assert r["0"] == (4, 1) and r["4"] == (8, 4) and r["13"] == min(model[13].weight.shape)
    assert lowrank.ranks_of(model[4], 0.5) == (4, 2) and lowrank.ranks_of(model[13], 0.25) == 36


def test_layer_scan_break_even_and_latency_ranks():
    torch.manual_seed(0)
    model = baseline_cnn(width=4).eval()
    rows = lowrank.layer_scan(model, {"4": [(2, 1), (8, 4)], "13": [2]}, batch_sizes=(1,), repeats=2)
    assert {(r["layer"], tuple(r["rank"]) if isinstance(r["rank"], list) else r["rank"]) for r in rows} == \
        {("4", (2, 1)), ("4", (8, 4)), ("13", 2)}
    full = next(r for r in rows if r["rank"] == [8, 4])
    assert full["macs_ratio"] < 1 and not full["slower"]               # more MACs: never flagged as a "faster" layer
    for r in rows:                    # the protocol's paired speedup, its interval, and a verdict that agrees with both
        assert 0 < r["speedup_lo"] <= r["speedup"] <= r["speedup_hi"] and r["floor_line"].startswith("A/A noise floor")
        assert r["verdict"] == ("within noise" if r["within_noise"] or r["speedup_lo"] <= 1 <= r["speedup_hi"]
                                else "faster" if r["speedup_lo"] > 1 else "slower")
        assert r["slower"] == (r["macs_ratio"] > 1 and r["verdict"] == "slower")
    text = lowrank.scan_table(rows)
    assert "x measured" not in text and all(speedups.text(r) in text for r in rows)
    assert sum("A/A noise floor: ±" in ln for ln in text.splitlines()) == 2     # one run per layer (one batch size)
    assert isinstance(lowrank.speedup_figure(rows), Figure)

    def fake_row(layer, rank, v, lo, hi, noise=False):
        return {"layer": layer, "batch_size": 1, "rank": rank, "speedup": v, "speedup_lo": lo, "speedup_hi": hi,
                "within_noise": noise}
    fake = [fake_row("4", [2, 1], 1.5, 1.4, 1.6), fake_row("4", [4, 2], 0.8, 0.7, 0.9),
            fake_row("4", [8, 4], 1.2, 0.95, 1.4),                     # a median above 1, its interval across 1
            fake_row("13", 2, 1.03, 1.01, 1.05, noise=True)]          # above 1 but inside the A/A band
    assert lowrank.break_even(fake) == {("4", 1): [2, 1], ("13", 1): None}   # faster only where the interval says so
    assert lowrank.latency_ranks({"4": (4, 2), "13": 2}, fake, 1) == {"4": None, "13": None}
    assert lowrank.latency_ranks({"4": (8, 4)}, fake, 1) == {"4": None}
    assert lowrank.latency_ranks({"4": (2, 1)}, fake, 1) == {"4": (2, 1)}
    with pytest.raises(ValueError, match="layer_scan"):
        lowrank.latency_ranks({"4": (3, 3)}, fake, 1)


def test_sensitivity_ranks_fit_the_budget():
    torch.manual_seed(0)
    model = baseline_cnn(width=4).eval()
    x = torch.randn(64, 1, 28, 28, generator=_seeded(5))
    data = [(x, model(x).argmax(1))]                 # the model's own labels: 100 % before
    budget = 0.5 * (model[4].weight.numel() + model[13].weight.numel())
    ranks, table = lowrank.sensitivity_ranks(model, ["4", "13"], budget, data)
    assert sum(table["weights"][n][table["choice"][n]] for n in ("4", "13")) <= budget
    assert set(table["drop_pt"]) == {"4", "13"} and table["drop_pt"]["4"][0] == 0.0


def test_plain_and_parse_round_trip():
    ranks = {"0": None, "4": (31, 16), "13": 32}
    assert lowrank.plain(ranks) == {"0": "dense", "4": "31x16", "13": 32}
    assert lowrank.parse(lowrank.plain(ranks)) == ranks


def test_thin_width_matches_the_parameter_count():
    w = lowrank.thin_width(metrics.count_params(baseline_cnn(width=8)))
    assert w == 8


def test_ranks_of_a_conv_never_exceed_its_unfoldings():
    conv = nn.Conv2d(1, 32, 3)
    assert lowrank.ranks_of(conv, 0.75) == (9, 1)
    chain = lowrank.tucker_conv(conv, *lowrank.ranks_of(conv, 1.0))
    x = torch.randn(2, 1, 8, 8, generator=_seeded(6))
    assert torch.allclose(chain(x), conv(x), atol=1e-4)
    with pytest.raises(ValueError, match="unfoldings"):
        lowrank.tucker2(conv.weight, 10, 1)
