"""The speed verdict of a pruned model: a same-computation model is never faster or slower."""
import pytest

from labkit import pruning
from labkit.points import Point


class _Run:
    """Stands in for one timing run: a speedup outside noise, as a noisy run can give."""

    def speedup(self, model, reference):
        return {"value": 1.27, "lo": 1.20, "hi": 1.31, "within_noise": False, "noise_floor": 0.05}


def _pair(same: bool):
    run = _Run()
    ref = Point(90.0, 100, 10, 1.0, timing=run, name="baseline", computation="torch:a")
    p = Point(90.0, 50, 5, 0.8, timing=run, name="pruned", computation="torch:a" if same else "torch:b")
    return p, ref


def test_same_computation_is_within_noise_whatever_the_interval():
    p, ref = _pair(same=True)
    assert pruning.speed_verdict(p, ref).startswith("within noise (1.27x, 95 % CI 1.20-1.31)")
    assert "same computation" in pruning.speed_verdict(p, ref)


def test_another_computation_gets_the_plain_verdict():
    p, ref = _pair(same=False)
    assert pruning.speed_verdict(p, ref) == "faster (1.27x, 95 % CI 1.20-1.31)"


def test_points_not_timed_together_are_refused():
    a = Point(90.0, 100, 10, 1.0)
    with pytest.raises(ValueError, match="not timed together"):
        pruning.speed_verdict(a, a)
