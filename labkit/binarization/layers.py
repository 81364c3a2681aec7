"""Binarized layers for training (fake-quantized: float arithmetic on +-1 values) and the model
rewrite that puts them in.

``BinaryConv2d`` / ``BinaryLinear`` keep the real-valued ("latent") weight as their ``weight``
(the optimiser updates it) and compute, in every forward,

    y = op(x_b, codes(w)) * alpha + bias

with ``codes``/``alpha`` from ``binary.quantized`` (``binary``: sign and XNOR-Net's mean|w|;
``ternary``: TWN). With ``binary_input=True`` (XNOR-Net) the input is binarized too (``sign`` with
the clipped STE) and a convolution's zero padding becomes padding with -1: a bit has no 0, and
the packed kernel (``labkit.binarization.kernels``) pads with the bit 0 = -1, so both compute
the same integers. Applying ``alpha`` after the +-1 product keeps that product an exact
integer in float32, so the packed model gives bit-identical outputs.

``binarize_(model, technique, layers)`` swaps the chosen Conv2d/Linear layers (default: all but
the first and the last, as every BNN paper keeps them in higher precision: the first sees the
raw pixels, 1 input channel, few weights; the last makes the 10 logits; both are small and
costly in accuracy to binarize). For ``"xnor"`` it also removes the ReLU feeding a binarized
input (a sign of a ReLU output is all +1): BatchNorm then sits just before the sign and learns
its threshold (XNOR-Net's block order BN -> sign -> conv).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate
from ..layers import replace_, weighted_layers
from . import binary

TECHNIQUES = {   # the notebook's name -> (record technique, weight kind, binary input)
    "bwn": ("binary-weight", "binary", False),
    "ternary": ("ternary-weight", "ternary", False),
    "xnor": ("binary-xnor", "binary", True),
}


class _Binarized:
    """Shared by BinaryConv2d and BinaryLinear: ``kind`` and ``binary_input``."""
    kind: str
    binary_input: bool

    def codes_alpha(self) -> tuple[torch.Tensor, torch.Tensor]:
        return binary.quantized(self.weight, self.kind)

    def _setup(self, kind: str, binary_input: bool):
        self.kind = validate.choice(kind, ("binary", "ternary"), "weight kind")
        if binary_input and kind != "binary":
            raise ValueError("binary inputs need binary weights (XNOR): use kind='binary' with binary_input=True")
        self.binary_input = bool(binary_input)

    def extra_repr(self):
        return super().extra_repr() + f", kind={self.kind}, binary_input={self.binary_input}"


class BinaryConv2d(_Binarized, nn.Conv2d):
    """A Conv2d whose forward uses binary (or ternary) weights, optionally binary inputs."""

    def __init__(self, *args, kind: str = "binary", binary_input: bool = False, **kw):
        super().__init__(*args, **kw)
        self._setup(kind, binary_input)

    def forward(self, x):
        codes, alpha = self.codes_alpha()
        if self.binary_input:
            x = binary.binarize(x)
            ph, pw = self.padding
            x = F.pad(x, (pw, pw, ph, ph), value=-1.0)            # (B, C, H + 2p, W + 2p): the bit 0
            y = F.conv2d(x, codes, None, self.stride, 0, self.dilation, self.groups)
        else:
            y = F.conv2d(x, codes, None, self.stride, self.padding, self.dilation, self.groups)
        y = y * alpha.view(1, -1, 1, 1)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


class BinaryLinear(_Binarized, nn.Linear):
    """A Linear whose forward uses binary (or ternary) weights, optionally binary inputs."""

    def __init__(self, *args, kind: str = "binary", binary_input: bool = False, **kw):
        super().__init__(*args, **kw)
        self._setup(kind, binary_input)

    def forward(self, x):
        codes, alpha = self.codes_alpha()
        if self.binary_input:
            x = binary.binarize(x)
        y = F.linear(x, codes) * alpha
        return y if self.bias is None else y + self.bias


BINARIZED = (BinaryConv2d, BinaryLinear)


def from_float(layer: nn.Module, kind: str, binary_input: bool) -> nn.Module:
    """A BinaryConv2d / BinaryLinear with ``layer``'s shape and (latent) weights."""
    if isinstance(layer, nn.Conv2d):
        if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
            raise ValueError("binarize numeric zero padding only: build the Conv2d with padding=<int>")
        new = BinaryConv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                           layer.dilation, layer.groups, layer.bias is not None, kind=kind, binary_input=binary_input)
    elif isinstance(layer, nn.Linear):
        new = BinaryLinear(layer.in_features, layer.out_features, layer.bias is not None, kind=kind,
                           binary_input=binary_input)
    else:
        raise TypeError(f"can binarize Conv2d or Linear, not {type(layer).__name__}")
    new.load_state_dict(layer.state_dict())
    return new.to(layer.weight.device)


def labels(model: nn.Module) -> dict[str, str]:
    """Short names of the weighted layers in order: ``{"0": "conv1", ..., "13": "fc1", "15": "fc2"}``."""
    out, n = {}, {"conv": 0, "fc": 0}
    for name, m in weighted_layers(model).items():
        k = "conv" if isinstance(m, nn.Conv2d) else "fc"
        n[k] += 1
        out[name] = f"{k}{n[k]}"
    return out


def inner_layers(model: nn.Module) -> list[str]:
    """Names of every Conv2d/Linear but the first and the last (what BNN papers binarize)."""
    return list(weighted_layers(model))[1:-1]


def resolve(model: nn.Module, layers=None) -> list[str]:
    """Layer names from names or short labels (``"conv2"``, ``"fc1"``); ``None``: ``inner_layers``."""
    if layers is None:
        return inner_layers(model)
    by_label = {v: k for k, v in labels(model).items()}
    names = [by_label.get(x, x) for x in ([layers] if isinstance(layers, str) else layers)]
    known = weighted_layers(model)
    bad = [x for x in names if x not in known]
    if bad:
        raise ValueError(f"unknown layer(s) {bad}: use names {list(known)} or labels {list(by_label)}")
    return names


def _drop_relu_before(model: nn.Sequential, index: int) -> None:
    """Replace the ReLU that feeds module ``index`` (through pooling / flatten) by Identity."""
    for j in range(index - 1, -1, -1):
        m = model[j]
        if isinstance(m, nn.ReLU):
            model[j] = nn.Identity()
            return
        if not isinstance(m, (nn.MaxPool2d, nn.Flatten, nn.Identity)):
            return


def binarize_(model: nn.Module, technique: str = "bwn", layers=None) -> nn.Module:
    """Swap ``layers`` (names or labels; default ``inner_layers``) for binarized layers, in place.

    ``technique``: ``"bwn"`` (binary weights), ``"ternary"`` (TWN weights) or ``"xnor"`` (binary
    weights and inputs; the ReLU feeding each binarized input is removed, see the module doc)."""
    _, kind, bin_in = TECHNIQUES[validate.choice(technique, TECHNIQUES, "binarization technique")]
    names = resolve(model, layers)
    if bin_in and not isinstance(model, nn.Sequential):
        raise ValueError("xnor rewrites the layer order of an nn.Sequential model: use lenet5 or the baseline cnn")
    for name in names:
        replace_(model, name, from_float(model.get_submodule(name), kind, bin_in))
        if bin_in:
            _drop_relu_before(model, int(name))
    return model


def binarized(model: nn.Module, technique: str = "bwn", layers=None) -> nn.Module:
    """A binarized copy (``binarize_`` on ``copy.deepcopy(model)``); ``model`` is not changed."""
    return binarize_(copy.deepcopy(model), technique, layers)


def binary_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The BinaryConv2d / BinaryLinear layers by name."""
    return {n: m for n, m in model.named_modules() if isinstance(m, BINARIZED)}


def describe(model: nn.Module) -> dict:
    """A flat config: ``{"technique": ..., "binarized": [labels], "scaling": ...}`` of a binarized model."""
    lab, bl = labels(model), binary_layers(model)
    if not bl:
        return {"technique": "fp32", "binarized": [], "scaling": "none"}
    m = next(iter(bl.values()))
    tech = "xnor" if m.binary_input else ("ternary" if m.kind == "ternary" else "bwn")
    return {"technique": tech, "binarized": [lab[n] for n in bl],
            "scaling": "TWN alpha per channel" if m.kind == "ternary" else "alpha=mean|w| per channel"}
