"""Verdicts from numbers (labkit.verdict): the words a summary uses come from the measurement."""
import pytest

from labkit import timing, verdict, verify


def test_speed_words_follow_the_interval_and_the_noise_floor():
    assert verdict.speed({"value": 1.9, "lo": 1.7, "hi": 2.1}) == "faster (1.90x, 95 % CI 1.70-2.10)"
    assert verdict.speed({"value": 0.5, "lo": 0.45, "hi": 0.55}).startswith("slower (0.50x")
    assert verdict.speed({"value": 1.05, "lo": 0.98, "hi": 1.1}).startswith("within noise")      # contains 1
    assert verdict.speed({"value": 1.03, "lo": 1.01, "hi": 1.05, "within_noise": True}).startswith("within noise")


def test_speed_from_a_timing_run():
    t = timing.Timing({"a": [1.0] * 10, "b": [0.5] * 10, "a (A/A)": [1.0] * 10}, "a", 1, "cpu")
    assert verdict.speed(t, "b").startswith("faster (2.00x") and verdict.speed(t, "a", "b").startswith("slower")
    with pytest.raises(ValueError, match="name the model"):
        verdict.speed(t)


def test_goals_met_not_met_and_timed_goals_need_the_whole_interval():
    assert verdict.goal("sparsity", 0.91, 0.9)["verdict"].strip() == "met"
    assert verdict.goal("drop", -0.77, -0.5, ">=")["verdict"].strip() == "NOT met"
    assert verdict.goal("speedup", timing.Ratio(2.3, 2.1, 2.5, 30), 2.0)["verdict"].strip() == "met (timed)"
    assert verdict.goal("speedup", timing.Ratio(1.4, 1.3, 1.5, 30), 2.0)["verdict"].strip() == "NOT met (timed)"
    assert verdict.goal("speedup", timing.Ratio(2.0, 1.9, 2.1, 30), 2.0)["verdict"].strip() == "undecided (within noise)"
    assert verdict.goal("accuracy", verify.approx(91.2), 90.0)["verdict"].strip() == "≈met"
    table = verdict.goals_table([verdict.goal("a", 1.0, 0.5), verdict.goal("b", 0.1, 0.5)])
    assert table.endswith("1 of 2 goals met") and "NOT met" in table
    timed = verdict.goals_table([verdict.goal("a", 1.0, 0.5), verdict.goal("s", timing.Ratio(2.3, 2.1, 2.5, 30), 2.0)])
    assert "goals met" not in timed          # a count that would move with the run's timing is not printed
    widths = {len(verdict.goal("x", v, 1.0)["verdict"]) for v in (0.5, 2.0)}
    assert widths == {verdict.VERDICT_WIDTH}   # the layout does not move with the verdict


def test_bad_goals_get_one_line_errors():
    with pytest.raises(ValueError, match="op must be one of"):
        verdict.goal("x", 1.0, 1.0, "=>")
    with pytest.raises(ValueError, match="measured must be a finite number"):
        verdict.goal("x", float("nan"), 1.0)
    with pytest.raises(ValueError, match="at least one goal"):
        verdict.goals_table([])
