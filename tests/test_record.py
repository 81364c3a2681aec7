import json

import pytest
import torch

from labkit import record
from labkit.points import Point
from labkit.record import FIELDS, Recorder

P = Point(accuracy_pct=91.25, size_bytes=1000, macs=5000, latency_ms=0.5)
B = Point(accuracy_pct=92.0, size_bytes=4000, macs=20000, latency_ms=1.5)


def test_rows_have_exactly_the_fields_in_order(tmp_path):
    rec = Recorder("02_pruning", tmp_path)
    row = rec.add("prune-fine", {"sparsity": 0.9}, P, baseline=B, batch_size=1)
    assert tuple(row) == FIELDS
    line = json.loads((tmp_path / "02_pruning.jsonl").read_text())
    assert line == row
    assert line["baseline_size_bytes"] == 4000 and line["size_bytes"] == 1000
    assert line["threads"] == torch.get_num_threads() and line["torch"] == torch.__version__.split("+")[0]


def test_a_row_names_its_deployed_baseline(tmp_path):
    rec = Recorder("02_pruning", tmp_path)
    D = Point(accuracy_pct=92.0, size_bytes=4000, macs=20000, latency_ms=0.75)
    row = rec.add("prune-channel", {"sparsity": 0.5}, P, baseline=B, deployed=D, deployed_runtime="onnxruntime fp32")
    assert row["deployed_latency_ms"] == 0.75 and row["deployed_runtime"] == "onnxruntime fp32"
    assert row["baseline_latency_ms"] == 1.5
    plain = rec.add("prune-channel", {"sparsity": 0.7}, P, baseline=B)
    assert plain["deployed_latency_ms"] is None and plain["deployed_runtime"] is None
    with pytest.raises(ValueError, match="together"):
        rec.add("prune-channel", {"sparsity": 0.8}, P, baseline=B, deployed=D)


def test_rows_keep_the_parameter_count_where_it_was_counted(tmp_path):
    from torch import nn
    from labkit import metrics, points
    rec = Recorder("02_pruning", tmp_path)
    assert rec.add("prune-fine", {"sparsity": 0.9}, P, baseline=B)["params"] is None    # no model counted
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        model[1].weight[:5] = 0
    counted = points.Point(90.0, 100, 10, 1.0, params=metrics.count_params(model, nonzero=True))
    base = {**B.as_dict(), "params": metrics.count_params(model)}
    row = rec.add("prune-fine", {"sparsity": 0.5}, counted, baseline=base)
    assert (row["params"], row["baseline_params"]) == (7850 - 5 * 784, 7850)
    made = points.make({"sparsity": 0.5}, model=model, accuracy=90.0, nonzero=True)
    assert made["params"] == 7850 - 5 * 784
    with pytest.raises(ValueError, match="params must be an int"):
        rec.add("prune-fine", {"sparsity": 0.5}, {**P.as_dict(), "params": 1.5})


def test_a_baseline_row_is_its_own_reference(tmp_path):
    row = Recorder("x", tmp_path).add("baseline", {}, B)
    assert all(row[f"baseline_{k}"] == row[k] for k in record.MEASURES)


def test_rerun_replaces_the_file_and_appends_within_a_run(tmp_path):
    rec = Recorder("nb", tmp_path)
    for s in (0.5, 0.7, 0.9):
        rec.add("prune-fine", {"sparsity": s}, P, baseline=B)
    assert len(record.read("nb", tmp_path)) == 3
    Recorder("nb", tmp_path).add("prune-fine", {"sparsity": 0.2}, P, baseline=B)
    rows = record.read("nb", tmp_path)
    assert [r["config"]["sparsity"] for r in rows] == [0.2]
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]        # no temp files left


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    rec = Recorder("nb", tmp_path)
    rec.add("baseline", {"a": 1}, P)
    before = (tmp_path / "nb.jsonl").read_text()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(record.os, "replace", boom)
    with pytest.raises(OSError):
        rec.add("baseline", {"a": 2}, P)
    assert (tmp_path / "nb.jsonl").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["nb.jsonl"]


def test_read_all_notebooks_and_refuse_foreign_fields(tmp_path):
    Recorder("a", tmp_path).add("baseline", {}, P)
    Recorder("b", tmp_path).add("baseline", {}, P)
    assert [r["notebook"] for r in record.read(folder=tmp_path)] == ["a", "b"]
    (tmp_path / "c.jsonl").write_text(json.dumps({"accuracy": 1}) + "\n")
    with pytest.raises(ValueError, match="re-run its notebook"):
        record.read(folder=tmp_path)


@pytest.mark.parametrize("point, match", [
    ({"accuracy_pct": 1, "size_bytes": 2, "macs": 3}, "lacks latency_ms"),
    ({"accuracy_pct": float("nan"), "size_bytes": 2, "macs": 3, "latency_ms": 1}, "finite number"),
    ({"accuracy_pct": 1, "size_bytes": -2, "macs": 3, "latency_ms": 1}, "finite number >= 0"),
])
def test_bad_points_are_refused(tmp_path, point, match):
    with pytest.raises(ValueError, match=match):
        Recorder("x", tmp_path).add("baseline", {}, point)


def test_bad_notebook_name_and_config(tmp_path):
    with pytest.raises(ValueError, match="stem"):
        Recorder("00_welcome.ipynb", tmp_path)
    with pytest.raises(TypeError, match="config must be a dict"):
        Recorder("x", tmp_path).add("baseline", "sparsity=0.9", P)
    with pytest.raises(ValueError, match=r"config\[.f.\]"):
        Recorder("x", tmp_path).add("baseline", {"f": object()}, P)     # not JSON


def test_techniques_come_from_one_vocabulary_with_families(tmp_path):
    assert record.family("prune-fine") == "prune" and record.family("quant-int8") == "quant"
    assert record.family("harm-pruned") == "harm"
    with pytest.raises(ValueError, match="unknown technique 'prune-fancy'.*register it in TECHNIQUES of its topic.s manifest.py"):
        Recorder("nb", tmp_path).add("prune-fancy", {}, P)


@pytest.mark.parametrize("config", [{"a": {"b": {"c": 1}}}, {"a": [[1]]}, {"a": object()}, {"a": float("nan")}])
def test_config_values_are_scalars_or_flat(tmp_path, config):
    with pytest.raises(ValueError, match="config"):
        Recorder("nb", tmp_path).add("prune-fine", config, P)


def test_a_row_keeps_how_it_was_timed_and_refuses_vs_deployed_for_an_eager_point(tmp_path):
    from labkit import deploy, models, points
    cnn = models.baseline_cnn().eval()
    lenet = models.lenet5().eval()
    dep = deploy.deployed(cnn, runtime="torch")
    pts = points.measure({"cnn": cnn, "lenet": lenet, "cnn deployed": dep, "lenet deployed": deploy.deployed(lenet, "torch")},
                         accuracy={"cnn": 90.0, "lenet": 88.0, "cnn deployed": 90.0, "lenet deployed": 88.0}, repeats=5)
    rec = Recorder("02_pruning", tmp_path)
    row = rec.add("compact-width", {"model": "lenet5"}, pts["lenet"], baseline=pts["cnn"])
    assert row["form"] == "eager" and row["deployed_speedup"] is None
    sp = row["speedup"]
    assert sp["lo"] <= sp["value"] <= sp["hi"] and isinstance(sp["within_noise"], bool) and sp["noise_floor"] >= 0
    assert set(row["timing"]) >= {"latency_iqr_ms", "rounds", "noise_floor", "cpu", "isa"} and row["timing"]["rounds"] >= 5
    dep_row = rec.add("compact-width", {"model": "lenet5", "form": "deployed"}, pts["lenet deployed"], baseline=pts["cnn"],
                      deployed=pts["cnn deployed"], deployed_runtime=dep.runtime)
    assert dep_row["form"] == "deployed" and dep_row["deployed_speedup"]["lo"] <= dep_row["deployed_speedup"]["hi"]
    with pytest.raises(ValueError, match="timed eager, so it has no 'vs deployed'"):
        rec.add("compact-width", {"model": "lenet5", "x": 1}, pts["lenet"], baseline=pts["cnn"],
                deployed=pts["cnn deployed"], deployed_runtime=dep.runtime)
    untimed = rec.add("compact-width", {"model": "x"}, P, baseline=B)     # not timed together: no interval claimed
    assert untimed["speedup"] is None and untimed["timing"]["cpu"]
