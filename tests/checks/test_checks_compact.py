"""The compact-network checks pass the references (labkit.blocks' own blocks and independent
tensor code) and fail a stub and plausible wrong answers."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit import blocks, checks
from labkit.blocks import conv_bn_act


def stub(*args, **kwargs):
    raise NotImplementedError()


# ---------------------------------------------------------------- references
def ds_ref(in_ch, out_ch, stride=1, kernel=3):
    return blocks.DepthwiseSeparable(in_ch, out_ch, stride=stride, kernel=kernel)


def ds_notebook(in_ch, out_ch, stride=1, kernel=3):
    """Notebook 01's solution: one flat Sequential with nn.ReLU (the reference uses ReLU6 in nested blocks)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, in_ch, kernel, stride, kernel // 2, groups=in_ch, bias=False),
        nn.BatchNorm2d(in_ch), nn.ReLU(inplace=True),
        nn.Conv2d(in_ch, out_ch, 1, bias=False),
        nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


def ds_layers(in_ch, out_ch, stride=1, kernel=3, bn=(True, True), act=(True, True), bias=False):
    """The MobileNetV1 block with a BatchNorm or a ReLU left out (bn / act: depthwise, pointwise)."""
    layers = [nn.Conv2d(in_ch, in_ch, kernel, stride, kernel // 2, groups=in_ch, bias=bias)]
    layers += [nn.BatchNorm2d(in_ch)] * bn[0] + [nn.ReLU(inplace=True)] * act[0]
    layers += [nn.Conv2d(in_ch, out_ch, 1, bias=bias)]
    layers += [nn.BatchNorm2d(out_ch)] * bn[1] + [nn.ReLU(inplace=True)] * act[1]
    return nn.Sequential(*layers)


def ir_ref(in_ch, out_ch, stride=1, expand=6, kernel=3):
    return blocks.InvertedResidual(in_ch, out_ch, stride=stride, expand=expand, kernel=kernel)


def hswish_ref(x):
    return x * torch.clamp(x + 3, 0, 6) / 6


def se_ref(x, w1, b1, w2, b2):
    s = x.mean(dim=(2, 3))                                   # (N, C)
    z = torch.clamp(F.relu(s @ w1.T + b1) @ w2.T + b2 + 3, 0, 6) / 6
    return x * z[:, :, None, None]


def shuffle_ref(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).permute(0, 2, 1, 3, 4).reshape(n, c, h, w)


def ghost_ref(in_ch, out_ch, ratio=2, dw_kernel=3):
    return blocks.GhostModule(in_ch, out_ch, ratio=ratio, dw_kernel=dw_kernel)


def sandglass_ref(in_ch, out_ch, stride=1, reduction=6, kernel=3):
    return blocks.SandglassBlock(in_ch, out_ch, stride=stride, expand=reduction, kernel=kernel)


class SandglassNotebook(nn.Module):
    """Notebook 01's solution: one flat Sequential (linear reduce, linear last depthwise)."""

    def __init__(self, in_ch, out_ch, stride=1, reduction=6, kernel=3, act_after_reduce=False):
        super().__init__()
        mid, p = in_ch // reduction, kernel // 2
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, in_ch, kernel, 1, p, groups=in_ch, bias=False), nn.BatchNorm2d(in_ch), nn.ReLU6(inplace=True),
            nn.Conv2d(in_ch, mid, 1, bias=False), nn.BatchNorm2d(mid), *[nn.ReLU6(inplace=True)] * act_after_reduce,
            nn.Conv2d(mid, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU6(inplace=True),
            nn.Conv2d(out_ch, out_ch, kernel, stride, p, groups=out_ch, bias=False), nn.BatchNorm2d(out_ch))
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = self.body(x)
        return x + y if self.use_residual else y


class Res(nn.Module):
    def __init__(self, body, residual):
        super().__init__()
        self.body, self.residual = body, residual

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


# ---------------------------------------------------------------- wrong answers
def ds_standard(in_ch, out_ch, stride=1, kernel=3):
    return conv_bn_act(in_ch, out_ch, kernel, stride)


def ds_stride_on_pointwise(in_ch, out_ch, stride=1, kernel=3):
    return nn.Sequential(conv_bn_act(in_ch, in_ch, kernel, 1, groups=in_ch), conv_bn_act(in_ch, out_ch, 1, stride))


def ds_pointwise_first(in_ch, out_ch, stride=1, kernel=3):
    return nn.Sequential(conv_bn_act(in_ch, out_ch, 1), conv_bn_act(out_ch, out_ch, kernel, stride, groups=out_ch))


def ir_no_residual(in_ch, out_ch, stride=1, expand=6, kernel=3):
    m = ir_ref(in_ch, out_ch, stride, expand, kernel)
    m.use_residual = False
    return m


def ir_relu_at_the_end(in_ch, out_ch, stride=1, expand=6, kernel=3):
    h = in_ch * expand
    layers = ([conv_bn_act(in_ch, h, 1)] if expand != 1 else []) + [
        conv_bn_act(h, h, kernel, stride, groups=h), conv_bn_act(h, out_ch, 1)]
    return Res(nn.Sequential(*layers), stride == 1 and in_ch == out_ch)


def ir_always_expands(in_ch, out_ch, stride=1, expand=6, kernel=3):
    h = in_ch * expand
    body = nn.Sequential(conv_bn_act(in_ch, h, 1), conv_bn_act(h, h, kernel, stride, groups=h),
                         conv_bn_act(h, out_ch, 1, act=False))
    return Res(body, stride == 1 and in_ch == out_ch)


def ir_residual_when_stride_1(in_ch, out_ch, stride=1, expand=6, kernel=3):
    m = ir_ref(in_ch, out_ch, stride, expand, kernel)
    m.use_residual = stride == 1
    return m


def swish(x):
    return x * torch.sigmoid(x)


def hard_sigmoid_not_swish(x):
    return torch.clamp(x + 3, 0, 6) / 6


def se_sigmoid(x, w1, b1, w2, b2):
    s = x.mean(dim=(2, 3))
    return x * torch.sigmoid(F.relu(s @ w1.T + b1) @ w2.T + b2)[:, :, None, None]


def se_maxpool(x, w1, b1, w2, b2):
    s = x.amax(dim=(2, 3))
    return x * (torch.clamp(F.relu(s @ w1.T + b1) @ w2.T + b2 + 3, 0, 6) / 6)[:, :, None, None]


def se_no_relu(x, w1, b1, w2, b2):
    s = x.mean(dim=(2, 3))
    return x * (torch.clamp((s @ w1.T + b1) @ w2.T + b2 + 3, 0, 6) / 6)[:, :, None, None]


def shuffle_inverse(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, c // groups, groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def shuffle_identity(x, groups):
    return x


def shuffle_reversed(x, groups):
    return x.flip(1)


class GhostsFirst(blocks.GhostModule):
    def forward(self, x):
        y = self.primary(x)
        return torch.cat([self.cheap(y), y], 1)[:, :self.out_ch]


def ghost_ghosts_first(in_ch, out_ch, ratio=2, dw_kernel=3):
    return GhostsFirst(in_ch, out_ch, ratio=ratio, dw_kernel=dw_kernel)


def ghost_floor(in_ch, out_ch, ratio=2, dw_kernel=3):
    m = max(1, out_ch // ratio)

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = conv_bn_act(in_ch, m, 1)
            self.c = conv_bn_act(m, out_ch - m, dw_kernel, groups=m) if (out_ch - m) % m == 0 else conv_bn_act(m, out_ch - m, dw_kernel)

        def forward(self, x):
            y = self.p(x)
            return torch.cat([y, self.c(y)], 1)
    return G()


def ghost_plain_conv(in_ch, out_ch, ratio=2, dw_kernel=3):
    m = math.ceil(out_ch / ratio)

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = conv_bn_act(in_ch, m, dw_kernel)          # primary is k x k instead of 1 x 1
            self.c = conv_bn_act(m, m * (ratio - 1), 1, groups=m)

        def forward(self, x):
            y = self.p(x)
            return torch.cat([y, self.c(y)], 1)[:, :out_ch]
    return G()


def sandglass_relu_end(in_ch, out_ch, stride=1, reduction=6, kernel=3):
    mid = in_ch // reduction
    body = nn.Sequential(conv_bn_act(in_ch, in_ch, kernel, groups=in_ch), conv_bn_act(in_ch, mid, 1, act=False),
                         conv_bn_act(mid, out_ch, 1), conv_bn_act(out_ch, out_ch, kernel, stride, groups=out_ch))
    return Res(body, stride == 1 and in_ch == out_ch)


def sandglass_no_residual(in_ch, out_ch, stride=1, reduction=6, kernel=3):
    m = sandglass_ref(in_ch, out_ch, stride, reduction, kernel)
    m.use_residual = False
    return m


def sandglass_stride_first(in_ch, out_ch, stride=1, reduction=6, kernel=3):
    mid = in_ch // reduction
    body = nn.Sequential(conv_bn_act(in_ch, in_ch, kernel, stride, groups=in_ch), conv_bn_act(in_ch, mid, 1, act=False),
                         conv_bn_act(mid, out_ch, 1), conv_bn_act(out_ch, out_ch, kernel, groups=out_ch, act=False))
    return Res(body, stride == 1 and in_ch == out_ch)


def sandglass_relu_after_reduce(in_ch, out_ch, stride=1, reduction=6, kernel=3):
    return SandglassNotebook(in_ch, out_ch, stride, reduction, kernel, act_after_reduce=True)


def sandglass_relu_after_reduce_nested(in_ch, out_ch, stride=1, reduction=6, kernel=3):
    mid = in_ch // reduction
    body = nn.Sequential(conv_bn_act(in_ch, in_ch, kernel, groups=in_ch), conv_bn_act(in_ch, mid, 1),
                         conv_bn_act(mid, out_ch, 1), conv_bn_act(out_ch, out_ch, kernel, stride, groups=out_ch, act=False))
    return Res(body, stride == 1 and in_ch == out_ch)


def sandglass_mid_from_out(in_ch, out_ch, stride=1, reduction=6, kernel=3):
    return sandglass_ref(in_ch, out_ch, stride, max(1, reduction * in_ch // max(out_ch, 1)), kernel)


# ---------------------------------------------------------------- tests
def test_references_pass(capsys):
    assert checks.check_depthwise_separable(ds_ref) is None
    assert checks.check_inverted_residual(ir_ref) is None
    assert checks.check_se_hswish(hswish_ref, se_ref) is None
    checks.check_se_hswish(F.hardswish, se_ref)
    assert checks.check_channel_shuffle(shuffle_ref) is None
    checks.check_channel_shuffle(blocks.channel_shuffle)
    assert checks.check_ghost_module(ghost_ref) is None
    assert checks.check_sandglass(sandglass_ref) is None
    out = capsys.readouterr().out
    assert out.count("✓") == 8
    for line in ("✓ depthwise_separable: shapes", "on 24 random configurations", "on 20 random cases each",
                 "(30 random shapes and group counts)", "locality on 20 random configurations"):
        assert line in out


@pytest.mark.parametrize("check, n", [(checks.check_depthwise_separable, 1), (checks.check_inverted_residual, 1),
                                      (checks.check_se_hswish, 2), (checks.check_channel_shuffle, 1),
                                      (checks.check_ghost_module, 1), (checks.check_sandglass, 1)])
def test_stubs_fail_with_a_pointer_to_the_cell(check, n):
    with pytest.raises(AssertionError, match="not implemented yet"):
        check(*[stub] * n)


def test_se_check_fails_when_only_one_function_is_done():
    with pytest.raises(AssertionError, match="squeeze_excite is not implemented"):
        checks.check_se_hswish(hswish_ref, stub)


@pytest.mark.parametrize("wrong, match", [(ds_standard, "a standard conv would have"),
                                          (ds_stride_on_pointwise, "stride belongs to the depthwise"),
                                          (ds_pointwise_first, "weights"),
                                          (lambda in_ch, out_ch, stride=1, kernel=3: "not a module", "must return an nn.Module")])
def test_depthwise_separable_wrong_answers(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_depthwise_separable(wrong)


def test_depthwise_separable_passes_valid_layouts(capsys):
    checks.check_depthwise_separable(ds_notebook)                                  # notebook 01's solution
    checks.check_depthwise_separable(lambda i, o, stride=1, kernel=3: ds_layers(i, o, stride, kernel, bias=True))
    assert capsys.readouterr().out == ("✓ depthwise_separable: shapes, k²·C_in + C_in·C_out weights and the MACs "
                                       "hold on 24 random configurations\n") * 2


NO_BN = "no BatchNorm follows the"
DS_LAYOUT = "depthwise kxk conv -> BN -> ReLU -> pointwise 1x1 conv -> BN -> ReLU"


@pytest.mark.parametrize("bn, act, match", [((False, False), (True, True), NO_BN + " depthwise and the pointwise convolutions"),
                                            ((False, True), (True, True), NO_BN + " depthwise convolution"),
                                            ((True, False), (True, True), NO_BN + " pointwise convolution"),
                                            ((True, True), (True, False), "the final ReLU is missing"),
                                            ((True, True), (False, True), "the ReLU after the depthwise BN is missing"),
                                            ((False, False), (True, False), "the final ReLU is missing")])
def test_depthwise_separable_without_bn_or_relu(bn, act, match):
    with pytest.raises(AssertionError, match=match) as e:
        checks.check_depthwise_separable(lambda i, o, stride=1, kernel=3: ds_layers(i, o, stride, kernel, bn=bn, act=act))
    assert DS_LAYOUT in str(e.value)


def test_depthwise_separable_without_bn_even_with_conv_bias():
    with pytest.raises(AssertionError, match=NO_BN + " depthwise convolution"):
        checks.check_depthwise_separable(lambda i, o, stride=1, kernel=3: ds_layers(i, o, stride, kernel, bn=(False, True), bias=True))


@pytest.mark.parametrize("wrong, match", [(ir_no_residual, "should return its input"),
                                          (ir_relu_at_the_end, "linear"),
                                          (ir_always_expands, "none when expand == 1"),
                                          (ir_residual_when_stride_1, "failed on an input|should output zeros")])
def test_inverted_residual_wrong_answers(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_inverted_residual(wrong)


@pytest.mark.parametrize("hs, se, match", [(swish, se_ref, "h-swish replaces it"),
                                           (hard_sigmoid_not_swish, se_ref, "hard_swish"),
                                           (hswish_ref, se_sigmoid, "hard-sigmoid"),
                                           (hswish_ref, se_maxpool, "mean over H and W"),
                                           (hswish_ref, se_no_relu, "squeeze_excite")])
def test_se_hswish_wrong_answers(hs, se, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_se_hswish(hs, se)


@pytest.mark.parametrize("wrong, match", [(shuffle_inverse, "inverse shuffle"), (shuffle_identity, "channel order"),
                                          (shuffle_reversed, "channel order")])
def test_channel_shuffle_wrong_answers(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_channel_shuffle(wrong)


@pytest.mark.parametrize("wrong, match", [(ghost_ghosts_first, "intrinsic maps first"), (ghost_floor, "ceil"),
                                          (ghost_plain_conv, "weights")])
def test_ghost_module_wrong_answers(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_ghost_module(wrong)


@pytest.mark.parametrize("wrong, match", [(sandglass_relu_end, "linear"), (sandglass_no_residual, "should return its input"),
                                          (sandglass_stride_first, "only the last depthwise"),
                                          (sandglass_mid_from_out, "weights")])
def test_sandglass_wrong_answers(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_sandglass(wrong)


def test_sandglass_passes_the_notebook_solution(capsys):
    checks.check_sandglass(SandglassNotebook)
    assert capsys.readouterr().out == ("✓ sandglass: shapes, weights, MACs, the residual exactly when shapes allow, and a "
                                       "linear last layer on 24 random configurations\n")


@pytest.mark.parametrize("wrong", [sandglass_relu_after_reduce, sandglass_relu_after_reduce_nested])
def test_sandglass_rejects_an_activation_after_the_reduction(wrong):
    with pytest.raises(AssertionError, match=r"an activation follows the 1x1 reduction\. The reduction to in_ch // reduction "
                                             r"= \d+ channels must stay linear \(BN, no ReLU6\)"):
        checks.check_sandglass(wrong)
