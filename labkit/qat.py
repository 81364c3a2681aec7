"""Quantisation-aware training (QAT): fine-tune through fake quantisation so the weights adapt to it.

The forward pass computes with quantised weights (and inputs), exactly as the deployed model will;
rounding has zero gradient almost everywhere, so the backward pass uses the straight-through
estimator (Bengio et al., 2013; Jacob et al., CVPR 2018; Krishnamoorthi, 2018): the gradient of
``fake_quantize(w)`` is taken as 1 inside the quantisation range and 0 where the value was clamped
(``labkit.quant.fake_quantize_ste``). The fp32 "shadow" weights receive the updates; quantisation
is re-applied at every step; ``ptq.freeze_`` stores the final quantised weights.

- ``prepare(model, bits, act_bits)``: fold BatchNorm, wrap every Conv2d/Linear in a
  ``ptq.QuantLayer`` (weights re-quantised at every forward, ranges by ``method``) and calibrate
  the activation ranges once on training images (they stay fixed during the fine-tune).
- ``quantization_aware_training(model, bits, ...)``: ``prepare``, a short fine-tune with
  ``labkit.train.train``, then ``freeze_``: the returned model stores and computes ``bits``-bit weights.

``python -m labkit.qat sweep`` recomputes notebook 03's cached QAT sweep (accuracy vs bits).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

from . import ptq
from .paths import read_cache

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
    from .train import train
    if not (isinstance(epochs, (int, float)) and epochs > 0):
        raise ValueError(f"epochs must be > 0, got {epochs!r}: e.g. epochs=0.25 for a quarter of the training set")
    q = prepare(model, bits, act_bits, method)
    train(q, epochs=epochs, lr=lr, limit=limit, seed=seed, progress=progress, report=report,
          desc=f"QAT {bits} bits")
    return ptq.freeze_(q).eval()


# ---- the cached sweep of notebook 03 ------------------------------------------------------------

SWEEP_FILE = "03_qat_sweep.json"
BITS = (8, 6, 4, 3, 2)


def sweep(model_name: str = "cnn", bits=BITS, epochs: float = EPOCHS, lr: float = LR, progress=print) -> dict:
    """PTQ (weights and activations, ``mse`` ranges) vs QAT at each of ``bits`` weight bits, 8-bit inputs."""
    from . import zoo
    from .metrics import count_macs
    from .train import evaluate
    model = zoo.load(model_name)
    points = []
    t0 = time.perf_counter()
    for b in bits:
        for how in ("ptq", "qat"):
            if how == "ptq":
                q = ptq.quantize_model(model, b, ACT_BITS, "mse")
            else:
                q = quantization_aware_training(model, b, ACT_BITS, epochs, lr, progress=False)
            points.append({"config": {"bits": b, "act_bits": ACT_BITS, "method": how,
                                      **({"epochs": epochs, "lr": lr} if how == "qat" else {})},
                           "accuracy_pct": round(evaluate(q), 4), "size_bytes": ptq.size_bytes(q),
                           "macs": count_macs(q)})
            progress(f"[{time.perf_counter() - t0:6.1f} s] {points[-1]['config']}: {points[-1]['accuracy_pct']:.2f} %")
    return {"model": model_name, "torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads(),
            "command": "python -m labkit.qat sweep", "points": points}


def load_sweep(path: str | Path | None = None) -> dict:
    """Notebook 03's cached QAT sweep (made by ``python -m labkit.qat sweep``)."""
    return read_cache(path or SWEEP_FILE, "python -m labkit.qat sweep")


def main(argv=None) -> int:
    return ptq.sweep_cli("qat", sweep, SWEEP_FILE, argv)


if __name__ == "__main__":
    sys.exit(main())
