"""labkit.blocks: shapes, parameter formulas, and agreement with torchvision's own blocks."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import mobilenetv3, shufflenetv2
from torchvision.ops import SqueezeExcitation

from labkit import blocks, metrics, models


def conv_params(m):
    return sum(p.numel() for c in m.modules() if isinstance(c, nn.Conv2d) for p in c.parameters())


def copy_weights(src, dst):
    """Copy parameters and buffers in definition order (same architecture, other names)."""
    with torch.no_grad():
        for a, b in zip(src.parameters(), dst.parameters(), strict=True):
            b.copy_(a)
        for a, b in zip(src.buffers(), dst.buffers(), strict=True):
            b.copy_(a)


def randomize_bn(m, seed=0):
    g = torch.Generator().manual_seed(seed)
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.running_mean.copy_(torch.randn(bn.num_features, generator=g) * 0.1)
            bn.running_var.copy_(torch.rand(bn.num_features, generator=g) + 0.5)


@pytest.mark.parametrize("name", sorted(blocks.BLOCKS))
@pytest.mark.parametrize("in_ch, out_ch, stride", [(16, 16, 1), (16, 24, 2), (8, 32, 1)])
def test_every_block_maps_shapes(name, in_ch, out_ch, stride):
    b = blocks.BLOCKS[name](in_ch, out_ch, stride=stride, kernel=3).eval()
    y = b(torch.randn(2, in_ch, 9, 9))
    assert y.shape == (2, out_ch, 5 if stride == 2 else 9, 5 if stride == 2 else 9)


def test_parameter_counts_follow_the_formulas():
    c, k = 32, 3
    assert conv_params(blocks.StandardConv(c, c)) == k * k * c * c
    assert conv_params(blocks.DepthwiseSeparable(c, c)) == k * k * c + c * c
    assert conv_params(blocks.InvertedResidual(c, c, expand=6)) == c * 6 * c + k * k * 6 * c + 6 * c * c
    assert conv_params(blocks.SandglassBlock(c, c, expand=4)) == k * k * c + c * (c // 4) + (c // 4) * c + k * k * c
    m = 24 // 2                                                       # Ghost module, ratio 2
    assert conv_params(blocks.GhostModule(16, 24)) == 16 * m + 3 * 3 * m


def test_hard_swish_and_hard_sigmoid_match_torch():
    x = torch.linspace(-6, 6, 241)
    assert torch.allclose(blocks.hard_swish(x), F.hardswish(x))
    assert torch.allclose(blocks.hard_sigmoid(x), F.hardsigmoid(x))


def test_squeeze_excite_matches_torchvision():
    ours = blocks.SqueezeExcite(32)
    ref = SqueezeExcitation(32, ours.fc1.out_channels, scale_activation=nn.Hardsigmoid)
    copy_weights(ours, ref)
    x = torch.randn(2, 32, 5, 5)
    assert torch.allclose(ours(x), ref(x), atol=1e-6)


def test_channel_shuffle_matches_torch_and_is_undone_by_its_inverse():
    x = torch.randn(2, 12, 3, 3)
    for g in (1, 2, 3, 4, 6):
        y = blocks.channel_shuffle(x, g)
        assert torch.equal(y, nn.ChannelShuffle(g)(x))
        assert torch.equal(blocks.channel_shuffle(y, 12 // g), x)
    with pytest.raises(ValueError, match="divisible by groups"):
        blocks.channel_shuffle(x, 5)


@pytest.mark.parametrize("inp, oup, stride", [(24, 24, 1), (24, 48, 2)])
def test_shuffle_unit_equals_torchvision(inp, oup, stride):
    ours = blocks.ShuffleV2Unit(inp, oup, stride=stride)
    ref = shufflenetv2.InvertedResidual(inp, oup, stride)
    randomize_bn(ours)
    copy_weights(ours, ref)
    ours.eval(), ref.eval()
    x = torch.randn(2, inp, 8, 8)
    assert torch.allclose(ours(x), ref(x), atol=1e-5)


def test_shuffle_unit_needs_even_channels():
    with pytest.raises(ValueError, match="even out_ch"):
        blocks.ShuffleV2Unit(8, 9, stride=2)


@pytest.mark.parametrize("stride", [1, 2])
def test_mobilenetv3_block_equals_torchvision(stride):
    cnf = mobilenetv3.InvertedResidualConfig(16, 3, 64, 16 if stride == 1 else 24, True, "HS", stride, 1, 1.0)
    ref = mobilenetv3.InvertedResidual(cnf, nn.BatchNorm2d)
    ours = blocks.MobileNetV3Block(16, cnf.out_channels, stride=stride, expand=4)
    assert metrics.count_params(ours) == metrics.count_params(ref)
    randomize_bn(ours)
    copy_weights(ours, ref)
    ours.eval(), ref.eval()
    x = torch.randn(2, 16, 8, 8)
    assert torch.allclose(ours(x), ref(x), atol=1e-5)


@pytest.mark.parametrize("cls", [blocks.InvertedResidual, blocks.MobileNetV3Block, blocks.SandglassBlock])
def test_residual_blocks_add_their_input_only_when_shapes_allow(cls):
    for in_ch, out_ch, stride, residual in [(8, 8, 1, True), (8, 16, 1, False), (8, 8, 2, False)]:
        b = cls(in_ch, out_ch, stride=stride, expand=2).eval()
        for m in b.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.zeros_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        x = torch.randn(1, in_ch, 6, 6)
        y = b(x)
        if residual:
            assert torch.allclose(y, x)
        else:
            assert y.abs().max() < 1e-6


def test_ghost_module_outputs_intrinsic_maps_then_their_ghosts():
    g = blocks.GhostModule(8, 10, ratio=2).eval()
    x = torch.randn(1, 8, 5, 5)
    y = g(x)
    intrinsic = g.primary(x)
    assert y.shape == (1, 10, 5, 5)
    assert torch.equal(y[:, :5], intrinsic) and torch.equal(y[:, 5:], g.cheap(intrinsic))


@pytest.mark.parametrize("block", sorted(blocks.BLOCKS))
def test_compact_net_builds_with_every_block(block):
    cfg = [("ds", 1, 16, 1, 1, 3)] + [(block, 4, c, n, s, 3) for _, _, c, n, s, _ in models.COMPACT_CONFIG[1:]]
    net = models.CompactNet(cfg, width=0.5).eval()
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
