"""Multi-level joint pruning: channels (structured) + weights (fine-grained) + bits, and which
level buys what. Fewer channels make dense kernels smaller (real speedup); fine-grained zeros and
shared bits make the *file* smaller but run no faster on a dense kernel, and a CSR kernel at batch 1
is often slower than the dense one ("smaller is not faster").

``SparseConv2d`` runs a pruned convolution as ``torch.sparse`` CSR times the im2col matrix
(``F.unfold``), the sparse kernel a zero-skipping deployment would call; ``csr_model`` swaps every
Conv2d and Linear of a model for its CSR form (``labkit.pruning.sparse.SparseLinear``).
"""
from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import fold_batchnorm, replace_, weighted_layers
from ..pruning.channels import channel_prune
from ..pruning.masks import iterative_prune_
from ..pruning.sparse import SparseLinear
from ..train import train
from ..quantization.sharing import bake_, share_
from .fileformat import round_vectors_


class SparseConv2d(nn.Module):
    """A Conv2d whose weight is a ``torch.sparse`` CSR matrix (out, in * kh * kw): ``y = W @ unfold(x) + b``."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if conv.groups != 1:
            raise ValueError("SparseConv2d runs ungrouped convolutions only: leave grouped ones dense")
        self.out_channels, self.kernel_size = conv.out_channels, conv.kernel_size
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        with warnings.catch_warnings():          # "Sparse CSR tensor support is in beta state"
            warnings.simplefilter("ignore", UserWarning)
            self.register_buffer("weight", conv.weight.detach().reshape(conv.out_channels, -1).to_sparse_csr())
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().reshape(-1, 1).clone())

    def forward(self, x):
        n, _, h, w = x.shape
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)     # (N, C*kh*kw, L)
        oh = (h + 2 * self.padding[0] - self.dilation[0] * (self.kernel_size[0] - 1) - 1) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - self.dilation[1] * (self.kernel_size[1] - 1) - 1) // self.stride[1] + 1
        ys = []
        for i in range(n):
            y = torch.sparse.mm(self.weight, cols[i]) if self.bias is None else torch.sparse.addmm(self.bias, self.weight, cols[i])
            ys.append(y)                                                                  # (out, L)
        return torch.stack(ys).reshape(n, self.out_channels, oh, ow)


def csr_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every Conv2d and Linear in CSR form (same weights, sparse kernels)."""
    out = copy.deepcopy(model).cpu().eval()
    for name, layer in weighted_layers(out).items():
        replace_(out, name, SparseConv2d(layer) if isinstance(layer, nn.Conv2d) else SparseLinear(layer))
    return out


def joint_prune(base: nn.Module, ratio: float, sparsity: float, bits: int, channel_epochs: float = 0.5,
                prune_epochs: float = 0.5, share_epochs: float = 0.2, limit: int | None = None) -> dict[str, nn.Module]:
    """The three levels in turn, each fine-tuned: ``{"structured": channels removed (``ratio``),
    "structured+fine": then ``sparsity`` of every layer's weights, "structured+fine+bits": then
    ``bits``-bit shared weights}`` (BatchNorm folded in all of them; ``base`` unchanged)."""
    quiet = lambda *_: None        # noqa: E731  (no progress bars in the notebook's output)
    s = fold_batchnorm(channel_prune(base, ratio))
    train(s, epochs=channel_epochs, lr=1e-3, limit=limit, progress=False, desc="channels")
    f = copy.deepcopy(s)
    iterative_prune_(f, sparsity, steps=2, epochs=prune_epochs, limit=limit, report=quiet)
    q = copy.deepcopy(f)
    share_(q, {n: bits for n in weighted_layers(q)})
    train(q, epochs=share_epochs, lr=1e-4, limit=limit, progress=False, desc="centroids")
    q = round_vectors_(bake_(q, torch.float16))          # what its file stores: fp16 centroids, int8 biases
    return {"structured": s.eval(), "structured+fine": f.eval(), "structured+fine+bits": q.eval()}
