"""What a binarized model stores, as a ``labkit.size`` plan: its bytes, its real export, and back.

- binary layers (BWN, XNOR): their latent weight under ``Storage("binary")``: one bit per weight
  (``w >= 0``) plus an fp32 ``alpha = mean|w|`` per output channel, which ``labkit.size`` computes
  with the very operation ``binary.xnor_scale`` uses, so the stored scale is bit-identical;
- ternary layers: their ``alpha * codes`` under ``Storage("int", bits=2)`` (symmetric: the scale
  is ``max|alpha * codes| = alpha`` exactly and the codes come back exactly);
- everything else (first and last layers, biases, BatchNorm) as fp32.

Packed bits are exactly ``n / 8`` bytes (``n`` weights, a multiple of 8 here), i.e. 32x fewer
than fp32's ``4 n``: the scales come on top.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import packing, size
from .layers import binary_layers


def stored_state(model: nn.Module) -> dict:
    """The state_dict a deployment stores: ternary weights replaced by ``alpha * codes``."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for name, m in binary_layers(model).items():
            if m.kind == "ternary":
                codes, alpha = m.codes_alpha()
                state[f"{name}.weight"] = codes * alpha.view(-1, *[1] * (codes.dim() - 1))
    return state


def plan(model: nn.Module) -> size.Plan:
    """The storage plan of a (partly) binarized model: see the module docstring."""
    per = {f"{n}.weight": size.Storage("binary") if m.kind == "binary" else size.Storage("int", bits=2)
           for n, m in binary_layers(model).items()}
    return size.Plan(per_tensor=per)


def size_bytes(model: nn.Module) -> int:
    """Bytes ``export`` writes for ``model`` (counted from shapes, proved equal in the tests)."""
    return size.size_bytes(stored_state(model), plan(model))


def export(model: nn.Module) -> bytes:
    """The real packed file: bits (``np.packbits``) and scales of the binarized layers, fp32 the rest."""
    return packing.export(stored_state(model), plan(model))


def load_state(blob: bytes, model: nn.Module) -> dict:
    """Decode ``export(model)``'s blob for ``model``'s architecture: binarized weights come back as
    ``alpha * codes`` (exactly), the rest as stored."""
    return packing.load(blob, stored_state(model), plan(model))


def layer_bytes(model: nn.Module) -> list[dict]:
    """Per binarized layer: weights, fp32 bytes, packed bits bytes, scale bytes (``labkit.size``'s report)."""
    rep = {r["name"]: r for r in size.size_report(stored_state(model), plan(model))}
    out = []
    for n, m in binary_layers(model).items():
        r = rep[f"{n}.weight"]
        out.append({"layer": n, "weights": m.weight.numel(), "fp32_bytes": 4 * m.weight.numel(),
                    "bits_bytes": r["payload"], "scale_bytes": r["metadata"], "bytes": r["bytes"]})
    return out
