"""labkit.nas.latency: LUT keys chain like the network, predictions sum them, the error summary."""
import random

import numpy as np
import pytest
import torch

from labkit.nas import latency, space


def test_keys_chain_like_the_network_and_are_all_in_the_space():
    everything = set(latency.all_keys())
    rng = random.Random(0)
    for _ in range(50):
        a = space.sample(rng)
        ks = latency.keys(a)
        assert set(ks) <= everything
        assert len(ks) == 2 + sum(r[3] for r in a)
    x = torch.randn(1, 1, 28, 28)
    for k in latency.keys(space.sample(rng)):
        assert tuple(x.shape) == latency.input_size(k)
        x = latency.module(k)(x)
    assert x.shape == (1, 10)


def test_predict_sums_the_table_and_names_a_missing_key():
    a = space.sample(random.Random(3))
    ks = latency.keys(a)
    lut = {k: 2.0 ** i for i, k in enumerate(dict.fromkeys(ks))}      # powers of two: the sum shows every key counted
    want = sum(lut[k] * ks.count(k) for k in lut)
    assert latency.predict(lut, a) == want
    assert latency.predict({latency.key_name(k): v for k, v in lut.items()}, a) == want
    with pytest.raises(KeyError, match="measure it"):
        latency.predict({}, a)


def test_interleaved_timing_and_summary():
    a = space.sample(random.Random(4))
    t = latency.measure_archs([a], repeats=2)[0]
    assert 0 < t["min"] <= t["median"]
    s = latency.summary([1.05, 0.8, 2.0], [1.0, 1.0, 1.0])
    assert s["n"] == 3 and s["within_10pct"] == pytest.approx(1 / 3) and s["mape"] == pytest.approx(100 * 1.25 / 3)
    a_, b_ = latency.flops_fit([1, 2, 3], [3, 5, 7])
    assert a_ == pytest.approx(2) and b_ == pytest.approx(1)
    assert np.allclose(latency.errors([2], [1]), [1.0])
