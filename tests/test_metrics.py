import pytest
import torch
from torch import nn

from labkit import metrics, models, points


def test_conv_macs_by_hand():
    # 32x32 output, 8 out channels, 3 in channels, 3x3 kernel
    assert metrics.count_macs(nn.Conv2d(3, 8, 3, padding=1), (1, 3, 32, 32)) == 32 * 32 * 8 * 3 * 9


def test_strided_grouped_dilated_conv_by_hand():
    conv = nn.Conv2d(8, 16, 3, stride=2, padding=2, dilation=2, groups=4)
    # out = floor((20 + 4 - 4 - 1) / 2) + 1 = 10; per output: (8/4) * 9
    assert metrics.count_macs(conv, (1, 8, 20, 20)) == 10 * 10 * 16 * 2 * 9


def test_depthwise_conv_by_hand():
    assert metrics.count_macs(nn.Conv2d(16, 16, 3, padding=1, groups=16), (1, 16, 7, 7)) == 7 * 7 * 16 * 9


def test_linear_macs_by_hand_and_batch_is_ignored():
    assert metrics.count_macs(nn.Linear(100, 10), (1, 100)) == 1000
    assert metrics.count_macs(nn.Linear(100, 10), (64, 100)) == 1000


def test_lenet5_macs_by_hand():
    conv1 = 28 * 28 * 6 * 25
    conv2 = 10 * 10 * 16 * 6 * 25
    fc = 400 * 120 + 120 * 84 + 84 * 10
    assert metrics.count_macs(models.lenet5()) == conv1 + conv2 + fc
    per_layer = metrics.macs_by_layer(models.lenet5())
    assert per_layer["0"] == conv1 and per_layer["3"] == conv2


def test_count_params_nonzero():
    lin = nn.Linear(10, 10)
    with torch.no_grad():
        lin.weight[:5] = 0
    assert metrics.count_params(lin) == 110
    assert metrics.count_params(lin, nonzero=True) == 110 - 50 - int((lin.bias == 0).sum())


def test_latency_reports_median_within_spread_and_context():
    lat = metrics.compare_latency({"m": models.lenet5()}, (4, 1, 28, 28), repeats=7, warmup=2, extend=False)["m"]
    assert lat.min_ms <= lat.p25_ms <= lat.median_ms <= lat.p75_ms
    assert lat.repeats == 7 and lat.batch_size == 4 and lat.threads == torch.get_num_threads() and lat.device == "cpu"


def test_interleaved_comparison_ranks_a_much_bigger_model_slower():
    small = nn.Sequential(nn.Linear(256, 16))
    big = nn.Sequential(*[nn.Linear(256, 256) for _ in range(12)])
    t = metrics.compare_latency({"small": small, "big": big}, (256, 256), repeats=9, warmup=2)
    assert t["big"].median_ms > 3 * t["small"].median_ms
    pts = {n: points.Point(50.0, 4 * metrics.count_params(m), metrics.count_macs(m, (1, 256)), t[n].median_ms)
           for n, m in (("small", small), ("big", big))}
    r = points.ratios(pts["small"], pts["big"])
    assert r["speedup"] > 3 and r["speedup"] == pytest.approx(t["big"].median_ms / t["small"].median_ms)
    assert r["x_fewer_macs"] == pytest.approx(12 * 256 / 16) and r["drop_pt"] == 0
    table = points.ratio_table(pts, "big")
    assert "x (medians)" in table and "MACs ratio" in table and "192.00" in table   # not timed together: medians


def test_wrong_input_shape_is_one_line_with_the_fix():
    with pytest.raises(ValueError) as e:
        metrics.count_macs(models.lenet5(), (1, 3, 32, 32))
    assert "cannot take an input of shape (1, 3, 32, 32)" in str(e.value) and "input_size=" in str(e.value)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="cannot take an input"):
        metrics.compare_latency({"m": models.lenet5()}, (1, 1, 10, 10), repeats=2)


def test_not_a_module_is_refused_with_the_fix():
    with pytest.raises(TypeError, match="call it"):
        metrics.count_params(nn.Linear)
    with pytest.raises(TypeError, match="state_dict"):
        metrics.count_macs(models.lenet5().state_dict())
    with pytest.raises(ValueError, match="at least one model"):
        metrics.compare_latency({})


def test_measure_returns_points_with_the_four_numbers():
    m = models.lenet5()
    pts = points.measure({"a": m}, batch_size=2, repeats=3, accuracy={"a": 12.5})
    p = pts["a"]
    assert p.accuracy_pct == 12.5 and p.size_bytes == 4 * metrics.count_params(m)
    assert p.macs == metrics.count_macs(m) and p.latency_ms > 0
