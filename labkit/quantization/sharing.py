"""Weight sharing with centroid fine-tuning (Deep Compression, Han et al., ICLR 2016, section 3):
k-means quantization-aware training (notebook 03), the middle stage of Deep Compression (notebook 08).

``share_(model, bits)`` clusters each layer's nonzero weights by 1-D k-means
(``labkit.quantization.quant.kmeans_codebook``) and re-parametrises the layer: its weight becomes
``codebook[index] * mask``. The codebook is the only trainable tensor left in the layer; the
gradient of ``codebook[index]`` with respect to the codebook is the sum of the weight gradients of
every position in that cluster (autograd's indexing backward is a scatter-add), which is exactly
the paper's centroid update. Pruned positions stay exactly zero. ``bake_`` writes the shared values
back into a plain ``weight`` so the model is an ordinary ``nn.Module`` again.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..layers import get_layer
from . import quant


class Shared(nn.Module):
    """The parametrisation ``weight = codebook[index] * mask`` (its input, the old weight, is ignored)."""

    def __init__(self, w: torch.Tensor, bits: int, iters: int = 20):
        super().__init__()
        w = w.detach()
        mask = w != 0
        codebook, _ = quant.kmeans_codebook(w[mask] if mask.any() else w.reshape(-1)[:1], bits, iters)
        index = quant._nearest(w.reshape(-1), codebook).reshape(w.shape)
        self.codebook = nn.Parameter(codebook.to(w.device))      # (k,) the trainable centroids
        self.register_buffer("index", index.to(w.device))         # (w.shape) int64
        self.register_buffer("mask", mask.to(w.dtype))            # (w.shape) 1 = kept

    def forward(self, _old: torch.Tensor) -> torch.Tensor:
        return self.codebook[self.index] * self.mask


def share_(model: nn.Module, bits: dict[str, int], iters: int = 20) -> nn.Module:
    """Share the weights of every layer in ``bits`` (``{layer name: bits}``) in place; returns the model.

    The original weight stops receiving gradients (``requires_grad=False``): only the codebooks
    (and the biases) train afterwards."""
    for name, b in bits.items():
        layer = get_layer(model, name)
        if parametrize.is_parametrized(layer, "weight"):
            raise ValueError(f"layer {name!r} is already shared: call joint.bake_(model) first")
        shared = Shared(layer.weight, b, iters)
        layer.weight.requires_grad_(False)
        parametrize.register_parametrization(layer, "weight", shared, unsafe=True)
    return model


def bake_(model: nn.Module, dtype: torch.dtype | None = None) -> nn.Module:
    """Replace every shared weight by its current value ``codebook[index] * mask`` (in place);
    ``dtype`` (e.g. ``torch.float16``): first round every codebook to the numbers a file stores in it."""
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight"):
            if dtype is not None:
                with torch.no_grad():
                    for p in module.parametrizations.weight:
                        if hasattr(p, "codebook"):
                            p.codebook.copy_(p.codebook.to(dtype).to(p.codebook.dtype))
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
            module.weight.requires_grad_(True)
    return model


def distinct_values(w: torch.Tensor) -> int:
    """How many distinct nonzero values ``w`` holds (at most ``2**bits`` after sharing)."""
    return int(torch.unique(w.detach()[w != 0]).numel())
