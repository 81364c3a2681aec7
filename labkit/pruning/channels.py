"""Structured pruning: remove whole channels, so dense kernels really run less.

Which channels: ``labkit.pruning.importance`` (``filter_importance(w, p)``, the Lp norm of every
output filter, Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017; the other criteria;
the adapter, re-exported here). ``channel_prune`` removes the least important channels
with Torch-Pruning's dependency graph (Fang et al., "DepGraph", CVPR 2023), so coupled layers
(BatchNorm, the next layer's inputs, residual adds) shrink consistently.
"""
from __future__ import annotations

import copy
import torch
from torch import nn
from .. import metrics, validate
from ..layers import WEIGHTED, weighted_layers
from .importance import ChannelImportance, FilterImportance, ScoreImportance, filter_importance  # noqa: F401


def _ratio(value) -> float:
    return validate.fraction(value, "ratio", "the fraction of channels removed", 0.4)


def channel_prune(model: nn.Module, ratio, importance=None, round_to: int | None = 4,
                  input_size=metrics.MNIST_INPUT) -> nn.Module:
    """A copy of ``model`` with ``ratio`` of the channels of every Conv2d and hidden Linear
    physically removed (the classifier's outputs are kept), by Torch-Pruning's dependency graph,
    so coupled layers (BatchNorm, the next layer's inputs, residual adds) shrink consistently.

    ``importance``: a Torch-Pruning importance, a per-filter ``fn(weight, p)`` (default: L1,
    Li et al. 2017), or ``{layer name: one score per output channel}`` (``importance.channel_scores``). ``round_to``: keep channel counts multiples of it (Torch-Pruning rounds down),
    which vector units like; ``None`` keeps the exact ratio."""
    import torch_pruning as tp
    r = _ratio(ratio)
    validate.module(model)
    imp = importance if importance is not None else FilterImportance()
    if not isinstance(imp, (dict, ChannelImportance, tp.importance.Importance)) and callable(imp):
        imp = FilterImportance(imp)
    pruned = copy.deepcopy(model).cpu().eval()
    if isinstance(imp, dict):                                      # {layer: per-channel scores} (importance.channel_scores)
        imp = ScoreImportance(pruned, imp)
    last = list(weighted_layers(pruned).values())[-1]              # the classifier keeps its outputs
    example = torch.randn(*input_size)
    if r > 0:
        pruner = tp.pruner.BasePruner(pruned, example, importance=imp, pruning_ratio=r,
                                      ignored_layers=[last], round_to=round_to)
        pruner.step()
    device = next(model.parameters()).device
    return pruned.to(device)


def channel_counts(model: nn.Module) -> dict[str, int]:
    """Output channels / features of every prunable layer."""
    return {n: (m.out_channels if isinstance(m, nn.Conv2d) else m.out_features)
            for n, m in weighted_layers(model).items()}


def dependency_groups(model: nn.Module, input_size=metrics.MNIST_INPUT) -> list[tuple[str, object]]:
    """Torch-Pruning's groups of ``model`` (each Conv2d/Linear whose outputs can be pruned, the
    classifier excluded) as ``(root layer name, tp Group)``, in model order."""
    import torch_pruning as tp
    names = {m: n for n, m in model.named_modules()}
    last = list(weighted_layers(model).values())[-1]
    dg = tp.DependencyGraph().build_dependency(model, example_inputs=torch.randn(*input_size, device=next(model.parameters()).device))
    groups = [(names[g[0].dep.layer], g) for g in dg.get_all_groups(ignored_layers=[last], root_module_types=list(WEIGHTED))]
    order = list(names.values())
    return sorted(groups, key=lambda ng: order.index(ng[0]))


def describe_group(model: nn.Module, group) -> str:
    """What removing one of the root layer's channels also removes, e.g. ``"4 BatchNorm2d out, 8 Conv2d in"``."""
    names = {m: n for n, m in model.named_modules()}
    parts = []
    for dep, _ in list(group)[1:]:
        layer = dep.layer
        if isinstance(layer, nn.Module) and layer in names:
            side = "in" if "in_channels" in dep.pruning_fn.__name__ else "out"
            parts.append(f"{names[layer]} {type(layer).__name__} {side}")
    return ", ".join(parts)


def remove_with_torch_pruning(model: nn.Module, layer: str, drop, input_size=metrics.MNIST_INPUT) -> nn.Module:
    """A copy of ``model`` with output channels ``drop`` of layer ``layer`` removed by Torch-Pruning's
    dependency graph (the group: its BatchNorm, the next layer's inputs, ...), the reference a
    hand-written surgery is compared with."""
    import torch_pruning as tp
    pruned = copy.deepcopy(model).cpu().eval()
    conv = dict(pruned.named_modules())[layer]
    dg = tp.DependencyGraph().build_dependency(pruned, example_inputs=torch.randn(*input_size))
    dg.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=[int(i) for i in drop]).prune()
    return pruned
