"""Checks for notebook 00 (welcome): counting the MACs of a convolution."""
from __future__ import annotations

import torch
from torch import nn

from ..metrics import layer_macs
from ._common import call_student, hidden_rng


def _random_conv(rng) -> tuple[nn.Conv2d, int, int]:
    groups = rng.choice([1, 1, 2, 4, "depthwise"])
    in_ch = rng.choice([4, 8, 12, 16, 32])
    if groups == "depthwise":
        groups, out_ch = in_ch, in_ch * rng.choice([1, 2])
    else:
        out_ch = groups * rng.choice([1, 2, 3, 5])
        in_ch = in_ch if in_ch % groups == 0 else groups * 4
    k = rng.choice([1, 3, 5, (3, 1), (1, 5)])
    conv = nn.Conv2d(in_ch, out_ch, k, stride=rng.choice([1, 1, 2, 3]), padding=rng.choice([0, 1, 2]),
                     dilation=rng.choice([1, 1, 2]), groups=groups, bias=rng.random() < 0.5)
    return conv, rng.randint(9, 33), rng.randint(9, 33)


def measured_conv_macs(conv: nn.Conv2d, height: int, width: int) -> int:
    """MACs of ``conv`` on one (C, height, width) input, from the output it really produces."""
    with torch.inference_mode():
        x = torch.zeros(1, conv.in_channels, height, width)
        return layer_macs(conv, x, conv(x))


def check_conv_macs(conv2d_macs, cases: int = 60) -> None:
    """Check ``conv2d_macs(conv, height, width) -> int``: the multiply-accumulates of one
    ``nn.Conv2d`` on one input of ``height x width`` (bias additions not counted)."""
    rng = hidden_rng(0)
    for i in range(cases):
        conv, h, w = _random_conv(rng)
        want = measured_conv_macs(conv, h, w)
        got = call_student(conv2d_macs, "conv2d_macs", conv, h, w)
        if not isinstance(got, (int, torch.Tensor)) or isinstance(got, bool):
            raise AssertionError(f"conv2d_macs must return an int, got {type(got).__name__}")
        if int(got) != want:
            out_h = (h + 2 * conv.padding[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) // conv.stride[0] + 1
            hint = ("count one output position per stride step: use the output height/width, not the input's"
                    if int(got) > want and conv.groups == 1 else
                    "each output channel sees only in_channels / groups input channels" if conv.groups > 1 else
                    "MACs = output positions x out_channels x (in_channels / groups) x kernel area")
            raise AssertionError(f"case {i}: {conv} on a {h}x{w} input gives a {out_h}-row output and "
                                 f"{want:,} MACs, your function says {int(got):,}. Hint: {hint}.")
    print(f"✓ conv2d_macs matches the measured MACs of {cases} random Conv2d layers "
          f"(strides, padding, dilation, groups, depthwise)")
