"""Sparse kernels: ``SparseLinear`` on ``torch.sparse`` CSR, and when they beat dense ones.

``sparse_vs_dense`` times a Linear layer dense and in CSR over sparsities (the lab's timing
protocol: paired ratios with a 95 % interval, an A/A control); ``break_even`` reads the sparsity
where CSR starts to win on this CPU (its interval above 1, outside the noise); ``kernel_table``
prints the rows.
"""
from __future__ import annotations

import warnings
import torch
from torch import nn
from .. import metrics, speedups, validate
from ..layers import replace_, weighted_layers
from .masks import magnitude_mask


class SparseLinear(nn.Module):
    """A Linear layer whose weight is stored as a ``torch.sparse`` CSR tensor (values, column
    indices, row pointers); ``forward`` computes ``(W x^T)^T + b`` with ``torch.sparse.addmm``
    (MKL's sparse kernel on x86), which also runs under ``torch.inference_mode``."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        with warnings.catch_warnings():          # "Sparse CSR tensor support is in beta state"
            warnings.simplefilter("ignore", UserWarning)
            csr = linear.weight.detach().to_sparse_csr()
        self.register_buffer("weight", csr)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone().unsqueeze(1))

    def forward(self, x):
        rows = x.reshape(-1, self.in_features).t()                              # (in, N)
        y = torch.sparse.mm(self.weight, rows) if self.bias is None else torch.sparse.addmm(self.bias, self.weight, rows)
        return y.t().reshape(*x.shape[:-1], self.out_features)                  # (..., out)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.weight._nnz()}"


def sparse_linear_(model: nn.Module) -> nn.Module:
    """Replace every ``nn.Linear`` of ``model`` by a ``SparseLinear`` (in place); returns the model."""
    for name, layer in weighted_layers(model).items():
        if isinstance(layer, nn.Linear):
            replace_(model, name, SparseLinear(layer))
    return model


def sparse_vs_dense(in_features: int, out_features: int, batch_size: int = 1, sparsities=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99),
                    repeats: int = 20, seed: int = 0) -> list[dict]:
    """Latency of one Linear layer, dense vs CSR, at each sparsity (magnitude-pruned random weights),
    each pair timed together by the lab's timing protocol (``labkit.metrics.compare_latency``, dense
    the A/A control). Rows: sparsity, dense_ms, sparse_ms, speedup (the median of the paired
    per-round ratios ``t_dense / t_sparse``, > 1: sparse is faster), speedup_lo, speedup_hi (its 95 %
    interval), within_noise, noise_floor, floor_line (``labkit.speedups.fields``) and verdict
    ("faster", "slower" or "within noise")."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for s in sparsities:
        dense = nn.Linear(in_features, out_features)
        with torch.no_grad():
            dense.weight.copy_(torch.randn(out_features, in_features, generator=g) / in_features ** 0.5)
            dense.weight.mul_(magnitude_mask(dense.weight, s))
        sparse = SparseLinear(dense)
        t = metrics.compare_latency({"dense": dense, "sparse": sparse}, (batch_size, in_features), repeats=repeats,
                                    control="dense", table=f"CSR vs dense at {s:.0%} sparsity")
        rows.append({"sparsity": validate.sparsity(s), "dense_ms": t["dense"].median_ms, "sparse_ms": t["sparse"].median_ms,
                     **speedups.fields(t, "sparse", "dense")})
        rows[-1]["verdict"] = speedups.verdict(rows[-1])
    return rows


def break_even(rows: list[dict]) -> float | None:
    """The lowest measured sparsity from which the sparse kernel is measured faster (the speedup's
    95 % interval above 1, outside the run's noise) at every higher one measured (None if it never
    is). Rows need the interval (``sparse_vs_dense``): a speedup without one cannot say faster."""
    found = None
    for row in sorted(rows, key=lambda r: r["sparsity"], reverse=True):
        if speedups.verdict(row) != "faster":
            break
        found = row["sparsity"]
    return found


def kernel_table(rows: list[dict]) -> str:
    """``sparse_vs_dense`` rows as text: sparsity, both latencies and the speedup of CSR over dense
    (its 95 % interval, or "≈1 (within noise)"); under the table, each run's A/A noise floor."""
    from ..text import text_table
    shown = [{"sparsity": r["sparsity"], "dense": f"{r['dense_ms']:9.3f} ms", "sparse": f"{r['sparse_ms']:9.3f} ms",
              "speedup": speedups.cell(r)} for r in rows]
    table = text_table(shown, {"sparsity": ".0%", "dense": "s", "sparse": "s", "speedup": "s"})
    return "\n".join([table, "speedup: median of paired per-round ratios [95 % bootstrap interval]",
                      *speedups.floor_lines(rows, lambda r: f"{r['sparsity']:.0%} sparsity")])
