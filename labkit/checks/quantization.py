"""Checks for notebook 03 (quantization): linear quantisation, k-means weight sharing, the
straight-through estimator. References: PyTorch's own ``torch.fake_quantize_per_tensor_affine`` /
``torch.fake_quantize_per_channel_affine`` (forward and gradient) and the few lines of reference
math below (integer ranges, min/max qparams, Lloyd's k-means), written here from first principles
and not taken from ``labkit.quantization``: a bug there must not let the same bug in a student's code pass."""
from __future__ import annotations

import numpy as np
import torch

from ._common import call_student, hidden_rng


# ---------------------------------------------------------------- independent references
def _qrange(bits: int, scheme: str) -> tuple[int, int]:
    """Integer codes: symmetric ``[-(2**(b-1)-1), 2**(b-1)-1]`` (narrow, zero-point 0), affine ``[0, 2**b - 1]``."""
    if scheme == "symmetric":
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return 0, 2 ** bits - 1


def _ref_qparams(x: torch.Tensor, bits: int, scheme: str, dim) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, zero_point), one per channel along ``dim`` (or one), from the min/max of float32 ``x``.

    The range is widened to contain 0; symmetric: ``scale = max(-lo, hi) / qmax``, zero-point 0;
    affine: ``scale = (hi - lo) / (qmax - qmin)``, ``zero_point = clamp(round(qmin - lo / scale), qmin, qmax)``
    (round half to even, as ``torch.round``); an all-zero range gets scale 1.
    """
    qmin, qmax = _qrange(bits, scheme)
    rows = x.float().reshape(1, -1) if dim is None else x.float().movedim(dim, 0).reshape(x.shape[dim], -1)
    lo, hi = rows.amin(1).clamp(max=0), rows.amax(1).clamp(min=0)
    scale = torch.maximum(-lo, hi) / qmax if scheme == "symmetric" else (hi - lo) / (qmax - qmin)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    if scheme == "symmetric":
        return scale, torch.zeros_like(scale, dtype=torch.int64)
    return scale, torch.round(qmin - lo / scale).clamp(qmin, qmax).to(torch.int64)


def _lloyd_mse(w: torch.Tensor, bits: int, iters: int) -> float:
    """Mean squared error of 1-D k-means on ``w``: ``2**bits`` centroids evenly spaced from min to max
    (the linear initialisation of Deep Compression), then up to ``iters`` Lloyd steps (assign each
    weight to its nearest centroid, move each centroid to the mean of its weights; an empty one stays)."""
    x = w.detach().double().reshape(-1)
    c = torch.linspace(float(x.min()), float(x.max()), 2 ** bits, dtype=torch.float64)
    for _ in range(iters):
        idx = (x[:, None] - c[None, :]).abs().argmin(1)
        counts = torch.bincount(idx, minlength=c.numel())
        sums = torch.bincount(idx, weights=x, minlength=c.numel())
        new = torch.where(counts > 0, sums / counts.clamp(min=1), c)
        if torch.equal(new, c):
            break
        c = new
    return float((x - c[(x[:, None] - c[None, :]).abs().argmin(1)]).pow(2).mean())


def _tensor(rng, shape=None) -> torch.Tensor:
    """A random tensor from one of several distributions a layer really meets."""
    shape = shape or tuple(rng.randint(1, 9) for _ in range(rng.randint(1, 4)))
    g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    kind = rng.choice(["normal", "uniform", "relu", "negative", "outliers", "shifted"])
    x = torch.randn(shape, generator=g) * rng.choice([0.01, 0.3, 1.0, 5.0])
    if kind == "uniform":
        x = torch.rand(shape, generator=g) * 4 - 1
    elif kind == "relu":
        x = x.clamp(min=0) + 0.01 * torch.rand(shape, generator=g)
    elif kind == "negative":
        x = -x.abs() - 0.1
    elif kind == "outliers":
        x = x.clone()
        x.reshape(-1)[:: max(1, x.numel() // 3)] *= 30
    elif kind == "shifted":
        x = x + 2.5
    return x


def _as_float(t, what: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        try:
            t = torch.as_tensor(t)
        except Exception:
            raise AssertionError(f"{what} must be a tensor (or a number), got {type(t).__name__}") from None
    return t.detach().double()


def _per(t: torch.Tensor, n: int, what: str, dim) -> torch.Tensor:
    if t.numel() != n:
        where = "per tensor: one value" if dim is None else f"per channel along dim={dim}: one value per channel ({n})"
        raise AssertionError(f"{what} has {t.numel()} values, expected {n} ({where})")
    return t.reshape(-1)


def _shape_for(x: torch.Tensor, dim) -> tuple:
    return () if dim is None else tuple(-1 if i == dim else 1 for i in range(x.dim()))


def check_linear_quantization(quantize, dequantize, linear_qparams, cases: int = 80) -> None:
    """Check the three functions of linear quantisation:

    - ``quantize(x, scale, zero_point, qmin, qmax)``: integer codes ``clamp(round(x / scale) + zero_point, qmin, qmax)``;
    - ``dequantize(q, scale, zero_point)``: ``(q - zero_point) * scale``;
    - ``linear_qparams(x, bits, scheme, dim=None)``: ``(scale, zero_point)`` from the min/max of ``x``
      (per tensor, or per channel along ``dim``), ``scheme`` "symmetric" (zero-point 0, codes
      ``[-(2**(b-1)-1), 2**(b-1)-1]``) or "affine" (codes ``[0, 2**b - 1]``, range widened to contain 0).

    quantize/dequantize are compared with ``torch.fake_quantize_per_tensor_affine`` and
    ``torch.fake_quantize_per_channel_affine`` (with clamping), the qparams with an independent
    reference, and the round trip must be within half a quantisation step.
    """
    rng = hidden_rng(31)
    for i in range(cases):
        # -- 1. quantize / dequantize against PyTorch, given qparams (some values clamp) --
        bits, scheme = rng.randint(2, 8), rng.choice(["symmetric", "affine"])
        qmin, qmax = _qrange(bits, scheme)
        x = _tensor(rng)
        dim = rng.choice([None, rng.randrange(x.dim())])
        n = 1 if dim is None else x.shape[dim]
        amax = float(x.abs().max()) or 1.0
        scale = torch.tensor([amax / qmax * rng.uniform(0.2, 1.5) for _ in range(n)], dtype=torch.float32)
        zp = (torch.zeros(n, dtype=torch.int64) if scheme == "symmetric"
              else torch.tensor([rng.randint(qmin, qmax) for _ in range(n)], dtype=torch.int64))
        if dim is None:
            want = torch.fake_quantize_per_tensor_affine(x, float(scale), int(zp), qmin, qmax)
            s_arg, z_arg = scale.reshape(()), zp.reshape(())
        else:
            want = torch.fake_quantize_per_channel_affine(x, scale, zp.to(torch.int32), dim, qmin, qmax)
            s_arg, z_arg = scale.reshape(_shape_for(x, dim)), zp.reshape(_shape_for(x, dim))
        q = _as_float(call_student(quantize, "quantize", x.clone(), s_arg.clone(), z_arg.clone(), qmin, qmax), "quantize(...)")
        if q.shape != x.shape:
            raise AssertionError(f"case {i}: quantize returned shape {tuple(q.shape)} for an input of shape {tuple(x.shape)}")
        if not torch.equal(q, torch.round(q)):
            raise AssertionError(f"case {i}: quantize must return whole numbers (integer codes): round x / scale")
        if q.min() < qmin or q.max() > qmax:
            raise AssertionError(f"case {i}: codes must lie in [qmin, qmax] = [{qmin}, {qmax}] ({bits}-bit {scheme}), "
                                 f"got values from {int(q.min())} to {int(q.max())}. Hint: clamp after adding the zero-point.")
        got = _as_float(call_student(dequantize, "dequantize", q.to(torch.int64), s_arg.clone(), z_arg.clone()), "dequantize(...)")
        if got.shape != x.shape:
            raise AssertionError(f"case {i}: dequantize returned shape {tuple(got.shape)}, expected {tuple(x.shape)}")
        step = scale.double().reshape(_shape_for(x, dim)) if dim is not None else scale.double().reshape(())
        off = ((got - want.double()).abs() > 1e-4 * step).sum().item()
        if off > x.numel() // 1000:          # PyTorch multiplies by 1/scale: a rare tie in a big tensor may differ
            wrong = (q - zp.reshape(_shape_for(x, dim)) if dim is not None else q - zp).abs().max()
            hint = ("dequantize is (q - zero_point) * scale" if torch.allclose(got, want.double(), atol=float(step.max()) * 1.01)
                    and wrong > 0 else "quantize is clamp(round(x / scale) + zero_point, qmin, qmax): round to the "
                    "nearest integer (torch.round), add the zero-point, then clamp")
            raise AssertionError(f"case {i}: {bits}-bit {scheme}, {'per tensor' if dim is None else f'per channel (dim={dim})'}, "
                                 f"shape {tuple(x.shape)}: dequantize(quantize(x)) differs from torch.fake_quantize_"
                                 f"{'per_tensor' if dim is None else 'per_channel'}_affine in {int(off)} of {x.numel()} values. Hint: {hint}.")

        # -- 2. qparams from min/max, and the half-step guarantee --
        bits, scheme = rng.randint(2, 8), rng.choice(["symmetric", "affine"])
        qmin, qmax = _qrange(bits, scheme)
        x = _tensor(rng)
        dim = rng.choice([None, None, rng.randrange(x.dim())])
        out = call_student(linear_qparams, "linear_qparams", x.clone(), bits, scheme, dim)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise AssertionError("linear_qparams must return a pair (scale, zero_point)")
        n = 1 if dim is None else x.shape[dim]
        s = _per(_as_float(out[0], "scale"), n, "scale", dim)
        z = _per(_as_float(out[1], "zero_point"), n, "zero_point", dim)
        ref_s, ref_z = _ref_qparams(x, bits, scheme, dim)
        label = f"case {i}: {bits}-bit {scheme}, {'per tensor' if dim is None else f'per channel (dim={dim})'}, x in [{float(x.min()):.3g}, {float(x.max()):.3g}]"
        if not torch.allclose(s, ref_s.double().reshape(-1), rtol=1e-5, atol=0):
            hint = ("symmetric: scale = max(|min|, |max|) / (2**(bits-1) - 1)" if scheme == "symmetric" else
                    "affine: widen [min, max] to contain 0, then scale = (max - min) / (2**bits - 1)")
            raise AssertionError(f"{label}: scale should be {ref_s.reshape(-1)[:4].tolist()}..., got {s[:4].tolist()}... Hint: {hint}.")
        if not torch.equal(z, ref_z.double().reshape(-1)):
            hint = ("symmetric quantisation has zero_point = 0" if scheme == "symmetric" else
                    "zero_point = round(qmin - min / scale), an integer in [qmin, qmax], so that 0.0 is exactly representable")
            raise AssertionError(f"{label}: zero_point should be {ref_z.reshape(-1)[:4].tolist()}..., got {z[:4].tolist()}... Hint: {hint}.")
        shape = _shape_for(x, dim)
        s_b, z_b = (s.float().reshape(shape), z.to(torch.int64).reshape(shape)) if dim is not None else (s.float().reshape(()), z.to(torch.int64).reshape(()))
        q = _as_float(call_student(quantize, "quantize", x.clone(), s_b, z_b, qmin, qmax), "quantize(...)")
        back = _as_float(call_student(dequantize, "dequantize", q.to(torch.int64), s_b, z_b), "dequantize(...)")
        inside = (x.double() >= (qmin - z_b.double()) * s_b.double()) & (x.double() <= (qmax - z_b.double()) * s_b.double())
        err = (back - x.double()).abs()
        half = (s_b.double() / 2).expand_as(err)
        bad = inside & (err > half * (1 + 1e-5) + 1e-12)
        if bad.any() or (err > 2 * half * (1 + 1e-5) + 1e-12).any():
            steps = float((err / (2 * half)).max())
            raise AssertionError(f"{label}: the round trip errs by up to {steps:.2f} of a quantisation step, more than "
                                 f"half a step. Hint: " + ("dequantize is (q - zero_point) * scale, and quantize adds the zero-point after "
                                 "rounding x / scale" if steps > 1 else "round to the nearest code, do not truncate") + ".")
        zero = _as_float(call_student(dequantize, "dequantize", call_student(quantize, "quantize", torch.zeros_like(x), s_b, z_b, qmin, qmax), s_b, z_b), "dequantize(...)")
        if zero.abs().max() > 0:
            raise AssertionError(f"{label}: 0.0 does not come back exactly as 0.0; the zero-point must be an integer code")
    print(f"✓ quantize / dequantize agree with torch.fake_quantize_per_tensor_affine and _per_channel_affine, and "
          f"linear_qparams is right, on {cases} random tensors each (symmetric and affine, 2-8 bits); error <= half a step")


def check_kmeans(kmeans, cases: int = 25) -> None:
    """Check ``kmeans(w, bits) -> (codebook, indices)``: 1-D k-means weight sharing (Deep Compression).

    ``codebook`` has at most ``2**bits`` values, ``indices`` the shape of ``w`` with integer entries
    into it, every weight is assigned to its *nearest* centroid, and the mean squared error is as low
    as Lloyd's algorithm from a linear initialisation gets (within 3%), well below a uniform grid's.
    """
    rng = hidden_rng(32)
    for i in range(cases):
        bits = rng.randint(1, 5)
        shape = (rng.randint(4, 40), rng.randint(4, 60))
        g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
        kind = rng.choice(["normal", "laplace", "bimodal"])
        w = torch.randn(shape, generator=g) * 0.1
        if kind == "laplace":
            w = torch.sign(w) * w.abs() ** 1.6 * 3
        elif kind == "bimodal":
            w = w + torch.where(torch.rand(shape, generator=g) < 0.5, -0.3, 0.3)
        out = call_student(kmeans, "kmeans", w.clone(), bits)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise AssertionError("kmeans must return a pair (codebook, indices)")
        codebook, idx = (torch.as_tensor(t) for t in out)
        codebook = codebook.detach().double().reshape(-1)
        label = f"case {i}: {tuple(shape)} {kind} weights, {bits} bits"
        if codebook.numel() > 2 ** bits or codebook.numel() == 0:
            raise AssertionError(f"{label}: the codebook has {codebook.numel()} entries, expected 1 to {2 ** bits} (2**bits)")
        if idx.shape != w.shape:
            raise AssertionError(f"{label}: indices have shape {tuple(idx.shape)}, expected the weight's {tuple(w.shape)}")
        if idx.is_floating_point() or idx.min() < 0 or idx.max() >= codebook.numel():
            raise AssertionError(f"{label}: indices must be integers in [0, {codebook.numel() - 1}]")
        approx = codebook[idx.long()]
        dist = (w.double().reshape(-1, 1) - codebook.reshape(1, -1)).abs()
        if ((approx.reshape(-1) - w.double().reshape(-1)).abs() > dist.min(1).values + 1e-9).any():
            raise AssertionError(f"{label}: some weights are not assigned to their nearest centroid. "
                                 f"Hint: after the last centroid update, assign again (argmin of |w - c|).")
        mse = float((approx - w.double()).pow(2).mean())
        ref, grid = _lloyd_mse(w, bits, iters=50), _lloyd_mse(w, bits, iters=0)
        if mse > ref * 1.03 + 1e-12:
            hint = ("it is no better than an evenly spaced grid: move each centroid to the mean of its weights, and repeat"
                    if mse >= grid * 0.99 else "run more Lloyd iterations (assign, then move centroids to the means) until nothing changes")
            raise AssertionError(f"{label}: mean squared error {mse:.3g} vs {ref:.3g} for k-means from a linear "
                                 f"initialisation. Hint: {hint}.")
    print(f"✓ kmeans: nearest-centroid indices, at most 2**bits centroids and a k-means-quality error on {cases} random layers (1-5 bits)")


def check_fake_quant_ste(fake_quant, cases: int = 40) -> None:
    """Check ``fake_quant(x, scale, zero_point, qmin, qmax) -> tensor``: forward equal to
    ``torch.fake_quantize_per_tensor_affine`` (or ``_per_channel_affine`` when ``scale`` has one
    value per channel, broadcast along dim 0), and its gradient with respect to ``x`` the clipped
    straight-through estimator: 1 where the value is inside the range, 0 where it was clamped,
    exactly as PyTorch's own fake-quantize op computes it."""
    rng = hidden_rng(33)
    for i in range(cases):
        bits, scheme = rng.randint(2, 8), rng.choice(["symmetric", "affine"])
        qmin, qmax = _qrange(bits, scheme)
        x = _tensor(rng, (rng.randint(2, 9), rng.randint(1, 7), rng.randint(1, 7)))
        per_channel = rng.random() < 0.4
        n = x.shape[0] if per_channel else 1
        amax = float(x.abs().max()) or 1.0
        scale = torch.tensor([amax / qmax * rng.uniform(0.2, 1.2) for _ in range(n)], dtype=torch.float32)
        zp = (torch.zeros(n, dtype=torch.int64) if scheme == "symmetric"
              else torch.tensor([rng.randint(qmin, qmax) for _ in range(n)], dtype=torch.int64))
        x_ref = x.clone().requires_grad_(True)
        if per_channel:
            want = torch.fake_quantize_per_channel_affine(x_ref, scale, zp.to(torch.int32), 0, qmin, qmax)
            s_arg, z_arg = scale.reshape(-1, 1, 1), zp.reshape(-1, 1, 1)
        else:
            want = torch.fake_quantize_per_tensor_affine(x_ref, float(scale), int(zp), qmin, qmax)
            s_arg, z_arg = scale.reshape(()), zp.reshape(())
        upstream = torch.randn(x.shape, generator=torch.Generator().manual_seed(i))
        want.backward(upstream)
        x_stu = x.clone().requires_grad_(True)
        got = call_student(fake_quant, "fake_quant", x_stu, s_arg, z_arg, qmin, qmax)
        label = f"case {i}: {bits}-bit {scheme}, {'per channel' if per_channel else 'per tensor'}"
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            raise AssertionError(f"{label}: fake_quant must return a tensor shaped like x {tuple(x.shape)}")
        step = float(scale.max())
        off = ((got.detach().double() - want.detach().double()).abs() > 1e-4 * step).sum().item()
        if off > x.numel() // 1000:
            raise AssertionError(f"{label}: the forward pass differs from torch.fake_quantize_"
                                 f"{'per_channel' if per_channel else 'per_tensor'}_affine in {int(off)} of {x.numel()} values. "
                                 f"Hint: forward is dequantize(quantize(x)) with rounding and clamping.")
        if not got.requires_grad:
            raise AssertionError(f"{label}: the output has no gradient: round() has zero gradient almost everywhere, "
                                 f"so pass the gradient straight through (torch.autograd.Function, or x + (fq - x).detach())")
        got.backward(upstream)
        if x_stu.grad is None:
            raise AssertionError(f"{label}: no gradient reached x; the straight-through estimator passes it on")
        g_want, g_got = x_ref.grad.double(), x_stu.grad.double()
        v = x.double() / (s_arg.double()) + z_arg.double()
        edge = ((v - qmin).abs() < 0.5 + 1e-3) | ((v - qmax).abs() < 0.5 + 1e-3)   # within half a step of the range's ends
        bad = ((g_got - g_want).abs() > 1e-6) & ~edge
        if bad.any():
            clipped = g_want.eq(0) & ~edge
            hint = ("outside the range (clamped values) the gradient must be 0: the clipped straight-through estimator"
                    if (g_got[clipped] != 0).any() else
                    "inside the range the gradient must pass unchanged (times 1): that is the straight-through estimator")
            raise AssertionError(f"{label}: the gradient with respect to x differs from PyTorch's fake-quantize gradient "
                                 f"at {int(bad.sum())} of {x.numel()} values. Hint: {hint}.")
    print(f"✓ fake_quant: forward equals torch.fake_quantize_per_tensor/per_channel_affine and its gradient is the "
          f"clipped straight-through estimator, on {cases} random tensors")


# ---- integer-only inference ------------------------------------------------------------------

def check_integer_linear(fixed_point_multiplier, integer_linear, cases: int = 30) -> None:
    """Check ``fixed_point_multiplier(m) -> (m0, shift)`` (``m == m0 * 2**-shift``, ``2**30 <= m0 < 2**31``)
    and ``integer_linear(x_q, x_scale, x_zp, w_q, w_scale, bias, y_scale, y_zp) -> uint8 codes``
    bit for bit against ONNX Runtime's ``QLinearConv`` on hidden layers."""
    from ..quantization import integer as ref
    rng = hidden_rng(33)
    ms = [float(np.float32(rng.uniform(1e-6, 0.999))) for _ in range(200)] + [0.5, 0.75, float(np.float32(0.999999))]
    for m in ms:
        got = call_student(fixed_point_multiplier, "fixed_point_multiplier", torch.tensor([m], dtype=torch.float32))
        if not (isinstance(got, tuple) and len(got) == 2):
            raise AssertionError("fixed_point_multiplier must return a tuple (m0, shift) of integer tensors")
        m0, shift = (torch.as_tensor(t).reshape(-1) for t in got)
        if m0.is_floating_point() or shift.is_floating_point():
            raise AssertionError(f"m = {m!r}: m0 and shift must be integer tensors (torch.int64), got {m0.dtype}, {shift.dtype}")
        m0, shift = int(m0[0]), int(shift[0])
        if not 2 ** 30 <= m0 < 2 ** 31:
            raise AssertionError(f"m = {m!r}: m0 = {m0} is not a 31-bit integer in [2**30, 2**31): normalise m to "
                                 f"[0.5, 1) first (torch.frexp), then scale by 2**31")
        if m0 * 2.0 ** -shift != m:
            raise AssertionError(f"m = {m!r}: m0 * 2**-shift = {m0 * 2.0 ** -shift!r}, not m: a float32 m has a 24-bit "
                                 f"mantissa, so the 31-bit m0 can represent it exactly")
    total = 0
    for i, c in enumerate(ref.layer_cases(cases, rng)):
        where = (f"case {i} (batch {c['x_q'].shape[0]}, {c['w_q'].shape[1]} -> {c['w_q'].shape[0]} features, "
                 f"x_zp={c['x_zp']}, y_zp={c['y_zp']})")
        keep = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in c.items()}
        got = call_student(integer_linear, "integer_linear", c["x_q"], c["x_scale"], c["x_zp"], c["w_q"], c["w_scale"],
                           c["bias"], c["y_scale"], c["y_zp"])
        if any(isinstance(v, torch.Tensor) and not torch.equal(v, c[k]) for k, v in keep.items()):
            raise AssertionError(f"{where}: your function changed its inputs; compute on copies")
        if not isinstance(got, torch.Tensor) or got.dtype != torch.uint8:
            raise AssertionError(f"{where}: return a torch.uint8 tensor of output codes, got "
                                 f"{got.dtype if isinstance(got, torch.Tensor) else type(got).__name__}")
        b_q = ref.quantize_bias(c["bias"], c["x_scale"], c["w_scale"])
        want = ref.ort_qlinear(c["x_q"], c["x_scale"], c["x_zp"], c["w_q"], c["w_scale"], b_q, c["y_scale"], c["y_zp"])
        if tuple(got.shape) != tuple(want.shape):
            raise AssertionError(f"{where}: output shape {tuple(got.shape)}, expected {tuple(want.shape)} (batch, out features)")
        wrong = got != want
        if bool(wrong.any()):
            m0, shift = ref.fixed_point_multiplier(ref.float32_multiplier(c["x_scale"], c["w_scale"], c["y_scale"]))
            acc = (c["x_q"].long() - c["x_zp"]) @ c["w_q"].long().T + b_q.long()
            variants = {
                "round half to even, not half up: torch.round, or add 2**(shift-1) and fix the exact ties":
                    (torch.bitwise_right_shift(acc * m0 + torch.bitwise_left_shift(torch.ones_like(shift), shift - 1), shift)
                     + c["y_zp"]),
                "round to nearest; a plain >> shift floors": torch.bitwise_right_shift(acc * m0, shift) + c["y_zp"],
                "add the bias, quantized at s_x * s_w[j]: round(bias / (x_scale * w_scale))":
                    ref.rounding_shift((acc - b_q.long()) * m0, shift) + c["y_zp"],
                "subtract x_zp from the input codes before the products":
                    ref.rounding_shift((c["x_q"].long() @ c["w_q"].long().T + b_q.long()) * m0, shift) + c["y_zp"],
                "add y_zp after the requantization": ref.rounding_shift(acc * m0, shift)}
            hint = next((h for h, v in variants.items() if torch.equal(v.clamp(0, 255).to(torch.uint8), got)),
                        "accumulate (x_q - x_zp) * w_q + b_q in int64, multiply by m0, shift right by `shift` rounding "
                        "half to even, add y_zp, clamp to [0, 255]")
            n, j = (int(t) for t in wrong.nonzero()[0])
            raise AssertionError(f"{where}: {int(wrong.sum())} of {got.numel()} codes differ from ONNX Runtime's "
                                 f"(first at [{n}, {j}]: {int(got[n, j])}, expected {int(want[n, j])}). Hint: {hint}.")
        total += got.numel()
    print(f"✓ fixed_point_multiplier is exact on {len(ms)} multipliers; integer_linear matches ONNX Runtime's "
          f"QLinearConv bit for bit on {total:,} output codes of {cases} hidden layers")
