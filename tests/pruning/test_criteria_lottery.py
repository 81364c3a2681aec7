"""Channel criteria score what they say, plug into channel_prune; the lottery variants start where they say."""
import pytest
import torch
from torch import nn

from labkit import models, pruning
from labkit.pruning import criteria, lottery


def small_cnn():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(16 * 7 * 7, 12), nn.ReLU(), nn.Linear(12, 10))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.1, 2.0)
    return net.eval()


def test_scores_follow_their_definition():
    net = small_cnn()
    bn = criteria.channel_scores(net, "bn")
    assert torch.equal(bn["0"], net[1].weight.abs()) and torch.equal(bn["4"], net[5].weight.abs())
    assert torch.equal(bn["9"], pruning.filter_importance(net[9].weight, 1))          # no BatchNorm: L1
    assert set(bn) == {"0", "4", "9"}                                                  # the classifier is kept
    l1 = criteria.channel_scores(net, "l1")
    assert torch.equal(l1["4"], pruning.filter_importance(net[4].weight, 1))
    r0, r1 = criteria.channel_scores(net, "random", seed=0), criteria.channel_scores(net, "random", seed=1)
    assert torch.equal(r0["0"], criteria.channel_scores(net, "random", seed=0)["0"]) and not torch.equal(r0["0"], r1["0"])
    x, y = torch.randn(6, 1, 28, 28), torch.randint(0, 10, (6,))
    t = criteria.taylor_scores(net, [(x, y)])
    net.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    want = (net[4].weight.grad * net[4].weight).detach().reshape(16, -1).sum(1).pow(2)
    assert torch.allclose(t["4"], want, rtol=1e-5)
    with pytest.raises(ValueError, match="criterion must be one of"):
        criteria.channel_scores(net, "hessian")


def test_channel_prune_removes_the_lowest_scores():
    net = small_cnn()
    scores = {"0": torch.arange(8.0), "4": torch.arange(16.0).flip(0), "9": torch.arange(12.0)}
    pruned = pruning.channel_prune(net, 0.5, importance=scores, round_to=None)
    assert torch.equal(pruned[0].weight, net[0].weight[4:])                  # channels 0..3 scored lowest
    assert torch.equal(pruned[4].weight, net[4].weight[:8, 4:])              # here the first eight score highest


def test_lottery_variants_start_from_what_they_name(monkeypatch):
    torch.manual_seed(3)
    net = models.lenet5()
    init = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    rewind = {k: v + 1 for k, v in init.items()}
    run = {"net": net, "states": {"init": init, "rewind": rewind}, "seed": 0, "model": "lenet5"}
    seen = {}
    monkeypatch.setattr("labkit.train.train", lambda m, **kw: seen.setdefault("w", m[0].weight.detach().clone()))
    masks = pruning.global_magnitude_masks(net, 0.9)
    for variant, start in (("fine-tune", net.state_dict()), ("rewind", rewind), ("init", init)):
        seen.clear()
        lottery.ticket(run, 0.9, variant, epochs=1)
        assert torch.equal(seen["w"], start["0.weight"] * masks["0"]), variant
    seen.clear()
    lottery.ticket(run, 0.9, "reinit", epochs=1)
    assert not torch.equal(seen["w"], init["0.weight"] * masks["0"]) and bool((seen["w"][~masks["0"]] == 0).all())
    with pytest.raises(ValueError, match="variant must be one of"):
        lottery.ticket(run, 0.9, "winning")
