"""The layers compression rewrites: find Conv2d/Linear by name, and fold BatchNorm.

``WEIGHTED`` is the one list of layer types the lab compresses (Conv2d, Linear); every topic
finds them with ``weighted_layers`` / ``get_layer``. ``fold_batchnorm`` merges a BatchNorm2d
into the Conv2d before it (Jacob et al., CVPR 2018, section 3.2): what a deployment runs.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import validate


WEIGHTED = (nn.Conv2d, nn.Linear)          # the layers every technique compresses


def weighted_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The Conv2d and Linear layers of a model by module name, in module order."""
    validate.module(model)
    return {name: m for name, m in model.named_modules() if isinstance(m, WEIGHTED)}


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """A Conv2d/Linear layer by name, or a one-line error listing the names that exist."""
    layers = weighted_layers(model)
    if name not in layers:
        raise ValueError(f"no Conv2d/Linear layer named {name!r} in this model: use one of {', '.join(map(repr, layers))}")
    return layers[name]


def replace_(model: nn.Module, name: str, new: nn.Module) -> nn.Module:
    """Put ``new`` in place of the submodule called ``name`` (in place); returns the model."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)
    return model


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every Conv2d -> BatchNorm2d pair of a ``nn.Sequential``
    merged into one Conv2d with bias; the BatchNorm becomes ``nn.Identity`` (indices keep their names).

    ``w' = w * gamma / sqrt(var + eps)`` per output channel, ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``
    (Jacob et al., 2018): the same function in eval mode, one layer fewer to quantise and run.
    """
    model = copy.deepcopy(validate.module(model)).eval()
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = seq._modules[a], seq._modules[b]
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            s = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                              conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode)
            bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
            with torch.no_grad():
                fused.weight.copy_(conv.weight.detach() * s.reshape(-1, 1, 1, 1))
                fused.bias.copy_((bias - bn.running_mean) * s + bn.bias.detach())
            seq._modules[a] = fused.to(conv.weight.device)
            seq._modules[b] = nn.Identity()
    return model
