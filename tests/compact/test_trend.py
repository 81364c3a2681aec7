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
    (d,) = trend.disagreements(rows, batch_size=1)
    assert (d["fewer_macs"], d["more_macs"], d["macs_ratio"], d["slower"]) == ("a", "b", 4, 2.5)


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
    assert "4.00x" in small[0] and "2.00x measured" in small[0]          # batch 1: 4x fewer MACs, 2x faster
    assert "8.00x measured" in small[1] and "40.000 ms" in small[1]       # batch 8 against batch 8's reference
    assert "20.000 ms" in small[0] and small[0].split()[0] == "1"
