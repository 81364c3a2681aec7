"""Checks for notebook 02 (pruning): the magnitude mask and the filter importance."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn.utils import prune as torch_prune

from ._common import call_student, hidden_rng


def _shape(rng) -> tuple[int, ...]:
    return rng.choice([(rng.randint(1, 300),),
                       (rng.randint(1, 40), rng.randint(1, 60)),
                       (rng.randint(1, 16), rng.randint(1, 8), 3, 3),
                       (rng.randint(1, 8), 1, rng.choice([1, 3, 5]), rng.choice([1, 3, 5]))])


def _tensor(rng, shape, kind: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    if kind == "ties":          # few distinct values, many zeros: magnitudes tie everywhere
        return torch.randint(-3, 4, shape, generator=g).float() * 0.25
    if kind == "constant":      # every magnitude equal, signs mixed
        return torch.where(torch.rand(shape, generator=g) < 0.5, -0.7, 0.7)
    if kind == "zeros":         # already sparse
        w = torch.randn(shape, generator=g)
        return w * (torch.rand(shape, generator=g) < 0.4)
    return torch.randn(shape, generator=g) * rng.choice([1e-3, 0.05, 1.0, 30.0]) + rng.choice([0.0, 0.0, 0.2])


def _sparsity(rng) -> float:
    return rng.choice([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, round(rng.random() * 0.999, 3), rng.random() * 0.999])


def _wanted_zeros(numel: int, sparsity: float) -> set[int]:
    """``round(sparsity * numel)``; an exact .5 may round either way."""
    x = sparsity * numel
    return {round(x), math.floor(x + 0.5)}


def magnitude_cases(cases: int = 80):
    """The hidden cases of ``check_magnitude_mask``: (kind, weight, sparsity)."""
    rng = hidden_rng(20)
    kinds = ["normal", "normal", "ties", "constant", "zeros"]
    return [(kind, _tensor(rng, _shape(rng), kind), _sparsity(rng)) for kind in (kinds[i % len(kinds)] for i in range(cases))]


def check_magnitude_mask(magnitude_mask, cases: int = 80) -> None:
    """Check ``magnitude_mask(w, sparsity) -> bool tensor`` (``True`` = keep): exactly
    ``round(sparsity * w.numel())`` weights dropped, never one of larger ``|w|`` than a kept one,
    ``w`` unchanged; on tensors without ties, the same mask as ``torch.nn.utils.prune``."""
    for i, (kind, w, s) in enumerate(magnitude_cases(cases)):
        original = w.clone()
        mask = call_student(magnitude_mask, "magnitude_mask", w, s)
        where = f"case {i} ({kind} weights of shape {tuple(w.shape)}, sparsity {s:g})"
        if not torch.equal(w, original):
            raise AssertionError(f"{where}: your function changed the weight tensor; build a new mask instead of editing w")
        if not isinstance(mask, torch.Tensor):
            raise AssertionError(f"{where}: return a torch.Tensor mask, got {type(mask).__name__}")
        if mask.shape != w.shape:
            raise AssertionError(f"{where}: the mask has shape {tuple(mask.shape)}; it must have the weight's shape "
                                 f"{tuple(w.shape)} (reshape the flat mask back)")
        if mask.dtype != torch.bool:
            raise AssertionError(f"{where}: the mask has dtype {mask.dtype}; return a bool tensor (True = keep), "
                                 f"e.g. mask.bool()")
        dropped, want = int((~mask).sum()), _wanted_zeros(w.numel(), s)
        if dropped not in want:
            k = min(want)
            hint = ("use round(sparsity * numel), not int() or math.floor/ceil" if abs(dropped - s * w.numel()) < 1 else
                    "with ties, a threshold test like |w| <= t drops every tied weight: drop exactly k, e.g. the first k of an argsort"
                    if kind in ("ties", "constant") else "drop exactly k = round(sparsity * numel) weights")
            raise AssertionError(f"{where}: {dropped} weights dropped, expected {k} of {w.numel()}. Hint: {hint}.")
        mag = w.abs()
        if dropped and bool(mask.any()) and float(mag[~mask].max()) > float(mag[mask].min()):
            signed = bool((w[~mask] <= w[mask].min()).all())
            hint = ("rank by magnitude |w|, not by the signed value" if signed else
                    "drop the SMALLEST magnitudes and keep the largest")
            raise AssertionError(f"{where}: a dropped weight has |w| = {float(mag[~mask].max()):.4g}, larger than a kept one "
                                 f"({float(mag[mask].min()):.4g}). Hint: {hint}.")
        if kind == "normal" and mag.reshape(-1).unique().numel() == w.numel():
            ref = torch_prune.L1Unstructured(amount=s).compute_mask(w, default_mask=torch.ones_like(w)).bool()
            if not torch.equal(mask, ref):
                raise AssertionError(f"{where}: your mask differs from torch.nn.utils.prune.l1_unstructured's at "
                                     f"{int((mask != ref).sum())} positions")
    print(f"✓ magnitude_mask gives the exact sparsity on {cases} hidden tensors (ties, constant, already-sparse "
          f"included) and matches torch.nn.utils.prune wherever the answer is unique")


def importance_cases(cases: int = 40):
    """The hidden cases of ``check_filter_importance``: (weight, p)."""
    rng = hidden_rng(21)
    out = []
    for i in range(cases):
        shape = rng.choice([(rng.randint(1, 64), rng.randint(1, 32), 3, 3),
                            (rng.randint(1, 32), 1, rng.choice([3, 5]), rng.choice([3, 5])),   # depthwise
                            (rng.randint(1, 64), rng.randint(1, 64), 1, 1),
                            (rng.randint(1, 64), rng.randint(1, 200))])                       # Linear
        g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
        w = torch.randn(shape, generator=g) * rng.choice([0.01, 0.3, 2.0]) + rng.choice([0.0, -0.1, 0.1])
        out.append((w, 1 if i % 2 == 0 else 2))
    return out


def _reference_norms(w: torch.Tensor, p: int) -> np.ndarray:
    """Lp norm of each output filter, in float64 NumPy, written out."""
    rows = w.detach().double().numpy().reshape(w.shape[0], -1)
    return (np.abs(rows) ** p).sum(axis=1) ** (1.0 / p)


def check_filter_importance(filter_importance, cases: int = 40) -> None:
    """Check ``filter_importance(w, p) -> tensor (out,)``: the L1 (p=1) or L2 (p=2) norm of each
    output filter ``w[j]`` of a Conv2d (out, in, kh, kw) or Linear (out, in) weight."""
    for i, (w, p) in enumerate(importance_cases(cases)):
        original = w.clone()
        got = call_student(filter_importance, "filter_importance", w, p)
        where = f"case {i} (weight {tuple(w.shape)}, p={p})"
        if not torch.equal(w, original):
            raise AssertionError(f"{where}: your function changed the weight tensor; compute on a copy (w.abs(), not w.abs_())")
        if not isinstance(got, torch.Tensor):
            raise AssertionError(f"{where}: return a torch.Tensor of one score per output filter, got {type(got).__name__}")
        want = _reference_norms(w, p)
        if tuple(got.shape) != (w.shape[0],):
            raise AssertionError(f"{where}: got shape {tuple(got.shape)}, expected ({w.shape[0]},): one score per output "
                                 f"filter, reducing every dimension except dim 0 (e.g. w.flatten(1))")
        g = got.detach().double().numpy()
        if not np.allclose(g, want, rtol=1e-4, atol=1e-6):
            rows = w.detach().double().numpy().reshape(w.shape[0], -1)
            n, close = rows.shape[1], (lambda a, b: np.allclose(a, b, rtol=1e-4, atol=1e-6))
            if close(g, want ** 2):
                hint = "the L2 norm is the square root of the sum of squares"
            elif close(g, rows.sum(1)) or close(g, np.abs(rows.sum(1))):
                hint = "sum the magnitudes |w|, not the signed values"
            elif close(g * n, want ** p) or close(g * n ** (1.0 / p), want):
                hint = "sum over the filter, do not average"
            else:
                hint = f"the L{p} norm of filter j is (sum over w[j] of |w|^{p})^(1/{p})"
            j = int(np.argmax(np.abs(g - want)))
            raise AssertionError(f"{where}: filter {j} scores {g[j]:.6g}, expected {want[j]:.6g}. Hint: {hint}.")
    print(f"✓ filter_importance gives the L1 and L2 norms of every filter on {cases} hidden Conv2d, depthwise "
          f"and Linear weights")


# ---- channel surgery --------------------------------------------------------------------------

def surgery_cases(cases: int = 24):
    """The hidden cases of ``check_remove_channels``: (conv, bn, next layer, keep, spatial)."""
    from torch import nn
    rng = hidden_rng(22)
    out = []
    for i in range(cases):
        torch.manual_seed(rng.randrange(2 ** 31))
        c_in, c_out, k = rng.randint(1, 12), rng.randint(2, 24), rng.choice([1, 3, 5])
        conv = nn.Conv2d(c_in, c_out, k, stride=rng.choice([1, 2]), padding=k // 2, bias=rng.random() < 0.4)
        bn = nn.BatchNorm2d(c_out)
        with torch.no_grad():      # trained-looking statistics and affine parameters, all different per channel
            bn.weight.uniform_(0.5, 1.5); bn.bias.normal_(0, 0.3)
            bn.running_mean.normal_(0, 0.5); bn.running_var.uniform_(0.2, 2.0)
        if i % 3 == 2:             # Flatten -> Linear: each channel owns `spatial` consecutive input columns
            spatial = rng.choice([1, 4, 9])
            nxt = nn.Linear(c_out * spatial, rng.randint(1, 20), bias=rng.random() < 0.7)
        else:
            spatial, k2 = 1, rng.choice([1, 3])
            nxt = nn.Conv2d(c_out, rng.randint(1, 16), k2, padding=k2 // 2, bias=rng.random() < 0.5)
        n_keep = rng.randint(1, c_out - 1) if c_out > 1 else 1
        keep = torch.tensor(sorted(rng.sample(range(c_out), n_keep)), dtype=torch.long)
        out.append((conv.eval(), bn.eval(), nxt.eval(), keep, spatial))
    return out


def _reference_surgery(conv, bn, nxt, keep, spatial):
    """Torch-Pruning's low-level pruning functions, given the channels to *remove*."""
    import copy
    import torch_pruning as tp
    from torch import nn
    conv, bn, nxt = copy.deepcopy(conv), copy.deepcopy(bn), copy.deepcopy(nxt)
    drop = sorted(set(range(conv.out_channels)) - set(keep.tolist()))
    tp.prune_conv_out_channels(conv, drop)
    tp.prune_batchnorm_out_channels(bn, drop)
    if isinstance(nxt, nn.Linear):
        tp.prune_linear_in_channels(nxt, [c * spatial + s for c in drop for s in range(spatial)])
    else:
        tp.prune_conv_in_channels(nxt, drop)
    return conv, bn, nxt


def _chain(conv, bn, nxt, x):
    y = torch.relu(bn(conv(x)))
    return nxt(y.flatten(1)) if isinstance(nxt, torch.nn.Linear) else nxt(y)


def check_remove_channels(remove_channels, cases: int = 24) -> None:
    """Check ``remove_channels(conv, bn, nxt, keep, spatial) -> (conv, bn, nxt)``: new modules with
    only the output channels ``keep`` of ``conv`` (weight rows, bias), the same channels of ``bn``
    (affine parameters and running statistics), and the matching inputs of ``nxt`` (a Conv2d's
    input channels, or a Linear's ``spatial`` input columns per channel after Flatten). Compared
    exactly with Torch-Pruning's pruning functions, and by the function the chain computes."""
    from torch import nn
    for i, (conv, bn, nxt, keep, spatial) in enumerate(surgery_cases(cases)):
        where = (f"case {i} (Conv2d {conv.in_channels}->{conv.out_channels}, then {type(nxt).__name__}"
                 f"{f' after Flatten, {spatial} columns per channel' if isinstance(nxt, nn.Linear) else ''}, "
                 f"keep {len(keep)} channels)")
        before = [t.clone() for m in (conv, bn, nxt) for t in m.state_dict().values()]
        got = call_student(remove_channels, "remove_channels", conv, bn, nxt, keep.clone(), spatial)
        after = [t for m in (conv, bn, nxt) for t in m.state_dict().values()]
        if any(not torch.equal(a, b) for a, b in zip(before, after)) or conv.out_channels != len(before[0]):
            raise AssertionError(f"{where}: your function changed the modules it was given; build new ones "
                                 f"(copy.deepcopy, or new nn.Conv2d / nn.BatchNorm2d / nn.Linear) and leave the originals")
        if not (isinstance(got, tuple) and len(got) == 3):
            raise AssertionError(f"{where}: return a tuple (conv, bn, nxt) of the three new modules")
        ref = _reference_surgery(conv, bn, nxt, keep, spatial)
        for role, mine, theirs in zip(("conv", "bn", "nxt"), got, ref):
            if type(mine) is not type(theirs):
                raise AssertionError(f"{where}: {role} must stay a {type(theirs).__name__}, got {type(mine).__name__}")
            for attr in ("in_channels", "out_channels", "num_features", "in_features", "out_features"):
                if hasattr(theirs, attr) and getattr(mine, attr) != getattr(theirs, attr):
                    raise AssertionError(f"{where}: {role}.{attr} is {getattr(mine, attr)}, expected "
                                         f"{getattr(theirs, attr)}: update the attribute along with the tensors")
            ms, ts = mine.state_dict(), theirs.state_dict()
            if set(ms) != set(ts):
                raise AssertionError(f"{where}: {role} has tensors {sorted(ms)}, expected {sorted(ts)}")
            for name, t in ts.items():
                if name == "num_batches_tracked":
                    continue
                if ms[name].shape != t.shape:
                    hint = ""
                    if role == "nxt" and isinstance(nxt, nn.Linear):
                        hint = f" (after Flatten, channel c owns the {spatial} columns c*{spatial} ... c*{spatial}+{spatial - 1})"
                    raise AssertionError(f"{where}: {role}.{name} has shape {tuple(ms[name].shape)}, expected "
                                         f"{tuple(t.shape)}{hint}")
                if not torch.equal(ms[name], t):
                    hint = {"conv": "keep the rows keep of the weight (dim 0) and of the bias",
                            "bn": "keep the same channels of weight, bias, running_mean and running_var",
                            "nxt": ("keep the input columns of the kept channels, in order" if isinstance(nxt, nn.Linear)
                                    else "keep the input channels keep of the weight (dim 1); the bias is unchanged")}[role]
                    raise AssertionError(f"{where}: {role}.{name} differs from Torch-Pruning's. Hint: {hint}.")
        # the function: the pruned chain equals the full one with the removed channels silenced
        x = torch.randn(3, conv.in_channels, 8, 8)
        if isinstance(nxt, nn.Linear):
            side = int(math.isqrt(spatial))
            x = torch.randn(3, conv.in_channels, side * conv.stride[0], side * conv.stride[0])
        import copy
        silenced = copy.deepcopy(bn)
        drop = torch.tensor(sorted(set(range(conv.out_channels)) - set(keep.tolist())), dtype=torch.long)
        with torch.no_grad():
            silenced.weight[drop] = 0.0; silenced.bias[drop] = 0.0
            want = _chain(conv, silenced, nxt, x)
            have = _chain(*got, x)
        if not torch.allclose(have, want, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"{where}: the pruned layers do not compute what the original computes with the removed "
                                 f"channels switched off (max difference {float((have - want).abs().max()):.3g})")
    print(f"✓ remove_channels matches Torch-Pruning's surgery exactly on {cases} hidden conv -> BN -> conv / Linear "
          f"chains, and the pruned chain computes the original with those channels switched off")
