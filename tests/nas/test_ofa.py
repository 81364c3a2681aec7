"""labkit.nas.ofa: the elastic supernet, subnet extraction, BN recalibration and the cached sweep's shape."""
import random

import pytest
import torch
from torch import nn

from labkit import metrics
from labkit.models import CompactNet
from labkit.nas import latency, ofa, space


def _random_state(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and random BN statistics, so an identity BN or a zero weight cannot hide a slicing bug."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return net.eval()


SUBNETS = [ofa.largest(), ofa.smallest(), *(ofa.sample(random.Random(i)) for i in range(4))]


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    return _random_state(ofa.Supernet())


def test_the_subspace_and_its_subnets_are_architectures_of_the_space():
    assert ofa.size() == 18 ** 4                                   # 3 widths x 3 depths x 2 kernels per stage
    subnets = ofa.spanning(12)
    assert len(set(subnets)) == 12 and subnets[:2] == [ofa.largest(), ofa.smallest()]
    for a in subnets:
        assert space.is_valid(a) and all((r[0], r[1]) == (ofa.BLOCK, ofa.EXPAND) for r in a)
        assert set(latency.keys(a)) <= set(latency.all_keys())    # the LUT can predict every subnet
    with pytest.raises(ValueError, match="ofa.subnet"):
        ofa.check(tuple(("ds", 1, *r[2:]) for r in ofa.largest()))


@pytest.mark.parametrize("arch", SUBNETS, ids=lambda a: space.describe(a).replace(" ", ""))
def test_extract_computes_what_the_supernet_computes_at_that_subnet(supernet, arch):
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    model = ofa.extract(supernet, arch)
    assert type(model) is CompactNet and not model.training
    with torch.no_grad():
        got, want = model(x), supernet(x, arch)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    other = next(a for a in SUBNETS if a != arch)                 # the check tells subnets apart
    with torch.no_grad():
        assert (supernet(x, other) - want).abs().max() > 1e-3


def test_extract_is_a_standalone_net_of_the_subnet_size_with_sliced_weights(supernet):
    arch = ofa.subnet([8, 24, 40, 64], [1, 3, 2, 1], [3, 5, 3, 5])
    model = ofa.extract(supernet, arch)
    ref = space.build(arch)
    assert metrics.count_params(model) == metrics.count_params(ref) < metrics.count_params(supernet)
    assert metrics.count_macs(model) == metrics.count_macs(ref)
    blocks = list(model.features)[1:-1]
    assert len(blocks) == sum(r[3] for r in arch)                # depth: the first d blocks of each stage
    # stage 1's first block: input 8 channels (stage 0's width) -> hidden 32 -> output 24, kernel 5
    b, big = blocks[1], supernet.stages[1][0]
    assert b.body[0][0].weight.shape == (32, 8, 1, 1)
    assert torch.equal(b.body[0][0].weight, big.body[0][0].weight[:32, :8])           # width: the first channels
    assert torch.equal(b.body[1][0].weight, big.body[1][0].weight[:32])              # kernel 5 of 5: all of it
    assert torch.equal(b.body[2][1].running_var, big.body[2][1].running_var[:24])
    # stage 0's block at kernel 3: the centre 3x3 of the supernet's 5x5
    k3 = blocks[0].body[1][0].weight
    assert k3.shape == (64, 1, 3, 3)
    assert torch.equal(k3, supernet.stages[0][0].body[1][0].weight[:64, :, 1:4, 1:4])
    assert torch.equal(model.classifier.weight, supernet.classifier.weight)


def test_recalibrate_bn_re_estimates_the_running_statistics_and_nothing_else(supernet):
    model = ofa.extract(supernet, ofa.smallest())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(2)
    batches = [torch.randn(16, 1, 28, 28, generator=g) for _ in range(3)]
    ofa.recalibrate_bn(model, batches)
    assert not model.training
    after = model.state_dict()
    for k, v in before.items():
        if k.endswith(("running_mean", "running_var")):
            assert not torch.equal(v, after[k]), k
        elif not k.endswith("num_batches_tracked"):
            assert torch.equal(v, after[k]), k                   # weights, biases, BN affine: untouched
    assert all(m.momentum == 0.1 for m in ofa.bn_layers(model))   # momentum restored
    # the first BN's mean is the plain average of the stem convolution's per-batch channel means
    conv, bn = model.features[0][0], model.features[0][1]
    with torch.no_grad():
        want = torch.stack([conv(x).mean((0, 2, 3)) for x in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="calibration_batches"):
        ofa.recalibrate_bn(model, [])


def test_fp16_weights_round_trip(supernet):
    entry = ofa.encode_weights(supernet)
    net = ofa.decode_weights(entry)
    ref = ofa.to_fp16_(ofa.Supernet())
    ref.load_state_dict(supernet.state_dict())
    ofa.to_fp16_(ref)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, net.state_dict()[k]), k
    with pytest.raises(ValueError, match="sha256"):
        ofa.decode_weights({**entry, "sha256": "0" * 64})


def test_the_recipe_rows_on_a_tiny_run():
    rows, params, extra = ofa.recipe(n=2, candidates=1, seeds=(0, 1), train={"images": 64, "epochs": 1},
                                     budget={"images": 64, "eval_images": 100}, calibration=1,
                                     matched={"images": 64}, log=lambda *a: None)   # (default: 8,000 images x 4 runs)
    assert [r["config"]["role"] for r in rows] == ["subnet", "subnet", "candidate"]
    for r in rows:
        assert {"config", "arch", "inherited_pct", "macs", "params"} <= set(r)
        assert 0 <= r["inherited_pct"] <= 100
    for r in rows[:2]:
        assert {"standalone_seed0_pct", "standalone_seed1_pct", "standalone_seed0_seconds",
                "matched_seed0_pct", "matched_seed1_pct"} <= set(r)
    assert params["matched"]["images"] == 64 and "matched_seed0_pct" not in rows[2]
    assert params["subspace_size"] == ofa.size() and params["calibration_images"] == ofa.CALIBRATION_BATCH
    assert extra["train_seconds"] > 0 and extra["weights"]["dtype"] == "float16"
    net = ofa.decode_weights(extra["weights"])
    assert isinstance(net, ofa.Supernet)
    doc = {"command": "", "labkit": "", "torch": "", "threads": 1, "created": "", "seconds": 1.0,
           "params": params, "rows": rows, "extra": extra}
    v = ofa.view(doc)
    assert len(v["subnets"]) == 2 and len(v["candidates"]) == 1 and "standalone_pct" in v["subnets"][0]
