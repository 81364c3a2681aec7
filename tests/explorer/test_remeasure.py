"""labkit.explorer.remeasure: the trained representatives store what their notebooks store
(04's 1-bit plan, 08's real file), and every model's parameters are counted."""
import importlib
import os

import pytest

from labkit import zoo

remeasure = importlib.import_module("labkit.explorer.remeasure")


@pytest.fixture(scope="module")
def reps():
    return remeasure.representatives(["binary", "joint"])


def test_every_family_has_a_builder():
    from labkit import record
    techniques = {f for f in record.FAMILIES if f not in ("baseline", "reference", "deploy", "harm")}
    assert set(remeasure.REBUILD) == techniques


def test_binary_and_joint_count_what_they_store(reps):
    from labkit import binarization, metrics
    models, hows = reps
    (b_name,) = [n for n, h in hows.items() if h.get("family") == "binary"]
    (j_name,) = [n for n, h in hows.items() if h.get("family") == "joint"]
    assert models[b_name].file_bytes() == len(binarization.export(models[b_name]))     # what 04's export writes
    assert models[b_name].file_bytes() < metrics.count_params(zoo.load("cnn")) * 4 / 8    # ~1 bit for most weights
    # the joint model is decoded from a real file: its bytes are that file's size, far below fp32
    assert 0 < models[j_name].file_bytes() < metrics.count_params(zoo.load("cnn")) * 4 / 10
    sparsity = 1 - metrics.count_params(models[j_name], nonzero=True) / metrics.count_params(models[j_name])
    assert sparsity > remeasure.JOINT[0] - 0.05          # the biases stay dense


def test_remeasure_like_for_like_counts_params_and_records_them(reps, tmp_path):
    from labkit.record import Recorder
    from labkit.timing import CELL_WIDTH
    models, hows = reps
    (b_name,) = [n for n, h in hows.items() if h.get("family") == "binary"]
    (j_name,) = [n for n, h in hows.items() if h.get("family") == "joint"]
    assert hows[b_name]["form"] == "simulated" and hows[b_name]["candidates"] is None and hows[b_name]["not_deployed"]
    measured = remeasure.remeasure(models, hows, batch_sizes=(1,), repeats=2)
    eager, dep = measured["eager"][1], measured["deployed"][1]
    # two runs, each with its own control (the baseline, first) and floor; the simulated model is in no deployed run
    assert eager["cnn"].timing is not dep["cnn"].timing and eager["cnn"].timing.control == dep["cnn"].timing.control == "cnn"
    assert b_name not in dep and {n for n in dep} == {"cnn", j_name}
    assert all(p.form == "deployed" for p in dep.values()) and eager[b_name].form == "simulated"
    assert dep[j_name].size_bytes == eager[j_name].size_bytes         # the same weights, whichever runtime won
    text = remeasure.side_by_side(measured, hows, 1)
    assert text.count("A/A noise floor") == 2 and "deployed vs deployed" in text and "eager vs eager" in text
    line = next(ln for ln in text.splitlines() if ln.lstrip().startswith(b_name))
    assert line.count("—".rjust(CELL_WIDTH)) == 2 and f"— {b_name} (eager): " in text    # no speed, and why
    rec = Recorder("09_explorer", tmp_path)
    remeasure.record_(rec, measured, hows)
    rows = {(r["technique"], r["form"]): r for r in rec.rows}
    j, jd = rows[("joint-deep-compression", "eager")], rows[("joint-deep-compression", "deployed")]
    assert j["params"] < j["baseline_params"] and j["speedup"] and j["deployed_speedup"] is None
    assert jd["deployed_speedup"] and jd["speedup"] is None and jd["deployed_latency_ms"] is not None   # deployed vs deployed
    b = rows[("binary-weight", "simulated")]
    assert b["params"] == b["baseline_params"]    # same weights, 1 bit each
    assert b["speedup"] is None and b["deployed_speedup"] is None and b["deployed_latency_ms"] is None
    assert ("runtime-fp32", "deployed") in rows and all(r["params"] for r in rec.rows)
    es = remeasure.as_entries(measured, hows)
    assert len({e["run"] for e in es}) == 2 and all(e["config"]["live"] for e in es)
    pts = remeasure.audit_points(measured)
    assert [p["latency_b1_ms"] is None for p in pts] == [n == b_name for n in measured["params"]]


def test_a_model_that_cannot_be_exported_shows_why(monkeypatch):
    from labkit import deploy
    real = deploy.candidates

    def candidates(model, *a, **kw):
        if getattr(model, "custom_kernel", False):
            raise RuntimeError("Exporting the operator 'labkit::xnor' to ONNX is not supported\nmore")
        return real(model, *a, **kw)

    def custom(cnn):
        import copy
        m = copy.deepcopy(cnn)
        m.custom_kernel = True
        return "cnn with a custom kernel", m, {"technique": "binary-xnor", "config": {}}
    monkeypatch.setattr(deploy, "candidates", candidates)
    monkeypatch.setitem(remeasure.REBUILD, "custom", custom)
    models, hows = remeasure.representatives(["custom"])
    h = hows["cnn with a custom kernel"]
    assert h["candidates"] is None and h["form"] == "eager"
    assert h["not_deployed"] == "cannot be exported (RuntimeError: Exporting the operator 'labkit::xnor' to ONNX is not supported)"
    measured = remeasure.remeasure(models, hows, batch_sizes=(1,), repeats=2)
    assert "cnn with a custom kernel" in measured["eager"][1] and "cnn with a custom kernel" not in measured["deployed"][1]
    assert "— cnn with a custom kernel (deployed): cannot be exported" in remeasure.side_by_side(measured, hows, 1)
