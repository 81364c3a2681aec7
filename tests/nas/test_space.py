"""labkit.nas.space: the search space is the block-config table."""
import math
import random

import torch

from labkit.models import CompactNet
from labkit.nas import space


def test_size_is_the_product_of_the_stage_options():
    per_stage = (2 + 4 * 3) * 3 * 3 * 2             # ops (ds, shuffle, 4 blocks x 3 expansions) x widths x depths x kernels
    assert space.size() == per_stage ** 4 == math.prod(space.stage_size(s) for s in range(4))
    assert space.size() >= 10 ** 6
    assert len(set(space.ops())) == 14 and {b for b, _ in space.ops()} == set(space.BLOCK_NAMES)


def test_samples_are_valid_networks_of_the_table():
    rng = random.Random(0)
    for _ in range(5):
        a = space.sample(rng)
        assert space.is_valid(a)
        net = space.build(a)
        assert isinstance(net, CompactNet) and net.config == list(a)
        assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_mutation_changes_exactly_one_decision():
    rng = random.Random(1)
    for _ in range(300):
        a = space.sample(rng)
        b = space.mutate(a, rng)
        assert space.is_valid(b) and len(space.changed(a, b)) == 1


def test_params_round_trip_and_problems():
    a = space.sample(random.Random(2))
    assert space.from_params(space.as_params(a)) == a
    bad = [list(r) for r in a]
    bad[0][0] = "conv"
    assert "op" in space.problem(bad)
    bad = [list(r) for r in a]
    bad[1][4] = 1
    assert "stride" in space.problem(bad)
    assert space.problem(a[:3]) is not None


def test_spanning_designs_are_distinct_and_balanced():
    archs = space.spanning(40, 0)
    assert len(set(archs)) == 40 and all(space.is_valid(a) for a in archs)
    kernels = [r[5] for a in archs for r in a]
    assert abs(kernels.count(3) - kernels.count(5)) <= 16
