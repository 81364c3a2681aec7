"""labkit.mixed: the greedy allocation fits the budget, prefers insensitive layers, and budgets
at whole bit-widths equal the uniform model's bytes."""
import pytest
import torch
from torch import nn

from labkit.quantization import mixed
from labkit.quantization import ptq

SIZES = {"a": {8: 100, 4: 50, 2: 25}, "b": {8: 1000, 4: 500, 2: 250}}
SENS = {"a": {8: 0.0, 4: 0.5, 2: 2.0}, "b": {8: 0.0, 4: 0.01, 2: 0.1}}


def tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(784, 3)).eval()   # 1x28x28 inputs


def test_allocate_prefers_the_insensitive_layer_and_fits():
    assert mixed.allocate_bits(SENS, SIZES, 10_000) == {"a": 8, "b": 8}
    alloc = mixed.allocate_bits(SENS, SIZES, 600)
    assert alloc == {"a": 8, "b": 4}                                   # b is cheap to lower and big
    assert mixed.allocate_bits(SENS, SIZES, 350) == {"a": 8, "b": 2}
    assert mixed.allocate_bits(SENS, SIZES, 275) == {"a": 2, "b": 2}
    for budget in (275, 300, 400, 600, 900, 1100):
        a = mixed.allocate_bits(SENS, SIZES, budget, rest=0)
        assert sum(SIZES[n][b] for n, b in a.items()) <= budget


def test_allocate_spends_what_is_left():
    sizes = {"a": {8: 100, 2: 25}, "b": {8: 1000, 2: 250}}
    sens = {"a": {8: 0.0, 2: 0.1}, "b": {8: 0.0, 2: 0.2}}               # b per byte is cheaper to lower
    assert mixed.allocate_bits(sens, sizes, 360) == {"a": 8, "b": 2}          # lowered both, then raised a back


def test_allocate_errors():
    with pytest.raises(ValueError, match="raise the budget"):
        mixed.allocate_bits(SENS, SIZES, 100)
    with pytest.raises(ValueError, match="same layers"):
        mixed.allocate_bits({"a": SENS["a"]}, SIZES, 1000)


def test_budget_at_whole_bits_is_the_uniform_size():
    m = tiny()
    for b in (2, 3, 4, 8):
        assert mixed.budget_bytes(m, b) == ptq.size_bytes(ptq.quantize_model(m, b))
    sizes, rest = mixed.layer_bytes(m, options=(8, 4))
    assert rest + sum(t[4] for t in sizes.values()) == mixed.budget_bytes(m, 4)
    with pytest.raises(ValueError, match="avg_bits"):
        mixed.budget_bytes(m, 0.5)


def test_sensitivity_and_budget_point_on_a_tiny_model():
    m = tiny()
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(32, 1, 28, 28, generator=g), torch.randint(0, 3, (32,), generator=g))]
    sens = mixed.sensitivity(m, options=(8, 2), batches=batches)
    assert set(sens) == {"0", "5"} and all(set(t) == {8, 2} for t in sens.values())
    assert all(abs(t[8]) < abs(t[2]) + 1e-9 for t in sens.values())
    p = mixed.budget_point(m, 5.0, sens, latency_ms=1.5, evaluate_fn=lambda q: 50.0)
    assert p["accuracy_pct"] == 50.0 and p["latency_ms"] == 1.5 and p["size_bytes"] <= mixed.budget_bytes(m, 5.0)
    assert set(p["config"]["bits_by_layer"]) == {"0", "5"}
