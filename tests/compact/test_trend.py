"""labkit.trend: the families CSV agrees with torchvision, the counts agree with hand sums."""
import re

import pytest
from matplotlib.figure import Figure
from torch import nn
from torchvision import models as tvm

from labkit import blocks, cache, metrics
from labkit.compact import trend, trend_figures


@pytest.fixture(scope="module")
def fams():
    return trend.families()


def test_every_torchvision_classifier_has_exactly_one_family(fams):
    names = trend.classification_models()
    assert len(names) >= 70
    for n in names:
        trend.family_of(n, fams)                      # raises on none or several
    with pytest.raises(ValueError, match="add or fix a row"):
        trend.family_of("lenet5", fams)


def test_year_matches_the_source(fams):
    for f in fams:
        arxiv = re.fullmatch(r"https://arxiv\.org/abs/(\d\d)(\d\d)\.\d{4,5}", f["source"])
        if arxiv:                                     # an arXiv id starts with the year of its first version
            assert f["year"] == 2000 + int(arxiv.group(1)), f["family"]
        else:
            assert str(f["year"]) in f["source"], f["family"]


def test_the_sources_are_the_papers_torchvision_cites(fams):
    names = trend.classification_models()
    for f in fams:
        docs = [tvm.get_model_builder(n).__doc__ or "" for n in names if re.fullmatch(f["models"], n)]
        ident = f["source"].split("/abs/")[-1] if "arxiv" in f["source"] else f["source"]
        assert any(ident in d for d in docs), f"{f['family']}: {f['source']} not cited by torchvision"


def test_imagenet_models_read_the_metadata():
    rows, skipped = trend.imagenet_models()
    assert set(skipped) == {"regnet_y_128gf", "vit_h_14"}     # SWAG (Instagram) weights only
    by = {r["model"]: r for r in rows}
    assert len(rows) + len(skipped) == len(trend.classification_models())
    meta = tvm.ResNet50_Weights.IMAGENET1K_V1.meta
    assert by["resnet50"]["params"] == meta["num_params"] and by["resnet50"]["accuracy_pct"] == 76.13
    assert by["resnet50"]["year"] == 2015 and by["efficientnet_b3"]["resolution"] == 300
    assert [r["year"] for r in rows] == sorted(r["year"] for r in rows)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "vgg16"])
def test_torchvision_ops_are_macs(name):
    model = trend.build(name, device="meta")
    meta = trend.weights_meta(name)
    assert metrics.count_params(model) == meta["num_params"]
    assert metrics.count_macs(model, trend.IMAGENET_INPUT) / 1e9 == pytest.approx(meta["_ops"], abs=6e-4)


def test_recipe_gains_compare_one_architecture_under_two_recipes():
    gains = {r["model"]: r for r in trend.recipe_gains()}
    r50 = gains["resnet50"]
    assert r50["v1_pct"] == tvm.ResNet50_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert r50["v2_pct"] == tvm.ResNet50_Weights.IMAGENET1K_V2.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert r50["gain_pt"] == pytest.approx(r50["v2_pct"] - r50["v1_pct"])
    assert r50["macs"] == round(tvm.ResNet50_Weights.IMAGENET1K_V2.meta["_ops"] * 1e9)
    assert "resnet18" not in gains                        # torchvision never re-trained it
    assert all("3995" in r["recipe"] for r in gains.values())   # the 2021 recipe issue


def test_cheaper_later():
    rows = [{"model": "old", "year": 2015, "macs": 100, "accuracy_pct": 70.0},
            {"model": "new-weak", "year": 2019, "macs": 1, "accuracy_pct": 60.0},
            {"model": "new", "year": 2019, "macs": 5, "accuracy_pct": 71.0},
            {"model": "new-big", "year": 2019, "macs": 50, "accuracy_pct": 80.0}]
    (d,) = trend.cheaper_later(rows)
    assert d["new"]["model"] == "new" and d["ratio"] == 20


def test_activation_stats_on_a_hand_counted_net():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Dropout(), nn.Linear(64, 10))
    s = trend.activation_stats(net, (1, 3, 8, 8))
    # input 3*8*8=192, conv 4*8*8=256, (ReLU in place), pool 4*4*4=64, (flatten, dropout: views), linear 10
    assert s == {"total": 192 + 256 + 64 + 10, "total_with_inplace": 192 + 256 + 256 + 64 + 10,
                 "largest_pair": 192 + 256, "weight_layers": 2}


def test_vgg16_activations_are_the_sum_of_its_layer_outputs():
    s = trend.activation_stats(trend.build("vgg16", device="meta"))
    convs = 64 * 224 ** 2 * 2 + 128 * 112 ** 2 * 2 + 256 * 56 ** 2 * 3 + 512 * 28 ** 2 * 3 + 512 * 14 ** 2 * 3
    pools = 64 * 112 ** 2 + 128 * 56 ** 2 + 256 * 28 ** 2 + 512 * 14 ** 2 + 512 * 7 ** 2
    assert s["total"] == 3 * 224 ** 2 + convs + pools + 512 * 7 ** 2 + 4096 + 4096 + 1000
    assert s["weight_layers"] == 16 and s["largest_pair"] == 2 * 64 * 224 ** 2


def test_depthwise_share():
    ds = nn.Sequential(blocks.DepthwiseSeparable(8, 16))
    assert trend.depthwise_macs_share(ds, (1, 8, 5, 5)) == pytest.approx(9 * 8 / (9 * 8 + 8 * 16))
    assert trend.depthwise_macs_share(trend.build("resnet18", "meta")) == 0
    assert 0 < trend.depthwise_macs_share(trend.build("mobilenet_v2", "meta")) < 0.2


def test_disagreements():
    rows = [{"model": "a", "batch_size": 1, "macs": 1, "median_ms": 5.0},
            {"model": "b", "batch_size": 1, "macs": 4, "median_ms": 2.0},
            {"model": "c", "batch_size": 1, "macs": 8, "median_ms": 9.0},
            {"model": "a", "batch_size": 8, "macs": 1, "median_ms": 1.0}]
    (d,) = trend.disagreements(rows, batch_size=1)               # no per-round samples: the ratio of medians
    assert (d["fewer_macs"], d["more_macs"], d["macs_ratio"], d["slower"]) == ("a", "b", 4, 2.5)
    assert d["slower_text"] == "2.50x (medians)" and "slower_lo" not in d


def _timed(rounds: int = 20):
    """Rows as measure_latency writes them, from deterministic per-round samples: 'b' (4x the MACs
    of 'a') takes 0.4x its time in every round, 'c' the time of 'a' give or take 1 %."""
    a = [5.0 + 0.05 * (i % 2) for i in range(rounds)]
    return [{"model": "a", "batch_size": 1, "macs": 1, "dw_share": 0.0, "median_ms": 5.0, "rounds_ms": a,
             "aa_rounds_ms": [5.0 + 0.05 * ((i + 1) % 2) for i in range(rounds)], "floor_line": "A/A noise floor: ±1.0 % (a)"},
            {"model": "b", "batch_size": 1, "macs": 4, "dw_share": 0.0, "median_ms": 2.0, "rounds_ms": [0.4 * t for t in a]},
            {"model": "c", "batch_size": 1, "macs": 8, "dw_share": 0.0, "median_ms": 5.0,
             "rounds_ms": [t * (1.01 if i % 3 else 0.99) for i, t in enumerate(a)]}]


def test_disagreements_from_paired_rounds_keep_only_verdicts_of_slower():
    rows = _timed()
    t = trend.run_timing(rows, 1)
    assert t.control == "a" and set(t) == {"a", "b", "c"} and t.rounds == 20
    pairs = trend.disagreements(rows, batch_size=1)
    (d,) = pairs                              # a vs c: within noise, not a disagreement; b vs c: b is the faster
    assert (d["fewer_macs"], d["more_macs"], d["macs_ratio"]) == ("a", "b", 4)
    assert d["slower"] == pytest.approx(2.5) and d["slower_lo"] <= d["slower"] <= d["slower_hi"]
    assert d["slower_text"] == str(t.ratio("b", "a")) == "2.50x [2.50-2.50]"
    assert t.verdict("a", "c") == "within noise"      # fewer MACs, about as slow: never counted as slower


def test_measure_latency_and_its_cache(tmp_path):
    rows, params, extra = trend.latency_recipe(["mobilenet_v3_small"], batch_sizes=(1,), repeats=2, warmup=1,
                                               log=lambda *a: None)
    (r,) = rows
    assert r["model"] == "mobilenet_v3_small" and r["median_ms"] > 0 and r["repeats"] == 2
    assert r["macs"] / 1e9 == pytest.approx(trend.weights_meta("mobilenet_v3_small")["_ops"], abs=6e-4)
    assert 0 < r["dw_share"] < 1
    assert params["models"] == ["mobilenet_v3_small"] and params["input"] == [3, 224, 224] and extra == {}
    path = cache.write(cache.document("trend-latency", (rows, params, extra)), tmp_path / "lat.json")
    doc = trend.load_latency(path)
    assert doc["rows"] == rows and doc["command"] == "python -m labkit sweep trend-latency"
    assert (doc["device"], doc["input"], doc["weights"]) == ("cpu", [3, 224, 224], "random (architecture only)")
    with pytest.raises(FileNotFoundError, match="python -m labkit sweep trend-latency"):
        trend.load_latency(tmp_path / "missing.json")


def test_shipped_latency_cache_has_every_reference_model_at_every_batch():
    doc = trend.load_latency()
    assert {(r["model"], r["batch_size"]) for r in doc["rows"]} == \
           {(m, b) for m in trend.REFERENCE_MODELS for b in trend.LATENCY_BATCHES}
    assert all(r["median_ms"] > 0 for r in doc["rows"]) and doc["device"] == "cpu"


def test_build_refuses_unknown_names():
    with pytest.raises(ValueError, match="unknown torchvision model 'resnet19'"):
        trend.build("resnet19", device="meta")


def test_figures():
    rows, _ = trend.imagenet_models()
    assert isinstance(trend_figures.trend_figure(rows), Figure)
    fig = trend_figures.scatter_figure(rows, x="params")
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="'macs' or 'params'"):
        trend_figures.scatter_figure(rows, x="latency")
    lat = [{"model": m, "batch_size": b, "macs": macs, "median_ms": ms, "dw_share": dw}
           for m, macs, ms, dw in [("x", 1e9, 10.0, 0.0), ("y", 1e8, 5.0, 0.1)] for b in (1, 8)]
    assert len(trend_figures.latency_figure(lat).axes) == 3      # two panels and a colour bar


def test_families_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="git checkout"):
        trend.families(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("family,year\nX,2020\n")
    with pytest.raises(ValueError, match="must have the columns"):
        trend.families(bad)


def test_latency_table_ratios_are_against_the_reference_of_the_same_batch():
    rows = [{"model": "resnet18", "batch_size": 1, "macs": 2e9, "dw_share": 0.0, "median_ms": 40.0},
            {"model": "small", "batch_size": 1, "macs": 5e8, "dw_share": 0.1, "median_ms": 20.0},
            {"model": "resnet18", "batch_size": 8, "macs": 2e9, "dw_share": 0.0, "median_ms": 320.0},
            {"model": "small", "batch_size": 8, "macs": 5e8, "dw_share": 0.1, "median_ms": 40.0}]
    lines = trend.latency_table(rows).splitlines()
    small = [l for l in lines if " small " in l]
    # cached rows without per-round samples: the ratio of medians, marked as such, never "x measured"
    assert "4.00x" in small[0] and "2.00x (medians)" in small[0]         # batch 1: 4x fewer MACs, 2x faster
    assert "8.00x (medians)" in small[1] and "40.000 ms" in small[1]      # batch 8 against batch 8's reference
    assert "20.000 ms" in small[0] and small[0].split()[0] == "1"
    assert not any("x measured" in l for l in lines)
    assert [l for l in lines if re.match(r"batch \d+: ", l)] == \
        [f"batch {b}: no per-round samples in these rows: speed is the ratio of medians (medians), no interval, no noise floor"
         for b in (1, 8)]


def test_latency_table_of_rows_timed_together_prints_intervals_and_the_floor():
    rows = _timed()
    lines = trend.latency_table(rows, ref="a").splitlines()
    by = {l.split()[1]: l for l in lines if l.split()[:1] == ["1"]}
    assert by["a"].endswith("1 (reference)") and "4.00x" not in by["a"]
    assert by["b"].endswith("2.50x [2.50-2.50]") and "0.25x" in by["b"]         # 2.5x faster, a quarter of the MACs'
    assert by["c"].endswith("≈1 (within noise)")
    assert "batch 1: A/A noise floor: ±1.0 % (a)" in lines


def test_measure_latency_rows_carry_the_paired_speedup(monkeypatch):
    monkeypatch.setattr(trend, "build", lambda name: nn.Sequential(nn.Conv2d(3, 2 if name == "small" else 8, 3),
                                                                    nn.AdaptiveAvgPool2d(1)))
    rows = trend.measure_latency(["small", "resnet18"], batch_sizes=(1,), repeats=3, warmup=1)
    ref, small = (next(r for r in rows if r["model"] == n) for n in ("resnet18", "small"))
    assert len(ref["aa_rounds_ms"]) == len(ref["rounds_ms"]) == len(small["rounds_ms"]) == ref["repeats"] >= 3
    assert "speedup" not in ref and ref["floor_line"].startswith("A/A noise floor: ±")     # the control: resnet18
    assert small["speedup_ref"] == "resnet18" and small["speedup_lo"] <= small["speedup"] <= small["speedup_hi"]
    t = trend.run_timing(rows, 1)
    assert t.control == "resnet18" and t.speedup("small", "resnet18")["value"] == pytest.approx(small["speedup"], abs=1e-3)
