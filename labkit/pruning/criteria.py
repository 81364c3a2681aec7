"""The cached comparison of channel criteria (``python -m labkit sweep pruning-criteria``): four
criteria for the same structured pruning, compared at equal ratio, before and after fine-tuning.

The criteria themselves (``l1``, ``bn``, ``taylor``, ``random``; ``channel_scores``,
``taylor_scores``) and the Torch-Pruning adapter live in ``labkit.pruning.importance`` and are
re-exported here; ``channels.channel_prune(model, ratio, importance=scores)`` removes the
lowest-scored channels.
"""
from __future__ import annotations

from .importance import (CRITERIA, ScoreImportance, _next_batchnorm, _prunable, channel_scores,  # noqa: F401
                         filter_importance, taylor_scores)


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
