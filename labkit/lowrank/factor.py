"""Low-rank factorization as pure tensor math (no modules): SVD of a matrix, Tucker-2 (HOSVD,
HOOI) and CP (ALS) of a 4-way convolution kernel, their energies and errors.

- SVD (Eckart & Young 1936): the best rank-r approximation of ``W`` (m x n) in the Frobenius
  norm keeps its r largest singular values; the error is ``sqrt(sum_{i>r} s_i^2)``. Stored as
  two factors it costs ``r (m + n)`` numbers instead of ``m n``: fewer only when
  ``r < m n / (m + n)`` (the parameter break-even rank).
- Tucker-2 (Kim et al., ICLR 2016): a kernel ``K`` (out, in, kh, kw) ~ core ``C``
  (r_out, r_in, kh, kw) multiplied by ``U_out`` (out, r_out) on mode 0 and ``U_in`` (in, r_in)
  on mode 1, from the leading singular vectors of the two unfoldings (HOSVD), optionally
  refined by alternating least squares (HOOI, De Lathauwer et al. 2000).
- CP (Lebedev et al., ICLR 2015): ``K ~ sum_r a_r (x) b_r (x) c_r (x) d_r``, fitted by
  alternating least squares; known to be numerically unstable (degenerate, diverging
  components), which ``cp_als`` reports honestly rather than hiding.
"""
from __future__ import annotations

import torch


def _matrix(W: torch.Tensor) -> torch.Tensor:
    if not isinstance(W, torch.Tensor) or W.dim() != 2:
        raise ValueError(f"expected a 2-D weight matrix (out, in), got {getattr(W, 'shape', type(W).__name__)}: "
                         f"pass layer.weight of a nn.Linear")
    return W.detach().double()


def singular_values(W: torch.Tensor) -> torch.Tensor:
    """The singular values of ``W`` (descending, float64)."""
    return torch.linalg.svdvals(_matrix(W))


def energy(W: torch.Tensor) -> torch.Tensor:
    """Cumulative energy: ``energy[r-1] = sum_{i<r} s_i^2 / sum s_i^2``, the fraction of
    ``||W||_F^2`` a rank-r approximation keeps."""
    s2 = singular_values(W) ** 2
    return torch.cumsum(s2, 0) / s2.sum()


def rank_for_energy(W: torch.Tensor, keep: float) -> int:
    """The smallest rank that keeps at least ``keep`` (0 < keep <= 1) of the energy."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep is a fraction of the energy in (0, 1], got {keep}: e.g. keep=0.9")
    e = energy(W)
    return int(min(int((e < keep - 1e-12).sum()) + 1, len(e)))


def break_even_rank(m: int, n: int) -> float:
    """``m n / (m + n)``: a rank-r factorization of an m x n matrix stores fewer numbers only below it."""
    return m * n / (m + n)


def svd_factors(W: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, B)`` with ``A`` (m, r) and ``B`` (r, n), ``A @ B`` the best rank-``rank``
    approximation of ``W`` (Eckart-Young); the singular values are split evenly (``sqrt(s)``
    on each side, which keeps both factors on the same scale for fine-tuning). Float32 out."""
    Wd = _matrix(W)
    if not 1 <= rank <= min(Wd.shape):
        raise ValueError(f"rank must be in 1..{min(Wd.shape)} for a {tuple(Wd.shape)} matrix, got {rank}")
    U, S, Vh = torch.linalg.svd(Wd, full_matrices=False)
    root = S[:rank].sqrt()
    return (U[:, :rank] * root).float(), (root[:, None] * Vh[:rank]).float()


def relative_error(W: torch.Tensor, approx: torch.Tensor) -> float:
    """``||W - approx||_F / ||W||_F``."""
    W = W.detach().double()
    return float(torch.linalg.norm(W - approx.detach().double()) / torch.linalg.norm(W))


def svd_error(W: torch.Tensor, rank: int) -> float:
    """The Eckart-Young relative error of the best rank-``rank`` approximation, from the spectrum alone."""
    s2 = singular_values(W) ** 2
    return float((s2[rank:].sum() / s2.sum()).sqrt())


# ---------------------------------------------------------------------------- Tucker-2
def _kernel(K: torch.Tensor) -> torch.Tensor:
    if not isinstance(K, torch.Tensor) or K.dim() != 4:
        raise ValueError(f"expected a 4-D conv kernel (out, in, kh, kw), got {getattr(K, 'shape', type(K).__name__)}: "
                         f"pass conv.weight of a nn.Conv2d with groups=1")
    return K.detach().double()


def unfold(K: torch.Tensor, mode: int) -> torch.Tensor:
    """Mode-``mode`` unfolding: ``K.shape[mode]`` rows, the other modes flattened into columns."""
    return K.movedim(mode, 0).reshape(K.shape[mode], -1)


def _leading(M: torch.Tensor, r: int) -> torch.Tensor:
    U, _, _ = torch.linalg.svd(M, full_matrices=False)
    return U[:, :r]


def tucker2_core(K: torch.Tensor, U_out: torch.Tensor, U_in: torch.Tensor) -> torch.Tensor:
    """``C = K x_0 U_out^T x_1 U_in^T``: (r_out, r_in, kh, kw)."""
    return torch.einsum("oihw,or,is->rshw", K, U_out, U_in)


def tucker2_full(C: torch.Tensor, U_out: torch.Tensor, U_in: torch.Tensor) -> torch.Tensor:
    """The kernel a Tucker-2 triple represents: ``C x_0 U_out x_1 U_in`` (out, in, kh, kw)."""
    return torch.einsum("rshw,or,is->oihw", C, U_out, U_in)


def tucker2(K: torch.Tensor, r_out: int, r_in: int, hooi_steps: int = 0):
    """Tucker-2 of a conv kernel ``K`` (out, in, kh, kw): ``(C, U_out, U_in)`` in float64.

    HOSVD: ``U_out``, ``U_in`` are the leading left singular vectors of the mode-0 and mode-1
    unfoldings. ``hooi_steps`` rounds of HOOI then refit each factor with the other one fixed
    (each round never increases the error)."""
    Kd = _kernel(K)
    out_c, in_c = Kd.shape[:2]
    k = Kd.shape[2] * Kd.shape[3]
    if not (1 <= r_out <= min(out_c, in_c * k) and 1 <= r_in <= min(in_c, out_c * k)):
        raise ValueError(f"ranks must be 1 <= r_out <= {min(out_c, in_c * k)} and 1 <= r_in <= {min(in_c, out_c * k)} "
                         f"(the ranks of the two unfoldings), got ({r_out}, {r_in})")
    U_out, U_in = _leading(unfold(Kd, 0), r_out), _leading(unfold(Kd, 1), r_in)
    for _ in range(hooi_steps):
        U_out = _leading(unfold(torch.einsum("oihw,is->oshw", Kd, U_in), 0), r_out)
        U_in = _leading(unfold(torch.einsum("oihw,or->rihw", Kd, U_out), 1), r_in)
    return tucker2_core(Kd, U_out, U_in), U_out, U_in


def mode_energy(K: torch.Tensor, mode: int) -> torch.Tensor:
    """Cumulative energy of the mode-``mode`` unfolding's singular values (Tucker's rank guide)."""
    return energy(unfold(_kernel(K), mode))


# ---------------------------------------------------------------------------- CP
def _khatri_rao(mats: list[torch.Tensor]) -> torch.Tensor:
    """Column-wise Kronecker product, the first matrix varying slowest: (prod rows, R)."""
    out = mats[0]
    for m in mats[1:]:
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, out.shape[1])
    return out


def cp_full(factors: list[torch.Tensor]) -> torch.Tensor:
    """The tensor ``sum_r factors[0][:, r] (x) factors[1][:, r] (x) ...``."""
    shape = [f.shape[0] for f in factors]
    return (factors[0] @ _khatri_rao(factors[1:]).T).reshape(shape)


def cp_als(T: torch.Tensor, rank: int, steps: int = 50, seed: int = 0, ridge: float = 1e-9):
    """CP decomposition of an N-way tensor by alternating least squares, from a random start.

    Returns ``(factors, history)``: one (dim_k, rank) factor per mode (float64) and the relative
    error after each sweep. Each step solves one factor exactly with the others fixed
    (normal equations with the Hadamard product of Gram matrices; ``ridge`` keeps them
    invertible). ALS is not guaranteed to find the best rank-R fit, which need not even exist
    (De Silva & Lim 2008): watch ``history`` and the factor norms (``cp_diverged``)."""
    Td = T.detach().double()
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    g = torch.Generator().manual_seed(seed)
    factors = [torch.randn(d, rank, generator=g, dtype=torch.float64) for d in Td.shape]
    norm = torch.linalg.norm(Td)
    history = []
    for _ in range(steps):
        for k in range(Td.dim()):
            others = [factors[j] for j in range(Td.dim()) if j != k]
            gram = torch.ones(rank, rank, dtype=torch.float64)
            for f in others:
                gram = gram * (f.T @ f)
            rhs = unfold(Td, k) @ _khatri_rao(others)             # (dim_k, R)
            factors[k] = torch.linalg.solve(gram + ridge * torch.eye(rank, dtype=torch.float64), rhs.T).T
        history.append(float(torch.linalg.norm(Td - cp_full(factors)) / norm))
    return factors, history


def cp_diverged(factors: list[torch.Tensor], T: torch.Tensor, limit: float = 100.0) -> bool:
    """True when the rank-one components are far larger than the tensor itself (norm ratio over
    ``limit``): terms that cancel each other, the signature of a degenerate CP fit."""
    comps = torch.ones(factors[0].shape[1], dtype=torch.float64)
    for f in factors:
        comps = comps * torch.linalg.norm(f, dim=0)
    return bool(comps.max() > limit * torch.linalg.norm(T.detach().double()))
