import pytest
import torch

from labkit import blocks, metrics, models


@pytest.mark.parametrize("name", ["lenet5", "cnn", "compact"])
def test_every_model_maps_a_batch_to_ten_logits(name):
    m = models.build(name).eval()
    assert m(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_lenet5_has_the_classic_parameter_count():
    # conv 6*(25+1) + 16*(6*25+1) + fc 400*120+120 + 120*84+84 + 84*10+10
    assert metrics.count_params(models.lenet5()) == 156 + 2416 + 48120 + 10164 + 850


def test_compact_net_is_built_from_its_table():
    cfg = [("ds", 1, 8, 1, 1, 3), ("ir", 2, 16, 3, 2, 5)]
    net = models.CompactNet(cfg, width=1.0, stem=8, head=32)
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Sequential", "DepthwiseSeparable"] + ["InvertedResidual"] * 3 + ["Sequential"]
    irs = [m for m in net.features if isinstance(m, blocks.InvertedResidual)]
    assert [ir.use_residual for ir in irs] == [False, True, True]        # only the first changes shape
    assert irs[0].body[1][0].kernel_size == (5, 5) and irs[0].body[1][0].stride == (2, 2)


def test_width_multiplier_shrinks_params_roughly_quadratically():
    p = {w: metrics.count_params(models.compact_net(w)) for w in (0.5, 1.0)}
    assert 2.0 < p[1.0] / p[0.5] < 4.5


@pytest.mark.parametrize("bad, match", [
    ([("xx", 1, 8, 1, 1, 3)], "block one of"),
    ([("ir", 1, 8, 1)], "bad config row"),
])
def test_bad_config_rows_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        models.CompactNet(bad)


def test_bad_width_and_unknown_model():
    with pytest.raises(ValueError, match="width must be > 0"):
        models.compact_net(0)
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        models.build("resnet")


def test_inverted_residual_adds_its_input():
    ir = blocks.InvertedResidual(8, 8, stride=1, expand=2).eval()
    for p in ir.body.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(1, 8, 6, 6)
    assert torch.equal(ir(x), x)      # body outputs 0 (BN bias 0) -> identity via the residual


def test_vae_shapes_and_parameter_counts():
    vae = models.build("vae").eval()
    logits, mu, logvar = vae(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 784) and mu.shape == logvar.shape == (3, 16)
    assert metrics.count_params(vae.encoder) == 209_184 and metrics.count_params(vae.decoder) == 205_840
    vae.train()
    assert not torch.equal(vae(torch.rand(2, 784))[0], vae(torch.rand(2, 784))[0])     # samples z in training
