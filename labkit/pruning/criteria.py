"""Which channels to remove: four criteria for the same structured pruning, compared at equal ratio.

``l1``      the filter's L1 norm (Li et al., ICLR 2017): small weights, small effect
``bn``      the |gamma| of the BatchNorm after the conv (Liu et al., "Network Slimming", ICCV 2017):
            the scale the network itself gives the channel (the Linear layer, with no BatchNorm, uses L1)
``taylor``  first-order Taylor (Molchanov et al., CVPR 2019): the loss change removing the filter
            would cause, estimated as (sum over its weights of gradient x weight)^2, summed over batches
``random``  the control: any criterion must beat it

``channel_scores(model, criterion)`` returns ``{layer: one score per output channel}``;
``channels.channel_prune(model, ratio, importance=scores)`` removes the lowest-scored channels.
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers import weighted_layers
from .channels import filter_importance

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


class ScoreImportance:
    """A Torch-Pruning importance that scores each group by precomputed per-channel scores of its
    root layer (by name in ``model``)."""

    def __init__(self, model: nn.Module, scores: dict[str, torch.Tensor]):
        by_module = dict(model.named_modules())
        self.scores = {by_module[n]: s for n, s in scores.items()}

    @torch.no_grad()
    def __call__(self, group):
        dep, idxs = group[0]
        return torch.as_tensor(self.scores[dep.layer]).float()[idxs]


def recipe(model: str = "cnn", ratio: float = 0.3, seeds=(0, 1, 2), epochs: float = 0.5, limit: int | None = None,
           eval_limit: int | None = None):
    """Each criterion at ``ratio`` on the zoo's ``model``: test accuracy right after removing the
    channels and after ``epochs`` of fine-tuning, for each of ``seeds`` (the fine-tuning's seed,
    and the random criterion's). ``python -m labkit sweep pruning-criteria``."""
    from .. import zoo
    from ..train import evaluate
    from .channels import channel_prune
    from .masks import finetune_
    base = zoo.load(model)
    rows = []
    for seed in seeds:
        for c in CRITERIA:
            pruned = channel_prune(base, ratio, importance=channel_scores(base, c, seed=seed))
            before = float(evaluate(pruned, limit=eval_limit))
            finetune_(pruned, epochs, seed=seed, limit=limit, desc=f"{c} seed {seed}")
            rows.append({"criterion": c, "seed": seed, "before_pct": before,
                         "after_pct": float(evaluate(pruned, limit=eval_limit))})
    params = {"model": model, "ratio": ratio, "seeds": list(seeds), "epochs": epochs, "limit": limit,
              "eval_limit": eval_limit}
    return rows, params, {"baseline_pct": float(evaluate(base, limit=eval_limit))}


def summary(doc: dict) -> list[dict]:
    """Per criterion: mean and std over seeds of the accuracy before and after fine-tuning."""
    import statistics
    out = []
    for c in CRITERIA:
        sel = [r for r in doc["rows"] if r["criterion"] == c]
        row = {"criterion": c}
        for k in ("before_pct", "after_pct"):
            vals = [r[k] for r in sel]
            row[k] = statistics.fmean(vals)
            row[k.replace("_pct", "_std")] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        out.append(row)
    return out


def view(doc: dict) -> dict:
    """The cached document as the notebook reads it: its metadata, rows and ``summary``."""
    keys = ("command", "torch", "threads", "created", "seconds", "params", "rows", "extra")
    return {**{k: doc[k] for k in keys}, "summary": summary(doc)}
