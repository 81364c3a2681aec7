"""Cheap estimates of an architecture's trained accuracy, each a function ``proxy(model, batch)
-> float`` (higher: predicted better) on a freshly initialised network, timed by ``score_all``.

================  ==============================================================================
``params``        parameter count
``macs``          multiply-accumulates of one forward pass (FLOPs / 2)
``synflow``       sum |theta * dR/dtheta| of R = sum of the output of the all-ones input through
                  the network with |weights| (Tanaka et al. 2020; as a NAS proxy Abdelfattah et
                  al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021)
``snip``          sum |theta * dL/dtheta| on one mini-batch (Lee et al., ICLR 2019)
``grad_norm``     sum over layers of ||dL/dW|| on one mini-batch (Abdelfattah et al. 2021)
``jacob_cov``     -sum(log(v + k) + 1 / (v + k)) over the eigenvalues v of the correlation
                  matrix of the input Jacobians of a mini-batch (Mellor et al., NASWOT v1, 2020)
``naswot``        log |K| of the Hamming kernel of the ReLU on/off codes of a mini-batch
                  (Mellor et al., "NAS without Training", ICML 2021)
``convergence``   minus the sum of the training losses of the first k mini-batches (Ru et al.,
                  NeurIPS 2021), read from the ground truth's training log: it costs k steps
================  ==============================================================================
"""
from __future__ import annotations

import copy
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import metrics
from ..layers import WEIGHTED


def params(model: nn.Module, batch=None) -> float:
    return float(metrics.count_params(model))


def macs(model: nn.Module, batch=None) -> float:
    return float(metrics.count_macs(model))


def _weights(model: nn.Module):
    return [m.weight for m in model.modules() if isinstance(m, WEIGHTED)]


def synflow(model: nn.Module, batch) -> float:
    """Data-free: double precision, |weights|, BatchNorm in eval mode (an affine identity at init)."""
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    x = torch.ones((1, *batch[0].shape[1:]), dtype=torch.float64)
    net(x).sum().backward()
    return float(sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(net) if w.grad is not None))


def _loss_grads(model: nn.Module, batch) -> nn.Module:
    net = copy.deepcopy(model).train()
    x, y = batch
    F.cross_entropy(net(x), y).backward()
    return net


def snip(model: nn.Module, batch) -> float:
    net = _loss_grads(model, batch)
    return float(sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(net) if w.grad is not None))


def grad_norm(model: nn.Module, batch) -> float:
    net = _loss_grads(model, batch)
    return float(sum(float(w.grad.norm()) for w in _weights(net) if w.grad is not None))


def jacob_cov(model: nn.Module, batch, k: float = 1e-5) -> float:
    net = copy.deepcopy(model).train()
    x = batch[0].clone().requires_grad_(True)
    net(x).sum().backward()
    jac = x.grad.reshape(len(x), -1).double().numpy()                  # (B, 784): one input gradient per image
    corr = np.corrcoef(jac)
    corr = np.nan_to_num(corr, nan=0.0)
    v = np.linalg.eigvalsh(corr)
    v = np.clip(v, 0, None)
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


_ACTS = (nn.ReLU, nn.ReLU6, nn.Hardswish)


def naswot(model: nn.Module, batch) -> float:
    net = copy.deepcopy(model).train()
    codes = []
    hooks = [m.register_forward_hook(lambda mod, i, o: codes.append((o.detach() > 0).flatten(1).double()))
             for m in net.modules() if isinstance(m, _ACTS)]
    try:
        with torch.no_grad():
            net(batch[0])
    finally:
        for h in hooks:
            h.remove()
    c = torch.cat(codes, 1)                                             # (B, units): 1 where a unit is on
    kernel = c @ c.T + (1 - c) @ (1 - c).T                              # units where two images agree
    return float(torch.linalg.slogdet(kernel)[1])


ZERO_COST: dict[str, Callable] = {"params": params, "macs": macs, "synflow": synflow, "snip": snip,
                                  "grad_norm": grad_norm, "jacob_cov": jacob_cov, "naswot": naswot}
NAMES = (*ZERO_COST, "convergence")


def convergence(losses, k: int) -> float:
    """Minus the sum of the first ``k`` training losses (a net that learns faster scores higher)."""
    if len(losses) < k:
        raise ValueError(f"the log holds {len(losses)} losses, fewer than k={k}: lower k")
    return -float(sum(losses[:k]))


def proxy_batch(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed mini-batch every data-dependent proxy sees: the first ``n`` images of the
    ``sensitivity`` part of the training set (``labkit.data.SUBSETS``)."""
    from ..data import subset
    x, y = subset("sensitivity", batch_size=n, limit=n, device="cpu")[0]
    return x, y


def score_all(model_fn: Callable[[], nn.Module], batch, names=tuple(ZERO_COST), seed: int = 0) -> tuple[dict, dict]:
    """``({proxy: score}, {proxy: CPU seconds})`` of one architecture: each zero-cost proxy on a
    fresh network from ``model_fn`` initialised with ``seed``, timed with ``time.process_time``."""
    scores, seconds = {}, {}
    for name in names:
        torch.manual_seed(seed)
        model = model_fn()
        t0 = time.process_time()
        scores[name] = ZERO_COST[name](model, batch)
        seconds[name] = time.process_time() - t0
    return scores, seconds


def score_archs(archs, batch, names=tuple(ZERO_COST), progress: bool = False) -> tuple[dict, dict]:
    """``({proxy: [score per arch]}, {proxy: mean CPU seconds per arch})`` of every zero-cost proxy."""
    from tqdm.auto import tqdm
    from . import space
    scores = {n: [] for n in names}
    seconds = {n: 0.0 for n in names}
    for a in tqdm(archs, desc="proxies", disable=not progress):
        s, t = score_all(lambda: space.build(a), batch, names)
        for n in names:
            scores[n].append(s[n])
            seconds[n] += t[n] / len(archs)
    return scores, seconds
