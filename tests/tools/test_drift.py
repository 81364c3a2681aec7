"""labkit.tools.drift: fresh processes, each one protocol run; the report compares their spreads."""
from labkit.tools import drift


def test_report_compares_the_drift_of_medians_with_the_spread_of_ratios():
    machine = {"threads": 2, "cpu": "a CPU"}
    rows = [{"median_ms": 1.0, "floor": 0.03, "rounds": 40, "ratio": [1.5, 1.45, 1.55], "machine": machine},
            {"median_ms": 1.5, "floor": 0.05, "rounds": 60, "ratio": [1.53, 1.47, 1.6], "machine": machine}]
    text = drift.report(rows)
    assert "1.000-1.500 ms (1.50x apart)" in text and "1.50-1.53 (1.02x apart)" in text
    assert "widest A/A floor ±5.0 %" in text and text.count("\nrun ") == 2


def test_one_real_run_in_a_fresh_process():
    (row,) = drift.runs(1, "cnn")
    assert row["median_ms"] > 0 and row["floor"] >= 0 and row["ratio"][1] <= row["ratio"][0] <= row["ratio"][2]
