"""Training binarized models: start from the zoo's fp32 checkpoint, swap the layers
(``layers.binarize_``), and train with the lab's one loop (Adam, cosine decay): a short schedule.
"""
from __future__ import annotations

from torch import nn

from .layers import binarize_

EPOCHS = {"bwn": 1, "ternary": 1, "xnor": 2}   # the sweep's schedule: XNOR has more to relearn
LR = 1e-3          # Adam on the latent weights; the clipped STE keeps them where sign can flip


def train_binarized(technique: str = "bwn", model: str | nn.Module = "cnn", layers=None, epochs: float | None = None,
                    lr: float = LR, seed: int = 0, limit: int | None = None, progress: bool = True,
                    report=None) -> nn.Module:
    """A binarized copy of the zoo model ``model`` (or of a given module), trained ``epochs``
    (default ``EPOCHS[technique]``) from its fp32 weights; returned in eval mode."""
    import copy
    from .. import zoo
    from ..env import seed_everything
    from ..train import train
    seed_everything(seed)
    net = zoo.load(model, device="cpu") if isinstance(model, str) else copy.deepcopy(model)
    binarize_(net, technique, layers)
    train(net, epochs=epochs or EPOCHS[technique], lr=lr, seed=seed, limit=limit, progress=progress, report=report,
          desc=f"{technique} {model if isinstance(model, str) else ''}".strip())
    return net.eval()
