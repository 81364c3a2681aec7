"""labkit.points: one point, one measuring path, ratio tables."""
import pytest
from torch import nn

from labkit import metrics, models, points, size, verify


def test_make_counts_bytes_and_macs_from_the_model_or_takes_them():
    m = models.lenet5()
    p = points.make({"width": 1.0}, m, accuracy=90.123456, storage="int8", label="live")
    assert p["size_bytes"] == size.size_bytes(m, "int8") and p["macs"] == metrics.count_macs(m)
    assert p["accuracy_pct"] == 90.1235 and p["label"] == "live" and "latency_ms" not in p   # timed where shown
    q = points.make({"a": 1}, accuracy=50.0, size_bytes=10, macs=20, latency_ms=1.5)
    assert (q["size_bytes"], q["macs"], q["latency_ms"]) == (10, 20, 1.5)
    with pytest.raises(ValueError, match="needs size_bytes, macs"):
        points.make({"a": 1}, accuracy=50.0)
    assert verify.is_approx(points.make({"a": 1}, accuracy=verify.approx(91.23456), size_bytes=1, macs=1)["accuracy_pct"])


def test_ratios_and_the_table_compare_with_a_reference_of_the_same_run():
    ref = points.Point(92.0, 4000, 20000, 2.0)
    p = points.Point(91.0, 1000, 5000, 1.0)
    assert points.ratios(p, ref) == {"x_smaller": 4.0, "x_fewer_macs": 4.0, "speedup": 2.0, "drop_pt": -1.0}
    table = points.ratio_table({"base": ref, "small": p}, "base")
    assert " 2.00x (medians)" in table and "4.00" in table and "-1.00" in table   # not timed together: no interval
    with pytest.raises(ValueError, match="reference 'cnn' is not one of the points"):
        points.ratio_table({"base": ref}, "cnn")


def test_the_table_gives_speedups_against_both_baselines():
    eager = points.Point(92.0, 4000, 20000, 2.0)
    deployed = points.Point(92.0, 4000, 20000, 0.5)
    small = points.Point(91.0, 1000, 5000, 0.25)
    table = points.ratio_table({"eager": eager, "deployed": deployed, "small": small}, "eager", deployed="deployed")
    header, *rows, note = table.splitlines()
    assert header.index("speedup") < header.index("vs deployed")
    small_row = next(r for r in rows if r.split()[0] == "small")
    assert "8.00x (medians)" in small_row and "2.00x (medians)" in small_row     # no form known: no "—"
    assert "against 'eager'" in note and "against 'deployed'" in note
    assert "vs deployed" in points.ratio_table({"eager": eager, "deployed": deployed}, "eager", deployed="deployed",
                                               columns=("latency",))
    with pytest.raises(ValueError, match="deployed 'ort' is not one of the points"):
        points.ratio_table({"eager": eager}, "eager", deployed="ort")


def test_retime_times_each_architecture_once_beside_the_baseline():
    # ~300x fewer MACs: the order of the two timings holds even on a loaded machine
    base = nn.Sequential(nn.Flatten(), nn.Linear(784, 4096), nn.Linear(4096, 10))
    small = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Linear(10, 10))
    pts = [{"config": {"s": 0.5}, "latency_ms": 99.0}, {"config": {"r": 0.5}, "latency_ms": 99.0},
           {"config": {"r": 0.5}, "latency_ms": 99.0}]
    built = []

    def arch(p):
        built.append(p["config"])
        return None if "s" in p["config"] else small

    out, base_ms = points.retime(pts, arch, base, repeats=5)
    assert len(built) == 2                                    # equal configs share one model
    assert out[0]["latency_ms"] == base_ms                    # runs the baseline's computation
    assert out[1]["latency_ms"] == out[2]["latency_ms"] < base_ms and pts[0]["latency_ms"] == 99.0
