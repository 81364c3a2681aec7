"""The lottery ticket hypothesis (Frankle & Carbin, ICLR 2019), tested at equal sparsity and budget.

A dense network is trained; its smallest weights (one global magnitude threshold) are pruned.
The surviving *mask* is then trained again, starting from four different weights, each for the
same number of epochs with the mask held:

``fine-tune``   the trained weights themselves (Han et al. 2015's prune-then-fine-tune), lr ``FINETUNE_LR``
``rewind``      the weights the dense run had after ``rewind_steps`` optimizer steps ("late rewinding",
                Frankle et al., "Linear Mode Connectivity and the Lottery Ticket Hypothesis", ICML 2020)
``init``        the dense run's initial weights: the original lottery ticket
``reinit``      a fresh random initialisation: the control; if the mask alone mattered, it would match

The last three use the dense run's schedule (Adam, cosine decay from ``lr``). A ticket "wins"
when ``init`` or ``rewind`` beats ``reinit`` by more than the seeds' spread.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .masks import apply_masks_, global_magnitude_masks, weight_sparsity

VARIANTS = ("fine-tune", "rewind", "init", "reinit")
FINETUNE_LR = 1e-3
SPARSITIES = (0.8, 0.9, 0.95, 0.98)
SEEDS = (0, 1, 2)


def _builder(model: str):
    from .. import models
    builders = {"lenet5": models.lenet5}
    if model not in builders:
        raise ValueError(f"model must be one of {', '.join(builders)}, got {model!r}")
    return builders[model]


def dense_run(model: str = "lenet5", seed: int = 0, epochs: float = 2.0, lr: float = 2e-3, rewind_steps: int = 100,
              limit: int | None = None) -> dict:
    """Train a fresh ``model`` (initialised from ``seed``); returns the trained net and the weights
    at step 0 and after ``rewind_steps`` steps."""
    from ..train import train
    torch.manual_seed(seed)
    net = _builder(model)()
    states = {"init": copy.deepcopy(net.state_dict())}
    steps = [0]

    def remember(m):
        steps[0] += 1
        if steps[0] == rewind_steps:
            states["rewind"] = copy.deepcopy(m.state_dict())

    train(net, epochs=epochs, lr=lr, seed=seed, limit=limit, after_step=remember, progress=False,
          desc=f"dense {model} seed {seed}")
    if "rewind" not in states:
        raise ValueError(f"rewind_steps={rewind_steps} is beyond the dense run's {steps[0]} steps: choose fewer")
    return {"net": net, "states": states, "seed": seed, "model": model}


def ticket(run: dict, sparsity: float, variant: str, epochs: float = 2.0, lr: float = 2e-3,
           limit: int | None = None) -> nn.Module:
    """The masked network of ``variant`` (see ``VARIANTS``) at ``sparsity``, trained ``epochs`` with the mask held."""
    from ..train import train
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    masks = global_magnitude_masks(run["net"], sparsity)
    net = copy.deepcopy(run["net"])
    if variant in ("rewind", "init"):
        net.load_state_dict(run["states"][variant])
    elif variant == "reinit":
        torch.manual_seed(10_000 + run["seed"])
        net = _builder(run["model"])()
    apply_masks_(net, masks)
    hook = lambda m: apply_masks_(m, masks)  # noqa: E731
    train(net, epochs=epochs, lr=FINETUNE_LR if variant == "fine-tune" else lr, seed=run["seed"] + 1, limit=limit,
          after_step=hook, progress=False, desc=f"{variant} {sparsity:.0%}")
    return net


def recipe(model: str = "lenet5", sparsities=SPARSITIES, seeds=SEEDS, epochs: float = 2.0, retrain_epochs: float = 2.0,
           lr: float = 2e-3, rewind_steps: int = 100, limit: int | None = None, eval_limit: int | None = None):
    """Every (seed, sparsity, variant): test accuracy after retraining (``python -m labkit sweep
    pruning-lottery``). Returns ``(rows, params, extra)`` for ``labkit.cache``; ``extra`` holds
    the dense accuracy of each seed."""
    from ..train import evaluate
    rows, dense = [], {}
    for seed in seeds:
        run = dense_run(model, seed, epochs, lr, rewind_steps, limit)
        dense[str(seed)] = float(evaluate(run["net"], limit=eval_limit))
        for s in sparsities:
            for v in VARIANTS:
                net = ticket(run, s, v, retrain_epochs, lr, limit)
                rows.append({"seed": seed, "sparsity": s, "variant": v,
                             "accuracy_pct": float(evaluate(net, limit=eval_limit)),
                             "measured_sparsity": weight_sparsity(net)})
    params = {"model": model, "sparsities": list(sparsities), "seeds": list(seeds), "epochs": epochs,
              "retrain_epochs": retrain_epochs, "lr": lr, "finetune_lr": FINETUNE_LR, "rewind_steps": rewind_steps,
              "limit": limit, "eval_limit": eval_limit}
    return rows, params, {"dense_accuracy_pct": dense}


def summary(doc: dict) -> list[dict]:
    """One row per (sparsity, variant): mean, std and per-seed accuracies (%), sorted by sparsity."""
    import statistics
    out = []
    for s in doc["params"]["sparsities"]:
        for v in VARIANTS:
            accs = [r["accuracy_pct"] for r in doc["rows"] if r["sparsity"] == s and r["variant"] == v]
            out.append({"sparsity": s, "variant": v, "mean": statistics.fmean(accs),
                        "std": statistics.stdev(accs) if len(accs) > 1 else 0.0, "accs": accs})
    return out


def figure(doc: dict, title: str | None = None):
    """Test accuracy vs sparsity, one line per variant (mean, error bar = std over seeds), the dense mean dashed."""
    import statistics
    from matplotlib.figure import Figure
    rows = summary(doc)
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    markers = {"fine-tune": "o", "rewind": "s", "init": "^", "reinit": "x"}
    for v in VARIANTS:
        sel = [r for r in rows if r["variant"] == v]
        ax.errorbar([100 * r["sparsity"] for r in sel], [r["mean"] for r in sel], yerr=[r["std"] for r in sel],
                    marker=markers[v], capsize=3, label=v)
    dense = statistics.fmean(doc["extra"]["dense_accuracy_pct"].values())
    ax.axhline(dense, color="0.4", ls="--", lw=1, label=f"dense ({dense:.2f} %)")
    ax.set_xlabel("sparsity (% of weights pruned, one global threshold)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title=f"{len(doc['params']['seeds'])} seeds, mean ± std", title_fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def view(doc: dict) -> dict:
    """The cached document as the notebook reads it: its metadata, rows and ``summary``."""
    keys = ("command", "torch", "threads", "created", "seconds", "params", "rows", "extra")
    return {**{k: doc[k] for k in keys}, "summary": summary(doc)}
