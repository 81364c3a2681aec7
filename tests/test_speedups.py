"""labkit.speedups: the protocol's paired ratio as flat row fields, and back as a cell or a verdict."""
import re

import pytest

from labkit import speedups, timing, verdict

CELL = re.compile(r"^ *(\d+\.\d\dx \[\d+\.\d\d-\d+\.\d\d\]|≈1 \(within noise\))$")


def _run(factor: float, rounds: int = 30) -> timing.Timing:
    """A deterministic run: the reference and its A/A twin alternate 1.00 / 1.01 ms; 'x' takes ``factor`` times as long."""
    ref = [1e-3 * (1.0 + 0.01 * (i % 2)) for i in range(rounds)]
    aa = [1e-3 * (1.0 + 0.01 * ((i + 1) % 2)) for i in range(rounds)]
    return timing.Timing({"ref": ref, "x": [factor * t for t in ref], "ref (A/A)": aa}, "ref", 1, "cpu")


def test_fields_match_the_protocol_and_read_back():
    t = _run(1 / 3)                                     # 3x less work: 3x faster, in every round
    row = speedups.fields(t, "x", "ref")
    sp = t.speedup("x", "ref")
    assert (row["speedup"], row["speedup_lo"], row["speedup_hi"], row["within_noise"]) == \
           (sp["value"], sp["lo"], sp["hi"], sp["within_noise"])
    assert row["speedup"] == pytest.approx(3.0) and row["speedup_lo"] > 1 and not row["within_noise"]
    assert row["noise_floor"] == sp["noise_floor"] and row["floor_line"] == t.floor_line()
    assert speedups.cell(row) == t.cell("x", "ref") and len(speedups.cell(row)) == timing.CELL_WIDTH
    assert speedups.text(row) == t.speedup_text("x", "ref") == "3.00x [3.00-3.00]"
    assert speedups.verdict(row) == t.verdict("x", "ref") == "faster"
    assert verdict.speed(speedups.as_dict(row)) == verdict.speed(t, "x", "ref")


def test_a_3x_work_variant_is_slower_with_an_interval_below_1():
    t = _run(3.0)
    row = speedups.fields(t, "x", "ref", key="speedup_vs_deployed")
    assert set(row) == {"speedup_vs_deployed", "speedup_vs_deployed_lo", "speedup_vs_deployed_hi",
                        "within_noise_vs_deployed"}
    assert row["speedup_vs_deployed_lo"] <= row["speedup_vs_deployed"] <= row["speedup_vs_deployed_hi"] < 1
    assert speedups.verdict(row, "speedup_vs_deployed") == "slower"
    assert CELL.match(speedups.cell(row, "speedup_vs_deployed"))


def test_within_noise_is_never_faster_or_slower():
    t = _run(1.0)
    row = speedups.fields(t, "x", "ref")
    assert row["within_noise"] and speedups.verdict(row) == "within noise"
    assert speedups.text(row) == "≈1 (within noise)"
    # an interval that contains 1 is within noise even when a row says otherwise
    assert speedups.verdict({"speedup": 1.2, "speedup_lo": 0.9, "speedup_hi": 1.5, "within_noise": False}) == "within noise"


def test_rows_without_an_interval_are_refused_or_marked_as_medians():
    with pytest.raises(ValueError, match="no interval"):
        speedups.cell({"speedup": 1.5})
    with pytest.raises(ValueError, match="no interval"):
        speedups.verdict({"speedup": 1.5})
    assert speedups.medians_cell(40.0, 20.0) == "2.00x (medians)".rjust(timing.CELL_WIDTH)
    assert not speedups.has_interval({"speedup": 1.5})


def test_floor_lines_one_per_run_and_yerr():
    rows = [{"run": "a", "floor_line": "A/A noise floor: ±1.0 % (x)", "speedup": 2.0, "speedup_lo": 1.9, "speedup_hi": 2.2},
            {"run": "a", "floor_line": "A/A noise floor: ±1.0 % (x)", "speedup": 1.0, "speedup_lo": 1.0, "speedup_hi": 1.1},
            {"run": "b", "floor_line": "A/A noise floor: ±2.0 % (y)", "speedup": 0.5, "speedup_lo": 0.4, "speedup_hi": 0.6}]
    assert speedups.floor_lines(rows, lambda r: r["run"]) == ["a: A/A noise floor: ±1.0 % (x)", "b: A/A noise floor: ±2.0 % (y)"]
    lo, hi = speedups.yerr(rows)
    assert lo == pytest.approx([0.1, 0.0, 0.1]) and hi == pytest.approx([0.2, 0.1, 0.1])
