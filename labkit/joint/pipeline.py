"""Deep Compression end to end (Han et al., ICLR 2016): prune -> share -> code, into a real file.

``compress(base, alloc)`` folds BatchNorm (the deployed form), prunes iteratively with
fine-tuning to each layer's sparsity (``labkit.pruning.iterative_prune_``), shares each layer's
nonzeros in ``bits`` with k-means and fine-tunes the centroids (``labkit.quantization.sharing``), and
returns the plain model whose file ``labkit.joint.fileformat.write`` stores. ``stages`` counts the
bytes of each stage: fp32, pruned (fp32 CSR), shared (codebook indices + packed relative index,
before entropy coding) and coded (the real file).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .. import size
from ..layers import fold_batchnorm, weighted_layers
from ..pruning.masks import iterative_prune_
from ..train import train
from . import fileformat
from ..quantization.sharing import bake_, share_

PRUNE_EPOCHS = 2.0       # iterative pruning: 3 rounds on the cubic schedule, mask held while fine-tuning
SHARE_EPOCHS = 0.5       # centroid fine-tuning after k-means sharing
PRUNE_LR = 1e-3
SHARE_LR = 1e-3          # centroids: the pruning rate (1e-4 recovered 0.4 pt less on LeNet-5 validation images)
INDEX_BITS = 8           # relative-index symbols are bytes; the entropy coder removes the slack
FIT_MARGIN = 0.06        # fine-tuned LeNet-5 files came out 1.5-4.6 % above their one-shot estimate: aim this far below


def vector_bytes(model: nn.Module) -> int:
    """Bytes of the stored vectors of the folded ``model``: biases in int8, an fp16 scale each."""
    vecs = [v.numel() for v in fold_batchnorm(model).state_dict().values() if v.is_floating_point() and v.dim() < 2]
    return sum(vecs) + 2 * len(vecs)


def compress(base: nn.Module, alloc: dict[str, tuple[float, int]], prune_epochs: float = PRUNE_EPOCHS,
             share_epochs: float = SHARE_EPOCHS, steps: int = 3, limit: int | None = None, seed: int = 0,
             progress: bool = False, final_share: float = 0.8) -> nn.Module:
    """A new model: ``base`` with BatchNorm folded, pruned to ``{layer: sparsity}`` and shared to
    ``{layer: bits}`` of ``alloc`` (``{layer: (sparsity, bits)}``), fine-tuned after each. ``base`` is unchanged.
    ``steps`` pruning rounds; the last gets ``final_share`` of ``prune_epochs`` (``iterative_prune_``)."""
    model = fold_batchnorm(copy.deepcopy(base))
    iterative_prune_(model, {n: s for n, (s, _) in alloc.items()}, steps=steps, epochs=prune_epochs, lr=PRUNE_LR,
                     limit=limit, report=None if progress else (lambda *_: None), final_share=final_share)
    share_(model, {n: b for n, (_, b) in alloc.items()})
    train(model, epochs=share_epochs, lr=SHARE_LR, seed=seed + 100, limit=limit, progress=progress, desc="centroids")
    bake_(model, torch.float16)                     # the file stores fp16 centroids
    return fileformat.round_vectors_(model).eval()  # and int8 biases


def stages(base: nn.Module, model: nn.Module, alloc: dict, file_bytes: int) -> dict[str, int]:
    """Bytes of each stage (the waterfall): fp32 (``base``), pruned (fp32 values + CSR index),
    shared (``bits``-bit codes + ``INDEX_BITS`` relative index + fp16 codebooks + int8 vectors, no
    entropy coding; the file's metadata and header included) and coded (``file_bytes``)."""
    pruned = size.size_bytes(model, size.Storage(sparse="csr"))
    streams = fileformat.streams(model, INDEX_BITS)
    layers = weighted_layers(model)
    shared = sum((int((layers[n].weight != 0).sum()) * b + 7) // 8 + 2 * 2 ** b for n, (_, b) in alloc.items())
    shared += len(streams["gaps"]) * INDEX_BITS // 8 + vector_bytes(model)
    return {"fp32": size.size_bytes(base, "fp32"), "pruned": pruned, "shared": shared, "coded": int(file_bytes)}


def one_shot_bytes(base: nn.Module, alloc: dict[str, tuple[float, int]]) -> int:
    """Bytes of the real file of ``base`` pruned by magnitude and shared by k-means to ``alloc`` with no
    fine-tuning: the file-size estimate that counts everything the file stores (header, metadata, tables)."""
    import torch
    from .budget import compressed_weight
    model = fold_batchnorm(copy.deepcopy(base))
    with torch.no_grad():
        for n, layer in weighted_layers(model).items():
            layer.weight.copy_(compressed_weight(layer.weight, *alloc[n]).half().float())   # fp16 centroids, as stored
    fileformat.round_vectors_(model)
    return len(fileformat.encode(model, INDEX_BITS, {n: b for n, (_, b) in alloc.items()})[0])


def fit_allocation(base: nn.Module, table: dict, target_bytes: float, margin: float = FIT_MARGIN,
                   tries: int = 12) -> dict[str, tuple[float, int]]:
    """The allocation (``budget.allocation`` on the scan ``table``) for the largest weight budget whose
    one-shot file (``one_shot_bytes``) fits ``(1 - margin) * target_bytes``: bisection on the budget
    given to the allocator, so header, metadata, biases, codebooks and Huffman tables are all counted."""
    from .budget import allocation
    goal, vec = (1.0 - margin) * target_bytes, vector_bytes(base)
    lo, hi, best, seen = 0.0, float(target_bytes), None, {}
    for _ in range(tries):
        mid = (lo + hi) / 2
        try:
            alloc = allocation(table, mid, vec)
        except ValueError:          # below every layer's smallest option
            lo = mid
            continue
        key = tuple(sorted(alloc.items()))
        if key not in seen:
            seen[key] = one_shot_bytes(base, alloc)
        if seen[key] <= goal:
            best, lo = alloc, mid
        else:
            hi = mid
    if best is None:
        raise ValueError(f"no allocation's file fits {goal:,.0f} bytes: raise the byte budget or offer smaller options")
    return best
