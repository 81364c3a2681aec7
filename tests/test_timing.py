"""The lab's one timing protocol (labkit.timing): shuffled rounds, paired ratios with intervals,
the A/A control and its noise floor, the busy-machine guard."""
import copy
import random

import pytest
import torch
from torch import nn

from labkit import metrics, models, points, timing


class Work(nn.Module):
    """``k`` times the same matrix product: a model doing k times the work of ``Work(1)``."""

    def __init__(self, k: int, n: int = 192):
        super().__init__()
        self.k = k
        self.w = nn.Parameter(torch.randn(n, n) / n ** 0.5, requires_grad=False)

    def forward(self, x):
        for _ in range(self.k):
            x = torch.tanh(x @ self.w)
        return x


def test_paired_ratio_median_and_interval_by_hand():
    ref = [2.0, 2.0, 2.0, 4.0, 2.0]
    model = [1.0, 1.0, 1.0, 1.0, 2.0]        # per-round ratios 2, 2, 2, 4, 1: median 2
    r = timing.paired_ratio(ref, model)
    assert r.value == 2.0 and r.n == 5 and r.lo <= 2.0 <= r.hi and 1.0 <= r.lo and r.hi <= 4.0
    assert timing.paired_ratio(ref, model) == r                  # seeded: the same interval every time
    same = timing.paired_ratio([1.0] * 9, [1.0] * 9)
    assert (same.value, same.lo, same.hi) == (1.0, 1.0, 1.0) and same.contains_one()
    with pytest.raises(ValueError, match="same number of rounds"):
        timing.paired_ratio([1.0, 2.0], [1.0])


def test_rounds_are_shuffled_seeded_and_every_model_runs_once_a_round():
    ms = {"a": Work(1, 8), "b": Work(1, 8), "c": Work(1, 8)}
    t1 = timing.compare(ms, (1, 8), rounds=12, warmup=1, min_sample_s=0, extend=False)
    t2 = timing.compare(ms, (1, 8), rounds=12, warmup=1, min_sample_s=0, extend=False)
    assert t1.order == t2.order                              # the same order on every machine
    assert all(sorted(o) == sorted(["a", "b", "c", "a (A/A)"]) for o in t1.order)
    assert len({tuple(o) for o in t1.order}) > 1             # not one fixed order
    assert list(t1) == ["a", "b", "c"] and t1.control == "a"  # the A/A entry is not one of the keys
    assert all(len(v) == 12 for v in t1.samples.values())


def _fake_clock(durations):
    """A clock that advances by the next of ``durations`` at every reading: a sample (two
    readings) lasts the duration drawn at its second one."""
    now, it = [0.0], iter(durations)

    def timer():
        now[0] += next(it)
        return now[0]
    return timer


def test_the_guard_trips_on_an_injected_noisy_timer(monkeypatch, capsys):
    rng = random.Random(3)
    noisy = _fake_clock([0.001 * rng.lognormvariate(0, 0.6) for _ in range(100_000)])   # a busy machine's spread
    ms = {"base": Work(1, 8), "other": Work(1, 8)}
    t = timing.compare(ms, (1, 8), rounds=30, warmup=1, min_sample_s=0, extend=False, timer=noisy, table="test table")
    assert t.busy and t.floor > timing.BOUND
    line = capsys.readouterr().out
    assert "busy machine" in line and "test table" in line and line.count("\n") == 1
    assert t.speedup_text("other") == "≈1 (within noise)"
    monkeypatch.setenv(timing.STRICT_ENV, "1")             # make notebooks: refuse to finish
    monkeypatch.setenv("LABKIT_NOTEBOOK", "02_pruning")
    with pytest.raises(timing.BusyMachine, match="02_pruning, table test table"):
        timing.compare(ms, (1, 8), rounds=30, warmup=1, min_sample_s=0, extend=False, timer=noisy, table="test table")
    monkeypatch.setenv(timing.OVERRIDE_ENV, "a CI runner that is never quiet")
    t = timing.compare(ms, (1, 8), rounds=30, warmup=1, min_sample_s=0, extend=False, timer=noisy, quiet=True)
    assert t.record("base")["override"] == "a CI runner that is never quiet"


def test_a_quiet_injected_timer_does_not_trip_the_guard():
    steady = _fake_clock([0.001] * 100_000)
    t = timing.compare({"base": Work(1, 8), "other": Work(1, 8)}, (1, 8), rounds=20, warmup=1, min_sample_s=0,
                       timer=steady)
    assert not t.busy and t.floor == 0.0 and t.guard() is None and t.rounds == 20    # no rounds added


def test_rounds_are_added_until_the_floor_is_narrow_then_stop():
    rng = random.Random(0)
    clock = _fake_clock([0.001 * rng.uniform(0.8, 1.25) for _ in range(100_000)])
    t = timing.compare({"base": Work(1, 8)}, (1, 8), rounds=10, warmup=1, min_sample_s=0, timer=clock, max_rounds=200,
                       extend=True)
    assert t.rounds > 10 and (t.floor <= timing.TARGET or t.rounds == 200)


def test_two_copies_of_one_model_come_out_within_noise():
    cnn = models.baseline_cnn().eval()
    t = timing.compare({"cnn": cnn, "copy": copy.deepcopy(cnn)}, (1, 1, 28, 28), rounds=40, extend=True)
    assert t.within_noise("copy"), (t.ratio("copy"), t.floor_line())
    assert t.speedup_text("copy") == "≈1 (within noise)" and t.verdict("copy") == "within noise"


def test_three_times_the_work_is_slower_with_an_interval_that_excludes_one():
    t = timing.compare({"x1": Work(1), "x3": Work(3)}, (64, 192), rounds=30)
    r = t.ratio("x3")
    assert r.hi < 1 and not t.within_noise("x3") and t.verdict("x3") == "slower", (r, t.floor_line())
    assert 1.5 < 1 / r.value < 6            # about 3x the time (overheads and caches make it inexact)
    assert t.verdict("x1", "x3") == "faster"


def test_compare_latency_is_the_protocol_and_reports_where_it_ran():
    t = metrics.compare_latency({"a": Work(1, 16), "b": Work(2, 16)}, (1, 16), repeats=5, warmup=1)
    assert isinstance(t, timing.Timing) and t.control == "a" and t.aa is not None
    info = t.record("b")
    assert set(info) >= {"latency_iqr_ms", "rounds", "noise_floor", "cpu", "isa", "threads"}
    assert info["threads"] == torch.get_num_threads() and isinstance(info["isa"], list)
    assert "A/A noise floor: ±" in t.floor_line()


def test_ratio_table_prints_intervals_the_floor_and_no_vs_deployed_for_eager_rows():
    from labkit import deploy
    cnn = models.baseline_cnn().eval()
    dep = deploy.deployed(cnn, runtime="torch")
    pts = points.measure({"cnn": cnn, "copy": copy.deepcopy(cnn), "cnn deployed": dep},
                         accuracy={"cnn": 90.0, "copy": 90.0, "cnn deployed": 90.0}, repeats=10)
    assert pts["copy"].form == "eager" and pts["cnn deployed"].form == "deployed"
    table = points.ratio_table(pts, "cnn", deployed="cnn deployed")
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip().startswith(("cnn", "copy"))}
    assert "—" in rows["copy"] and "1 (reference)" in rows["cnn"]
    assert "A/A noise floor" in table and "95 % bootstrap interval" in table
    sp = points.speedup_of(pts["copy"], pts["cnn"])
    assert sp["lo"] <= sp["value"] <= sp["hi"] and set(sp) == {"value", "lo", "hi", "within_noise", "noise_floor",
                                                                "same_computation"}
    assert sp["same_computation"] is True                          # a copy runs the very same kernels
    assert sp["within_noise"] is True                              # so it is never faster nor slower
    assert points.speedup_of(pts["cnn deployed"], pts["cnn"])["same_computation"] is False   # folded, channels_last


def test_retimed_points_carry_intervals_and_same_computation_is_exactly_one():
    cnn = models.baseline_cnn().eval()
    pts = [{"config": {"s": 0.5}, "accuracy_pct": 90.0, "size_bytes": 1, "macs": 1},
           {"config": {"s": 0.9}, "accuracy_pct": 89.0, "size_bytes": 1, "macs": 1}]
    out, base_ms = points.retime(pts, lambda p: None if p["config"]["s"] == 0.5 else models.lenet5(), cnn, repeats=5)
    assert out[0]["speedup"]["same_computation"] and out[0]["latency_ms"] == base_ms
    assert out[1]["speedup"]["lo"] <= out[1]["speedup"]["value"] <= out[1]["speedup"]["hi"]
    assert out[1]["speedup"]["same_computation"] is False


def test_the_computation_fingerprint_sees_kernels_and_shapes_not_weight_values():
    import torch.nn.utils.prune as tprune
    from labkit import deploy
    cnn = models.baseline_cnn().eval()
    pruned = copy.deepcopy(cnn)
    with torch.no_grad():
        for p in pruned.parameters():
            p.mul_((torch.rand_like(p) > 0.9).float())           # 90 % zeros, still dense tensors
    assert points.computation(pruned) == points.computation(cnn)
    assert points.computation(models.baseline_cnn(width=16)) != points.computation(cnn)
    masked = copy.deepcopy(cnn)
    tprune.l1_unstructured(masked[0], "weight", amount=0.5)       # a mask multiplied in every forward
    assert points.computation(masked) != points.computation(cnn)
    assert points.computation(deploy.torch_deployed(cnn)) != points.computation(cnn)


def test_bad_arguments_get_one_line_errors():
    with pytest.raises(ValueError, match="control 'z' is not one of the models"):
        timing.compare({"a": Work(1, 8)}, (1, 8), control="z")
    with pytest.raises(ValueError, match="rounds must be an int >= 1"):
        timing.compare({"a": Work(1, 8)}, (1, 8), rounds=0)
    with pytest.raises(ValueError, match="was not timed in this run"):
        timing.compare({"a": Work(1, 8)}, (1, 8), rounds=2, extend=False).ratio("nope")
