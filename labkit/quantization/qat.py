"""Quantization-aware training: fine-tune through fake quantization with the straight-through
estimator (Jacob et al., CVPR 2018; Bengio et al. 2013), starting from the float checkpoint.
"""
from __future__ import annotations

from torch import nn
from . import ptq


EPOCHS = 0.25          # of one pass over the 60,000 training images: a fine-tune, not a training


LR = 5e-4              # small: the start is already a good (float) solution


ACT_BITS = 8


def prepare(model: nn.Module, bits=4, act_bits: int | None = ACT_BITS, method: str = "mse",
            granularity: str = "channel", batches=None) -> nn.Module:
    """A QAT-ready copy of ``model``: BatchNorm folded, every Conv2d/Linear a ``ptq.QuantLayer`` whose
    weight is re-quantised (straight-through) at each forward; activation ranges calibrated now."""
    q = ptq.wrap(model, bits, act_bits, method, granularity)
    if act_bits is not None:
        ptq.calibrate(q, batches)
    return q.train()


def quantization_aware_training(model: nn.Module, bits=4, act_bits: int | None = ACT_BITS,
                                epochs: float = EPOCHS, lr: float = LR, method: str = "mse",
                                limit: int | None = None, seed: int = 0, progress: bool = True,
                                report=None) -> nn.Module:
    """``prepare`` + fine-tune (Adam, cosine decay, ``epochs`` of the training set) + ``freeze_``.

    Returns a new model in eval mode whose Conv2d/Linear weights are stored quantised at ``bits``
    (count its bytes with ``ptq.size_bytes``); ``model`` itself is not changed."""
    from ..train import train
    if not (isinstance(epochs, (int, float)) and epochs > 0):
        raise ValueError(f"epochs must be > 0, got {epochs!r}: e.g. epochs=0.25 for a quarter of the training set")
    q = prepare(model, bits, act_bits, method)
    train(q, epochs=epochs, lr=lr, limit=limit, seed=seed, progress=progress, report=report,
          desc=f"QAT {bits} bits")
    return ptq.freeze_(q).eval()
