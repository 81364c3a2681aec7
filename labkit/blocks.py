"""Building blocks of compact networks, and the registry that block-config tables name.

A block is built as ``BLOCKS[name](in_ch, out_ch, stride=..., expand=..., kernel=...)``;
``labkit.models.CompactNet`` builds a network from a table of such rows and NAS (notebook
07) searches over the same names. Notebook 01 builds each block by hand and measures it.

==============  ===========================================================================
``conv``        standard k x k convolution, the reference
``ds``          depthwise-separable convolution (MobileNetV1)
``ir``          inverted residual with linear bottleneck (MobileNetV2)
``mb3``         inverted residual + squeeze-and-excitation + h-swish (MobileNetV3)
``shuffle``     ShuffleNetV2 unit: channel split, one cheap branch, concat, channel shuffle
``ghost``       Ghost bottleneck: two Ghost modules (GhostNet)
``sandglass``   Sandglass block: depthwise at both wide ends, narrow 1x1s in between (MobileNeXt)
==============  ===========================================================================

Pure tensor functions (``hard_swish``, ``hard_sigmoid``, ``channel_shuffle``) come first,
then the modules. ``expand`` is each paper's expansion (or, for ``sandglass``, reduction)
ratio; blocks that have none (``conv``, ``ds``, ``shuffle``) accept and ignore it so that
every row of a config table builds with any block name.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- pure tensor functions
def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``ReLU6(x + 3) / 6``: a piecewise-linear sigmoid (MobileNetV3, Howard et al. 2019)."""
    return F.relu6(x + 3.0) / 6.0


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    """``x * ReLU6(x + 3) / 6`` (h-swish, MobileNetV3): swish without the exponential."""
    return x * hard_sigmoid(x)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet, Zhang et al. 2018).

    Channel ``g * (C // groups) + i`` moves to position ``i * groups + g``, so each group of
    the next grouped layer sees channels from every group of this one. A permutation:
    ``channel_shuffle(channel_shuffle(x, g), C // g)`` is ``x`` again.
    """
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"channel_shuffle needs channels divisible by groups, got {c} channels and {groups} groups")
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)   # (N, C/g, g, H, W) -> (N, C, H, W)


def round_channels(c: float, divisor: int = 4) -> int:
    """``c`` rounded to a multiple of ``divisor``, never below 90 % of ``c`` (as MobileNets do)."""
    new = max(divisor, int(c + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * c else new


# ---------------------------------------------------------------- layers
_ACTS = {"relu6": nn.ReLU6, "relu": nn.ReLU, "hswish": nn.Hardswish}


def conv_bn_act(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                act: bool | str = True) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> activation, 'same' padding.

    ``act``: ``True`` (ReLU6), ``False`` (none: a linear layer), or ``"relu"``/``"relu6"``/``"hswish"``.
    """
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(out_ch)]
    if act:
        layers.append(_ACTS["relu6" if act is True else act](inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation with a hard-sigmoid gate, as in MobileNetV3.

    Global average pool -> 1x1 conv to ``channels // reduction`` -> ReLU -> 1x1 conv back
    -> hard-sigmoid -> scale each channel of the input. Hu et al., "Squeeze-and-Excitation
    Networks", CVPR 2018; the hard gate from Howard et al. 2019 (arXiv:1905.02244).
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        squeeze = max(4, round_channels(channels / reduction))
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)                      # (N, C, 1, 1)
        return x * hard_sigmoid(self.fc2(F.relu(self.fc1(s))))


class GhostModule(nn.Module):
    """``out_ch`` feature maps for about ``1/ratio`` of a 1x1 convolution's cost (GhostNet).

    A primary 1x1 convolution makes ``m = ceil(out_ch / ratio)`` intrinsic maps; a cheap
    depthwise ``dw_kernel`` convolution makes ``ratio - 1`` "ghosts" of each; the first
    ``out_ch`` of the concatenation are returned. Han et al., "GhostNet: More Features from
    Cheap Operations", CVPR 2020 (arXiv:1911.11907).
    """

    def __init__(self, in_ch: int, out_ch: int, ratio: int = 2, dw_kernel: int = 3, act: bool | str = "relu"):
        super().__init__()
        self.out_ch = out_ch
        m = math.ceil(out_ch / ratio)
        self.primary = conv_bn_act(in_ch, m, 1, act=act)
        self.cheap = conv_bn_act(m, m * (ratio - 1), dw_kernel, groups=m, act=act)

    def forward(self, x):
        y = self.primary(x)
        return torch.cat([y, self.cheap(y)], 1)[:, :self.out_ch]


# ---------------------------------------------------------------- blocks of the registry
class StandardConv(nn.Sequential):
    """A plain k x k convolution block: the reference the compact blocks are measured against."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 1, kernel: int = 3):
        super().__init__(*conv_bn_act(in_ch, out_ch, kernel, stride))


class DepthwiseSeparable(nn.Sequential):
    """Depthwise k x k + pointwise 1 x 1 (MobileNetV1; Howard et al. 2017, arXiv:1704.04861)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 1, kernel: int = 3):
        super().__init__(conv_bn_act(in_ch, in_ch, kernel, stride, groups=in_ch),
                         conv_bn_act(in_ch, out_ch, 1))


class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise kxk -> linear 1x1 projection, residual when shapes allow.

    MobileNetV2: Sandler et al., "Inverted Residuals and Linear Bottlenecks", CVPR 2018.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 6, kernel: int = 3):
        super().__init__()
        hidden = in_ch * expand
        layers = [conv_bn_act(in_ch, hidden, 1)] if expand != 1 else []
        layers += [conv_bn_act(hidden, hidden, kernel, stride, groups=hidden),
                   conv_bn_act(hidden, out_ch, 1, act=False)]          # linear bottleneck
        self.body = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = self.body(x)
        return x + y if self.use_residual else y


class MobileNetV3Block(nn.Module):
    """MobileNetV3's bneck: expand 1x1 -> depthwise kxk -> squeeze-excite -> linear 1x1,
    h-swish activations, residual when shapes allow.

    Howard et al., "Searching for MobileNetV3", ICCV 2019 (arXiv:1905.02244); torchvision's
    ``mobilenetv3.InvertedResidual`` with ``use_se=True, activation="HS"``.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 4, kernel: int = 3):
        super().__init__()
        hidden = in_ch * expand
        layers = [conv_bn_act(in_ch, hidden, 1, act="hswish")] if expand != 1 else []
        layers += [conv_bn_act(hidden, hidden, kernel, stride, groups=hidden, act="hswish"),
                   SqueezeExcite(hidden),
                   conv_bn_act(hidden, out_ch, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = self.body(x)
        return x + y if self.use_residual else y


class ShuffleV2Unit(nn.Module):
    """The ShuffleNetV2 unit (Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient
    CNN Architecture Design", ECCV 2018, arXiv:1807.11164).

    Stride 1 with ``in_ch == out_ch``: split the channels in half, keep one half as is, run
    1x1 -> depthwise kxk -> 1x1 on the other, concatenate, shuffle. Otherwise (downsampling
    or a change of width) both branches see the whole input and each gives ``out_ch / 2``.
    ``expand`` is ignored: ShuffleNetV2 keeps every 1x1 at equal width (its guideline G1).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 1, kernel: int = 3):
        super().__init__()
        if out_ch % 2:
            raise ValueError(f"a ShuffleNetV2 unit needs an even out_ch (two halves), got {out_ch}")
        self.split = stride == 1 and in_ch == out_ch
        half = out_ch // 2
        branch_in = half if self.split else in_ch
        self.branch_proj = None if self.split else nn.Sequential(
            conv_bn_act(in_ch, in_ch, kernel, stride, groups=in_ch, act=False),
            conv_bn_act(in_ch, half, 1, act="relu"))
        self.branch_main = nn.Sequential(conv_bn_act(branch_in, half, 1, act="relu"),
                                         conv_bn_act(half, half, kernel, stride, groups=half, act=False),
                                         conv_bn_act(half, half, 1, act="relu"))

    def forward(self, x):
        if self.split:
            keep, x2 = x.chunk(2, dim=1)
            out = torch.cat([keep, self.branch_main(x2)], 1)
        else:
            out = torch.cat([self.branch_proj(x), self.branch_main(x)], 1)
        return channel_shuffle(out, 2)


class GhostBottleneck(nn.Module):
    """GhostNet's bottleneck: Ghost module (expand, ReLU) -> [depthwise kxk, stride 2] ->
    Ghost module (project, linear), plus a shortcut (identity, or depthwise + 1x1 when the
    shape changes). Han et al., CVPR 2020 (arXiv:1911.11907). SE is left out (see ``mb3``).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 3, kernel: int = 3):
        super().__init__()
        hidden = round_channels(in_ch * expand)
        layers = [GhostModule(in_ch, hidden, act="relu")]
        if stride > 1:
            layers.append(conv_bn_act(hidden, hidden, kernel, stride, groups=hidden, act=False))
        layers.append(GhostModule(hidden, out_ch, act=False))
        self.body = nn.Sequential(*layers)
        self.shortcut = nn.Identity() if stride == 1 and in_ch == out_ch else nn.Sequential(
            conv_bn_act(in_ch, in_ch, kernel, stride, groups=in_ch, act=False),
            conv_bn_act(in_ch, out_ch, 1, act=False))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class SandglassBlock(nn.Module):
    """MobileNeXt's sandglass: depthwise kxk (ReLU6) -> linear 1x1 reduce to ``in_ch / expand``
    -> 1x1 expand to ``out_ch`` (ReLU6) -> linear depthwise kxk (stride), residual when
    shapes allow: the identity and the depthwise convolutions live at the *wide* ends.

    Zhou et al., "Rethinking Bottleneck Structure for Efficient Mobile Network Design",
    ECCV 2020 (arXiv:2007.02269). Here ``expand`` is the reduction ratio t.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 6, kernel: int = 3):
        super().__init__()
        mid = max(1, in_ch // expand)
        self.body = nn.Sequential(conv_bn_act(in_ch, in_ch, kernel, groups=in_ch),
                                  conv_bn_act(in_ch, mid, 1, act=False),
                                  conv_bn_act(mid, out_ch, 1),
                                  conv_bn_act(out_ch, out_ch, kernel, stride, groups=out_ch, act=False))
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = self.body(x)
        return x + y if self.use_residual else y


BLOCKS: dict[str, type[nn.Module]] = {
    "conv": StandardConv,
    "ds": DepthwiseSeparable,
    "ir": InvertedResidual,
    "mb3": MobileNetV3Block,
    "shuffle": ShuffleV2Unit,
    "ghost": GhostBottleneck,
    "sandglass": SandglassBlock,
}
"""Every block of the lab by its config-table name (``labkit.models.CompactNet`` rows)."""
