"""labkit.pruning on tiny seeded models: masks against torch.nn.utils.prune, Torch-Pruning, exports."""
import copy
import json

import pytest
import torch
import torch_pruning as tp
from torch.nn.utils import prune as torch_prune

from labkit import cache, data, metrics, packing, size, speedups
from labkit import pruning as prune
from labkit.models import baseline_cnn, compact_net


def tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return baseline_cnn(width=4).eval()


# ---- masks -------------------------------------------------------------------------------------

@pytest.mark.parametrize("s", [0.0, 0.3, 0.5, 0.9, 0.99])
def test_magnitude_mask_equals_torch_prune_on_distinct_values(s):
    w = torch.randn(37, 11)
    ref = torch_prune.L1Unstructured(amount=s).compute_mask(w, default_mask=torch.ones_like(w)).bool()
    assert torch.equal(prune.magnitude_mask(w, s), ref)


def test_magnitude_mask_is_exact_with_ties():
    w = torch.tensor([0.5, -0.5, 0.5, 0.5, 1.0, 0.0, 0.0, -1.0])
    mask = prune.magnitude_mask(w, 0.5)
    assert int((~mask).sum()) == 4 and not mask[5] and not mask[6] and mask[4] and mask[7]
    assert int((~prune.magnitude_mask(torch.ones(10), 0.3)).sum()) == 3


def test_nm_mask_keeps_the_n_largest_of_every_m():
    w = torch.randn(6, 8, 3, 3)
    mask = prune.nm_mask(w, 2, 4)
    groups = mask.reshape(6, -1, 4)
    assert groups.shape[1] == 18 and bool((groups.sum(-1) == 2).all())
    mags = w.abs().reshape(6, -1, 4)
    assert bool((mags.masked_fill(~groups, float("inf")).amin(-1) >= mags.masked_fill(groups, -1).amax(-1)).all())
    assert prune.sparsity_of(w * mask) == pytest.approx(0.5)


def test_nm_mask_refuses_rows_that_are_not_a_multiple_of_m():
    with pytest.raises(ValueError, match="not a multiple of m=4"):
        prune.nm_mask(torch.randn(8, 1, 3, 3))
    with pytest.raises(ValueError, match="0 < n < m"):
        prune.nm_mask(torch.randn(8, 8), 4, 4)
    masks, dense = prune.nm_masks(tiny_cnn())
    assert dense == ["0"] and set(masks) == {"4", "8", "13", "15"}


def test_filter_importance_matches_torch_pruning_first_layer_l1_and_l2():
    model = tiny_cnn()
    for p in (1, 2):
        imp = tp.importance.MagnitudeImportance(p=p, group_reduction="first", normalizer=None)
        for name, group in prune.dependency_groups(model):
            ref = imp(group)                       # Torch-Pruning sums |w|^p: no p-th root
            assert torch.allclose(prune.filter_importance(prune.get_layer(model, name).weight, p) ** p, ref, rtol=1e-5)
    with pytest.raises(ValueError, match="p must be 1"):
        prune.filter_importance(torch.randn(3, 3), 3)


# ---- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, err, says", [(1.0, ValueError, r"\[0, 1\)"), (-0.1, ValueError, r"\[0, 1\)"),
                                            (90, ValueError, "did you mean 0.9"), ("a lot", TypeError, "fraction of zeros")])
def test_bad_sparsity_is_refused_in_one_line(bad, err, says):
    with pytest.raises(err, match=says) as e:
        prune.magnitude_mask(torch.randn(4), bad)
    assert "\n" not in str(e.value)
    with pytest.raises(err, match=says):
        prune.magnitude_masks(tiny_cnn(), {"4": bad})


def test_unknown_layer_names_the_layers_that_exist():
    with pytest.raises(ValueError, match=r"no Conv2d/Linear layer named 'fc1'.*use one of '0', '4', '8', '13', '15'") as e:
        prune.magnitude_masks(tiny_cnn(), {"fc1": 0.5})
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="no Conv2d/Linear layer named '3'"):
        prune.sensitivity_scan(tiny_cnn(), layers=["3"], data=[])


@pytest.mark.parametrize("bad, err", [(1.0, ValueError), (-0.2, ValueError), (None, TypeError)])
def test_bad_channel_ratio_is_refused(bad, err):
    with pytest.raises(err, match="ratio must be"):
        prune.channel_prune(tiny_cnn(), bad)


# ---- models --------------------------------------------------------------------------------------

def test_masks_apply_and_count_exactly():
    model = tiny_cnn()
    masks = prune.magnitude_masks(model, {"8": 0.5, "13": 0.9})
    prune.apply_masks_(model, masks)
    table = {r["layer"]: r for r in prune.layer_table(model)}
    assert table["13"]["zeros"] == round(0.9 * table["13"]["weights"]) and table["0"]["zeros"] == 0
    g = tiny_cnn()
    gm = prune.global_magnitude_masks(g, 0.8)
    total = sum(m.numel() for m in gm.values())
    assert sum(int((~m).sum()) for m in gm.values()) == round(0.8 * total)
    prune.apply_masks_(g, gm)
    assert prune.weight_sparsity(g) == pytest.approx(round(0.8 * total) / total)
    with pytest.raises(ValueError, match="recompute the masks"):
        prune.apply_masks_(tiny_cnn(), {"8": torch.ones(3, dtype=torch.bool)})


def test_nonzero_macs_scale_with_the_kept_weights():
    model = tiny_cnn()
    assert metrics.count_macs(model, nonzero=True) == metrics.count_macs(model)
    prune.apply_masks_(model, prune.magnitude_masks(model, 0.5))
    by = metrics.macs_by_layer(model)
    assert metrics.count_macs(model, nonzero=True) == sum(round(m * (1 - prune.sparsity_of(prune.get_layer(model, n).weight)))
                                            for n, m in by.items())
    assert abs(metrics.count_macs(model, nonzero=True) - metrics.count_macs(model) / 2) <= 5


def test_iterative_prune_keeps_the_zeros_through_fine_tuning():
    model = tiny_cnn()
    masks = prune.iterative_prune_(model, {"8": 0.6, "13": 0.9}, steps=2, epochs=2, limit=256)
    for name, s in {"8": 0.6, "13": 0.9}.items():
        w = prune.get_layer(model, name).weight
        assert prune.sparsity_of(w) == pytest.approx(round(s * w.numel()) / w.numel())
        assert torch.equal(w != 0, masks[name])


def test_cubic_schedule_prunes_fast_then_slowly():
    assert [round(f, 3) for f in prune.cubic_schedule(3)] == [0.704, 0.963, 1.0]
    assert prune.cubic_schedule(1) == [1.0]
    with pytest.raises(ValueError, match="steps must be a whole number"):
        prune.cubic_schedule(0)


def test_sensitivity_scan_restores_the_model_and_allocation_meets_the_target():
    model = tiny_cnn()
    before = copy.deepcopy(model.state_dict())
    batches = data.subset("sensitivity", 100, limit=200)
    scan = prune.sensitivity_scan(model, sparsities=(0.5, 0.9), data=batches)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert set(scan.accuracy) == {"0", "4", "8", "13", "15"} and all(len(a) == 2 for a in scan.accuracy.values())
    alloc = scan.allocate_for(0.6)
    assert scan.overall(alloc) >= 0.6 and set(alloc.values()) <= {0.0, 0.5, 0.9}
    fig = prune.sensitivity_figure(scan, alloc)
    assert len(fig.axes[0].lines) >= 5


def test_allocation_is_greedy_on_accuracy_per_weight():
    scan = prune.Scan([0.5, 0.9], 90.0, {"big": [90.0, 89.0], "small": [80.0, 70.0]}, {"big": 900, "small": 100})
    assert scan.allocate_for(0.45) == {"big": 0.5, "small": 0.0}       # the free step first
    assert scan.allocate_for(0.8) == {"big": 0.9, "small": 0.0}
    assert scan.allocate_for(0.85) == {"big": 0.9, "small": 0.5}
    with pytest.raises(ValueError, match="scan higher sparsities or lower the target"):
        scan.allocate_for(0.95)


def test_channel_prune_removes_channels_and_keeps_the_original():
    model = tiny_cnn()
    pruned = prune.channel_prune(model, 0.5, round_to=None)
    assert prune.channel_counts(pruned) == {"0": 2, "4": 4, "8": 8, "13": 128, "15": 10}
    assert prune.channel_counts(model)["0"] == 4
    assert pruned(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert metrics.count_macs(pruned) < metrics.count_macs(model) / 3


def test_channel_prune_with_a_student_function_and_on_a_residual_net():
    calls = []

    def l2(w, p):
        calls.append(p)
        return prune.filter_importance(w, 2)

    model = tiny_cnn()
    pruned = prune.channel_prune(model, 0.5, importance=l2, round_to=None)
    assert calls and pruned(torch.randn(1, 1, 28, 28)).shape == (1, 10)
    torch.manual_seed(0)
    net = compact_net(0.25).eval()
    small = prune.channel_prune(net, 0.4, round_to=None)
    assert small(torch.randn(2, 1, 28, 28)).shape == (2, 10)           # residual adds still line up
    assert metrics.count_params(small) < metrics.count_params(net)


def test_dependency_groups_describe_coupled_layers():
    model = tiny_cnn()
    desc = {name: prune.describe_group(model, g) for name, g in prune.dependency_groups(model)}
    assert desc == {"0": "1 BatchNorm2d out, 4 Conv2d in", "4": "5 BatchNorm2d out, 8 Conv2d in",
                    "8": "9 BatchNorm2d out, 13 Linear in", "13": "15 Linear in"}


# ---- sparse kernels and storage ------------------------------------------------------------------

def test_sparse_linear_computes_the_same_as_dense():
    model = tiny_cnn()
    prune.apply_masks_(model, prune.magnitude_masks(model, 0.8))
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        want = model(x)
        sparse = prune.sparse_linear_(copy.deepcopy(model))
        assert isinstance(sparse[13], prune.SparseLinear) and "nnz=" in repr(sparse[13])
        assert torch.allclose(sparse(x), want, atol=1e-5)


def test_sparse_vs_dense_rows_and_break_even():
    rows = prune.sparse_vs_dense(32, 16, 2, sparsities=(0.0, 0.9), repeats=2)
    assert [r["sparsity"] for r in rows] == [0.0, 0.9]
    assert all(r["dense_ms"] > 0 and r["sparse_ms"] > 0 for r in rows)
    for r in rows:                  # the protocol's paired speedup inside its 95 % interval, and the verdict of both
        assert 0 < r["speedup_lo"] <= r["speedup"] <= r["speedup_hi"] and isinstance(r["within_noise"], bool)
        assert r["verdict"] == speedups.verdict(r) and r["floor_line"].startswith("A/A noise floor: ±")
    text = prune.kernel_table(rows)
    assert "x measured" not in text and all(speedups.text(r) in text for r in rows)
    assert [ln.split(":")[0] for ln in text.splitlines() if "A/A noise floor" in ln] == ["0% sparsity", "90% sparsity"]

    def fake_row(s, v, lo, hi, noise=False):
        return {"sparsity": s, "speedup": v, "speedup_lo": lo, "speedup_hi": hi, "within_noise": noise}
    fake = [fake_row(0.5, 0.2, 0.18, 0.22), fake_row(0.8, 1.1, 1.05, 1.15), fake_row(0.9, 0.9, 0.85, 0.95),
            fake_row(0.95, 1.5, 1.4, 1.6), fake_row(0.99, 3.0, 2.8, 3.2)]
    assert prune.break_even(fake) == 0.95                    # faster from here on, noise below ignored
    assert prune.break_even(fake[:1]) is None
    across = [*fake[:3], fake_row(0.95, 1.3, 0.97, 1.6), fake[4]]      # a median above 1, its interval across 1
    assert prune.break_even(across) == 0.99                  # "faster" only where the interval excludes 1 above it
    banded = [*fake[:4], fake_row(0.99, 1.02, 1.01, 1.03, noise=True)]  # above 1 but inside the A/A band
    assert prune.break_even(banded) is None
    with pytest.raises(ValueError, match="no interval"):     # a bare ratio of medians cannot say faster
        prune.break_even([{"sparsity": 0.9, "speedup": 2.0}])
    assert prune.break_even_figure({"a": fake}).axes[0].get_yscale() == "log"


def test_pruned_model_export_counts_and_round_trips():
    model = tiny_cnn()
    prune.apply_masks_(model, prune.magnitude_masks(model, 0.9))
    for fmt in ("sparse-csr", "sparse-bitmask"):
        blob = packing.export(model, fmt)
        assert len(blob) == size.size_bytes(model, fmt) < size.size_bytes(model, "fp32")
        back = copy.deepcopy(model)
        back.load_state_dict(packing.load(blob, model, fmt))
        assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), model.state_dict().values()))


# ---- sweep points, cache, dashboard ---------------------------------------------------------------

def sweep_data():
    def pt(cfg, acc, kb):
        return {"config": cfg, "accuracy_pct": acc, "size_bytes": kb * 1024, "macs": 1000, "latency_ms": 1.0}
    return {"baseline": pt({"model": "cnn"}, 92.9, 1500),
            "methods": {"prune-fine": [pt({"sparsity": 0.5}, 92.8, 900), pt({"sparsity": 0.9}, 92.5, 200)],
                        "prune-channel": [pt({"ratio": 0.3}, 92.3, 700), pt({"ratio": 0.5}, 91.0, 400)]}}




def test_dashboard_has_a_slider_per_method_and_a_live_button(png_of):
    seen = []

    def live(value, progress):
        progress(0.5, "half")
        seen.append(value)
        return {"config": {"sparsity": value}, "accuracy_pct": 92.0, "size_bytes": 150_000, "macs": 900, "latency_ms": 1.0}

    tabs = prune.dashboard(sweep_data(), params={"prune-channel": "ratio"}, live={"prune-fine": live})
    assert [tabs.get_title(i) for i in range(2)] == ["prune-fine", "prune-channel"]
    fine, channel = tabs.dashboards["prune-fine"], tabs.dashboards["prune-channel"]
    before = png_of(channel)
    channel.slider.value = 0.5
    assert channel.label.value.startswith("ratio=0.5: accuracy 91.00 %") and png_of(channel) != before
    fine.slider.value = 0.9
    assert "sparsity=0.9: accuracy 92.50 %" in fine.label.value
    fine.button.click()
    assert seen == [0.9] and fine.progress.value == 1.0 and "accuracy 92.00 %" in fine.label.value
    assert channel.button.disabled
    with pytest.raises(ValueError, match="unknown method 'prune-2:4'"):
        prune.dashboard(sweep_data(), live={"prune-2:4": live})


def sweep_doc(data: dict) -> dict:
    """``sweep_data()`` as a cached sweep (``labkit.cache`` schema): a baseline row, one row per point."""
    rows = [{"technique": "baseline", **data["baseline"]}]
    rows += [{"technique": t, **p} for t, points in data["methods"].items() for p in points]
    params = {"model": "cnn", "epochs": {"prune-fine": 1.0, "prune-channel": 0.5}, "batch_size": 1}
    return cache.document("pruning", (rows, params, {}))


def test_load_sweep_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m labkit sweep pruning"):
        prune.load_sweep(tmp_path / "missing.json")
    (tmp_path / "old.json").write_text(json.dumps(sweep_data()))               # the 0.1 layout is stale
    with pytest.raises(ValueError, match="stale .* remake it with `python -m labkit sweep pruning`"):
        prune.load_sweep(tmp_path / "old.json")
    cache.write(sweep_doc(sweep_data()), tmp_path / "s.json")
    s = prune.load_sweep(tmp_path / "s.json")
    assert s["methods"]["prune-fine"][1]["accuracy_pct"] == 92.5 and s["baseline"] == sweep_data()["baseline"]
    assert s["methods"] == sweep_data()["methods"] and s["batch_size"] == 1 and s["model"] == "cnn"
    assert s["command"] == "python -m labkit sweep pruning" and {"torch", "threads", "created"} <= set(s)


def test_shipped_sweep_has_every_method_and_a_baseline():
    s = prune.load_sweep()
    assert list(s["methods"]) == ["prune-fine", "prune-channel", "prune-joint"] and s["batch_size"] == 1
    assert s["baseline"]["config"] == {"model": s["model"]} and s["epochs"] == {"prune-fine": 1.0, "prune-channel": 0.5,
                                                                                 "prune-joint": 0.3}
    assert all(p["accuracy_pct"] > 80 and p["latency_ms"] > 0 for points in s["methods"].values() for p in points)
    assert {p["config"]["ratio"] for p in s["methods"]["prune-joint"]} == {0.3}


def test_retime_measures_every_architecture_now_and_keeps_the_rest():
    data = sweep_data()
    model = tiny_cnn()
    new = prune.retime(data, model, repeats=2)
    assert data["methods"]["prune-fine"][0]["latency_ms"] == 1.0                 # the input is left alone
    fine, channel = new["methods"]["prune-fine"], new["methods"]["prune-channel"]
    assert all(p["latency_ms"] == new["baseline"]["latency_ms"] > 0 for p in fine)  # same computation
    assert all(p["latency_ms"] > 0 for p in channel)
    assert [p["accuracy_pct"] for p in channel] == [92.3, 91.0] and new["threads"] == torch.get_num_threads()
    assert prune.channel_counts(prune.architecture(model, "prune-channel", {"ratio": 0.5}))["13"] == 128
    with pytest.raises(ValueError, match="unknown method"):
        prune.architecture(model, "prune-2:4", {})


def test_live_points_are_timed_on_the_sweep_scale():
    data, model = sweep_data(), tiny_cnn()
    fine = prune.time_live({"latency_ms": 0.0}, model, "prune-fine", data, model)
    assert fine["latency_ms"] == data["baseline"]["latency_ms"] == 1.0
    small = prune.channel_prune(model, 0.5, round_to=None)
    ch = prune.time_live({"latency_ms": 0.0}, small, "prune-channel", data, model, repeats=2)
    assert ch["latency_ms"] > 0


def test_scan_reuses_the_unchanged_layers_and_gets_the_same_accuracies():
    """The scan runs the layers before the pruned one once; a full forward per sparsity agrees."""
    from labkit import zoo
    from labkit.train import evaluate
    model = zoo.load("cnn")
    batches = data.subset("sensitivity", 100, limit=300)
    scan = prune.sensitivity_scan(model, sparsities=[0.5, 0.9], layers=["4", "13"], data=batches)
    for name in ("4", "13"):
        w = prune.get_layer(model, name).weight
        original = w.detach().clone()
        naive = []
        for s in (0.5, 0.9):
            with torch.no_grad():
                w.copy_(original * prune.magnitude_mask(original, s))
            naive.append(evaluate(model, batches))
        with torch.no_grad():
            w.copy_(original)
        assert scan.accuracy[name] == naive
    assert evaluate(model, batches) == scan.baseline_pct       # the model is left unchanged
