"""ADMM pruning (Zhang et al., "A Systematic DNN Weight Pruning Framework using ADMM", ECCV 2018;
Ren et al., "ADMM-NN", ASPLOS 2019): pruning as constrained optimisation.

minimise ``loss(W)`` subject to ``W in S`` (at most ``k`` nonzeros per layer; for joint pruning and
quantisation also on a ``bits``-bit grid). ADMM splits it with an auxiliary ``Z`` and a scaled dual
``U``: train ``W`` on ``loss(W) + rho/2 ||W - Z + U||^2`` for a while; then ``Z = proj_S(W + U)``
(keep the ``k`` largest, optionally quantise them); then ``U += W - Z``. The residual ``||W - Z||``
shrinks as the weights settle into the constraint set, so the final hard projection (the mask)
costs little accuracy. Afterwards the masked model is fine-tuned (``labkit.pruning.finetune_``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import weighted_layers
from ..pruning.masks import apply_masks_, finetune_, magnitude_mask, magnitude_masks
from ..quantization import quant
from ..train import train

RHO = 1e-2
ADMM_EVERY = 10         # steps of W-training between Z/U updates
RHO_GROWTH = 1.0        # rho is multiplied by this after every Z/U update (ADMM-NN's progressive rho)
PULL = 0.1              # decoupled: after every optimiser step W moves this fraction towards Z - U


def project(w: torch.Tensor, sparsity: float, bits: int | None = None) -> torch.Tensor:
    """Euclidean projection onto "at most (1 - sparsity) of the entries nonzero" (keep the largest
    ``|w|``); with ``bits``, the kept values are then snapped to ``bits``-bit k-means centroids."""
    mask = magnitude_mask(w, sparsity)
    z = w * mask
    if bits:
        codebook, idx = quant.kmeans_codebook(w[mask], bits)
        z = torch.zeros_like(w)
        z[mask] = codebook.to(w.device)[idx]
    return z


def admm_prune_(model: nn.Module, sparsity: float, epochs: float, rho: float = RHO, every: int = ADMM_EVERY,
                bits: int | None = None, lr: float = 1e-3, limit: int | None = None, seed: int = 0,
                rho_growth: float = RHO_GROWTH, pull: float | None = PULL) -> list[float]:
    """ADMM-train ``model`` in place towards ``sparsity`` (one number, or ``{layer: sparsity}``; and
    ``bits``) in every Conv/Linear, then
    hard-prune it (the masks applied, not fine-tuned yet). Returns the relative residual
    ``||W - Z|| / ||W||`` over all layers after each Z update (it converges towards 0).

    The W-step: with ``pull`` (the default), the loss is the task loss alone and after every optimiser
    step ``W -= pull * (W - Z + U)``, the proximal step of ``rho/2 ||W - Z + U||^2`` taken outside the
    optimiser (as AdamW decouples weight decay). With ``pull=None`` the penalty is added to the loss
    with ``rho`` (growing by ``rho_growth`` at every Z update): under Adam, whose steps are scaled per
    weight, any ``rho`` large enough to matter gives the same steps, of about the learning rate."""
    layers = weighted_layers(model)
    sp = {n: sparsity.get(n, 0.0) if isinstance(sparsity, dict) else sparsity for n in layers}
    Z = {n: project(l.weight.detach(), sp[n], bits) for n, l in layers.items()}
    U = {n: torch.zeros_like(l.weight) for n, l in layers.items()}
    residual, step, r = [], [0], [float(rho)]

    def loss(m, x, y):
        logits = m(x)
        penalty = sum(((layers[n].weight - Z[n] + U[n]) ** 2).sum() for n in layers)
        return F.cross_entropy(logits, y) + r[0] / 2 * penalty, logits

    def plain(m, x, y):
        logits = m(x)
        return F.cross_entropy(logits, y), logits

    @torch.no_grad()
    def after(m):
        step[0] += 1
        if pull:
            for n, layer in layers.items():
                layer.weight.sub_(pull * (layer.weight - Z[n] + U[n]))
        if step[0] % every:
            return
        num = den = 0.0
        for n, layer in layers.items():
            w = layer.weight
            Z[n] = project(w + U[n], sp[n], bits)
            U[n] += w - Z[n]
            if not pull:
                U[n] /= rho_growth             # the scaled dual is y / rho: rescaled when rho grows
            num += float(((w - Z[n]) ** 2).sum())
            den += float((w ** 2).sum())
        residual.append((num / max(den, 1e-12)) ** 0.5)
        r[0] *= rho_growth

    train(model, epochs=epochs, lr=lr, seed=seed, limit=limit, loss=plain if pull else loss, after_step=after,
          progress=False, desc="admm")
    apply_masks_(model, magnitude_masks(model, sparsity))
    return residual


@torch.no_grad()
def snap_(model: nn.Module, sparsity: float, bits: int) -> nn.Module:
    """Every Conv/Linear weight projected onto the constraint set (``project``), in place."""
    for n, layer in weighted_layers(model).items():
        layer.weight.copy_(project(layer.weight, sparsity.get(n, 0.0) if isinstance(sparsity, dict) else sparsity, bits))
    return model


def admm_then_finetune_(model: nn.Module, sparsity: float, admm_epochs: float, ft_epochs: float, limit=None,
                       seed: int = 0, bits: int | None = None, pull: float | None = PULL) -> list[float]:
    """ADMM pruning, then masked fine-tuning (the mask held); in place. Returns the residuals."""
    res = admm_prune_(model, sparsity, admm_epochs, limit=limit, seed=seed, bits=bits, pull=pull)
    masks = {n: l.weight != 0 for n, l in weighted_layers(model).items()}
    finetune_(model, ft_epochs, masks, lr=1e-3, seed=seed + 1, limit=limit, report=lambda *_: None)
    if bits:
        snap_(model, sparsity, bits)
    return res
