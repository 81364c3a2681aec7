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


def test_remeasure_counts_params_and_records_them(reps, tmp_path):
    from labkit.record import Recorder
    models, hows = reps
    measured = remeasure.remeasure(models, hows, batch_sizes=(1,), repeats=2)
    rec = Recorder("09_explorer", tmp_path)
    remeasure.record_(rec, measured, hows)
    rows = {r["technique"]: r for r in rec.rows}
    assert rows["joint-deep-compression"]["params"] < rows["joint-deep-compression"]["baseline_params"]
    assert rows["binary-weight"]["params"] == rows["binary-weight"]["baseline_params"]    # same weights, 1 bit each
    assert all(r["params"] for r in rec.rows)
