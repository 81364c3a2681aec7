"""labkit.nas.proxies: every proxy is a finite number on a fresh network; the simple ones are exact."""
import math
import random

import torch

from labkit import metrics
from labkit.nas import proxies, space


def test_every_proxy_scores_a_network():
    a = space.sample(random.Random(0))
    g = torch.Generator().manual_seed(0)
    batch = torch.randn(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)
    scores, seconds = proxies.score_all(lambda: space.build(a), batch)
    assert set(scores) == set(proxies.ZERO_COST) and all(math.isfinite(v) for v in scores.values())
    assert all(s >= 0 for s in seconds.values())
    net = space.build(a)
    assert scores["params"] == metrics.count_params(net) and scores["macs"] == metrics.count_macs(net)
    assert scores["synflow"] > 0 and scores["snip"] > 0 and scores["grad_norm"] > 0


def test_naswot_is_higher_for_more_distinct_codes_and_convergence_reads_the_log():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    x = torch.randn(8, 1, 28, 28)
    same = x[:1].repeat(8, 1, 1, 1) + 1e-6 * torch.randn(8, 1, 28, 28)
    assert proxies.naswot(net, (x, None)) > proxies.naswot(net, (same, None))
    assert proxies.convergence([2.0, 1.0, 0.5], 2) == -3.0
