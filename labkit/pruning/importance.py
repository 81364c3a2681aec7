"""Which channels matter: every per-channel criterion of structured pruning, and the one adapter
that hands such scores to Torch-Pruning (``channels.channel_prune`` removes the lowest-scored).

``filter_importance(w, p)``: the Lp norm of every output filter (Li et al., "Pruning Filters for
Efficient ConvNets", ICLR 2017). ``channel_scores(model, criterion)``: ``{layer: one score per
output channel}`` (higher = keep) by one of ``CRITERIA``:

``l1``      the filter's L1 norm (Li et al., ICLR 2017): small weights, small effect
``bn``      the |gamma| of the BatchNorm after the conv (Liu et al., "Network Slimming", ICCV 2017):
            the scale the network itself gives the channel (the Linear layer, with no BatchNorm, uses L1)
``taylor``  first-order Taylor (Molchanov et al., CVPR 2019): the loss change removing the filter
            would cause, estimated as (sum over its weights of gradient x weight)^2, summed over batches
``random``  the control: any criterion must beat it

``ChannelImportance``: a Torch-Pruning importance scoring each group by its root layer's
per-channel scores; ``FilterImportance`` takes them from a per-filter ``fn(weight, p)``,
``ScoreImportance`` from precomputed ``{layer name: scores}``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers import weighted_layers


def filter_importance(w: torch.Tensor, p: int = 1) -> torch.Tensor:
    """Lp norm (p = 1 or 2) of each output filter of a Conv/Linear weight: shape (out,).

    Li et al. 2017 rank filters by L1 norm and remove the smallest."""
    if p not in (1, 2):
        raise ValueError(f"p must be 1 (L1 norm) or 2 (L2 norm), got {p!r}")
    return torch.linalg.vector_norm(w.detach().reshape(w.shape[0], -1).float(), ord=p, dim=1)


CRITERIA = ("l1", "bn", "taylor", "random")


def _prunable(model: nn.Module) -> dict[str, nn.Module]:
    layers = weighted_layers(model)
    return dict(list(layers.items())[:-1])                 # the classifier keeps its outputs


def _next_batchnorm(model: nn.Module, name: str) -> nn.BatchNorm2d | None:
    names = [n for n, _ in model.named_modules()]
    mods = dict(model.named_modules())
    i = names.index(name)
    return mods[names[i + 1]] if i + 1 < len(names) and isinstance(mods[names[i + 1]], nn.BatchNorm2d) else None


def taylor_scores(model: nn.Module, batches=None, samples: int = 1024) -> dict[str, torch.Tensor]:
    """``(sum_filter grad * weight)^2`` per output channel, summed over the batches of ``samples``
    training images (the sensitivity subset by default)."""
    from ..data import subset
    batches = batches if batches is not None else subset("sensitivity", 256, limit=samples)
    layers = _prunable(model)
    scores = {n: torch.zeros(m.weight.shape[0]) for n, m in layers.items()}
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x.to(device)), y.to(device)).backward()
        for n, m in layers.items():
            gw = (m.weight.grad * m.weight).detach().reshape(m.weight.shape[0], -1).sum(1)
            scores[n] += gw.double().pow(2).float().cpu()
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return scores


def channel_scores(model: nn.Module, criterion: str, seed: int = 0, batches=None) -> dict[str, torch.Tensor]:
    """One score per output channel of every prunable layer (higher = keep), by ``criterion``."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    layers = _prunable(model)
    if criterion == "taylor":
        return taylor_scores(model, batches)
    if criterion == "random":
        g = torch.Generator().manual_seed(seed)
        return {n: torch.rand(m.weight.shape[0], generator=g) for n, m in layers.items()}
    out = {}
    for n, m in layers.items():
        bn = _next_batchnorm(model, n) if criterion == "bn" else None
        out[n] = bn.weight.detach().abs().float().cpu() if bn is not None else filter_importance(m.weight, 1).cpu()
    return out


class ChannelImportance:
    """A Torch-Pruning importance: each group is scored by ``score(root layer)``, one score per
    output channel of the group's root layer (the adapter every criterion goes through)."""

    def score(self, layer: nn.Module):
        raise NotImplementedError

    @torch.no_grad()
    def __call__(self, group):
        dep, idxs = group[0]
        return torch.as_tensor(self.score(dep.layer)).float()[idxs]


class FilterImportance(ChannelImportance):
    """Scores from a per-filter ``fn(weight, p) -> (out,)`` of the root layer (Li et al. 2017's
    criterion when ``fn`` is the Lp norm)."""

    def __init__(self, fn=filter_importance, p: int = 1):
        self.fn, self.p = fn, p

    def score(self, layer: nn.Module):
        return self.fn(layer.weight.detach(), self.p)


class ScoreImportance(ChannelImportance):
    """Precomputed per-channel scores of each root layer (by name in ``model``), e.g.
    ``channel_scores(model, criterion)``."""

    def __init__(self, model: nn.Module, scores: dict[str, torch.Tensor]):
        by_module = dict(model.named_modules())
        self.scores = {by_module[n]: s for n, s in scores.items()}

    def score(self, layer: nn.Module):
        return self.scores[layer]
