"""Building blocks of compact networks, and the registry that block-config tables name.

A block is built as ``BLOCKS[name](in_ch, out_ch, stride=..., expand=..., kernel=...)``.
Notebook 01 adds the rest of the family (SE, ShuffleNet, Ghost, Sandglass) to ``BLOCKS``;
NAS (notebook 07) searches over the same names.
"""
from __future__ import annotations

from torch import nn


def conv_bn_act(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                act: bool = True) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> ReLU6 (optional), 'same' padding."""
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(out_ch)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


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


BLOCKS: dict[str, type[nn.Module]] = {
    "conv": StandardConv,
    "ds": DepthwiseSeparable,
    "ir": InvertedResidual,
}
