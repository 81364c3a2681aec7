"""Integer-only inference (Jacob et al., CVPR 2018): what an int8 runtime computes for one layer.

A quantized layer receives uint8 activation codes ``x_q`` (scale ``s_x``, zero-point ``z_x``) and
int8 weight codes ``w_q`` (symmetric, one scale ``s_w[j]`` per output channel). Everything in the
inner loop is integer:

1. the bias is quantized once, at the accumulator's scale ``s_x s_w[j]``: ``b_q = round(b / (s_x s_w[j]))``
   (int32);
2. ``acc[n, j] = sum_k (x_q[n, k] - z_x) * w_q[j, k] + b_q[j]``, accumulated in int32;
3. the output scale ``s_y`` needs ``y = acc * M + z_y`` with ``M = s_x s_w[j] / s_y`` (< 1): a real
   number, applied as an integer multiply and a shift, ``M = M0 * 2**-shift`` with ``M0`` a 31-bit
   integer in ``[2**30, 2**31)``; the product is rounded half to even and saturated to ``[0, 255]``.

ONNX Runtime's ``QLinearConv`` computes ``M`` in float32 (``s_x * s_w[j] / s_y``) and rescales in
float32; a float32 ``M`` has a 24-bit mantissa, so ``M0 * 2**-shift`` represents it exactly and the
two agree bit for bit wherever the float32 product of ``acc`` and ``M`` is exact (``ort_qlinear``
runs the reference; the tests show the cases used agree everywhere).
"""
from __future__ import annotations

import math

import numpy as np
import torch


def float32_multiplier(x_scale, w_scale, y_scale) -> torch.Tensor:
    """``M = s_x * s_w / s_y`` per output channel, in float32 as ONNX Runtime computes it."""
    xs = torch.as_tensor(x_scale, dtype=torch.float32)
    return (xs * torch.as_tensor(w_scale, dtype=torch.float32)) / torch.as_tensor(y_scale, dtype=torch.float32)


def fixed_point_multiplier(m) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M0, shift)`` (int64 tensors) with ``m == M0 * 2**-shift`` and ``2**30 <= M0 < 2**31``."""
    m = torch.as_tensor(m, dtype=torch.float64).reshape(-1)
    if not bool(((m > 0) & (m < 1)).all()):
        raise ValueError("the requantization multiplier s_x * s_w / s_y must be in (0, 1): check the scales")
    mant, exp = torch.frexp(m)                      # m = mant * 2**exp, mant in [0.5, 1)
    m0 = torch.round(mant * 2.0 ** 31).to(torch.int64)
    shift = (31 - exp).to(torch.int64)
    over = m0 == 2 ** 31                            # rounding up to 2**31: one bit less
    m0, shift = torch.where(over, m0 // 2, m0), torch.where(over, shift - 1, shift)
    return m0, shift


def rounding_shift(p: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``p / 2**shift`` rounded half to even, in integers (int64)."""
    shift = torch.as_tensor(shift, dtype=torch.int64)
    q = torch.bitwise_right_shift(p, shift)                      # floor
    r = p - torch.bitwise_left_shift(q, shift)
    half = torch.bitwise_left_shift(torch.ones_like(shift), shift - 1)
    return q + ((r > half) | ((r == half) & (q % 2 == 1))).to(torch.int64)


def quantize_bias(bias, x_scale, w_scale) -> torch.Tensor:
    """int32 bias at the accumulator's scale ``s_x * s_w[j]`` (float64 arithmetic, rounded half to even)."""
    scale = torch.as_tensor(x_scale, dtype=torch.float64) * torch.as_tensor(w_scale, dtype=torch.float64)
    return torch.round(torch.as_tensor(bias, dtype=torch.float64) / scale).to(torch.int32)


def integer_linear(x_q, x_zp, w_q, b_q, m0, shift, y_zp) -> torch.Tensor:
    """uint8 output codes of an integer-only Linear layer: int32 accumulation, fixed-point requantization."""
    acc = (x_q.to(torch.int64) - int(x_zp)) @ w_q.to(torch.int64).T + b_q.to(torch.int64)
    y = rounding_shift(acc * m0, shift) + int(y_zp)
    return y.clamp(0, 255).to(torch.uint8)


def ort_qlinear(x_q, x_scale, x_zp, w_q, w_scale, b_q, y_scale, y_zp) -> torch.Tensor:
    """The same layer run by ONNX Runtime's ``QLinearConv`` (a 1x1 convolution on N x K x 1 x 1)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    x = np.ascontiguousarray(x_q.numpy().astype(np.uint8)[:, :, None, None])
    w = np.ascontiguousarray(w_q.numpy().astype(np.int8)[:, :, None, None])
    inits = [numpy_helper.from_array(np.array(x_scale, dtype=np.float32), "xs"),
             numpy_helper.from_array(np.array(x_zp, dtype=np.uint8), "xzp"),
             numpy_helper.from_array(w, "w"),
             numpy_helper.from_array(np.asarray(w_scale, dtype=np.float32), "ws"),
             numpy_helper.from_array(np.zeros(w.shape[0], dtype=np.int8), "wzp"),
             numpy_helper.from_array(np.array(y_scale, dtype=np.float32), "ys"),
             numpy_helper.from_array(np.array(y_zp, dtype=np.uint8), "yzp"),
             numpy_helper.from_array(b_q.numpy().astype(np.int32), "b")]
    node = helper.make_node("QLinearConv", ["x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp", "b"], ["y"])
    graph = helper.make_graph([node], "qlinear", [helper.make_tensor_value_info("x", TensorProto.UINT8, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return torch.from_numpy(sess.run(None, {"x": x})[0].reshape(x.shape[0], -1))


def layer_cases(cases: int, rng) -> list[dict]:
    """Random quantized Linear layers and inputs drawn from ``rng`` (a ``random.Random``), with
    calibration-like scales: the hidden cases of the check and the tests' cases."""
    out = []
    for _ in range(cases):
        g = torch.Generator().manual_seed(rng.randrange(2 ** 31))
        n, k, m = rng.randint(1, 8), rng.randint(1, 300), rng.randint(1, 48)
        x_scale = float(np.float32(rng.uniform(0.002, 0.05)))
        w_scale = (torch.rand(m, generator=g) * 0.02 + 0.0005).to(torch.float32)
        bias = (torch.randn(m, generator=g) * rng.choice([0.0, 0.05, 1.0])).to(torch.float32)
        x_q = torch.randint(0, 256, (n, k), generator=g, dtype=torch.int64).to(torch.uint8)
        x_zp = rng.choice([0, 128, rng.randint(0, 255)])
        w_q = torch.randint(-127, 128, (m, k), generator=g, dtype=torch.int64).to(torch.int8)
        # the output range calibrated on this batch (a little clipping at one end, as real calibration gives)
        real = ((x_q.double() - x_zp) * x_scale) @ (w_q.double() * w_scale.double()[:, None]).T + bias.double()
        lo, hi = min(float(real.min()), 0.0), max(float(real.max()), 0.0) * rng.choice([1.0, 1.0, 0.8])
        y_scale = float(np.float32(max(hi - lo, 1e-3) / 255))
        y_zp = int(min(max(round(-lo / y_scale), 0), 255))
        out.append({"x_q": x_q, "x_scale": x_scale, "x_zp": x_zp, "w_q": w_q, "w_scale": w_scale, "bias": bias,
                    "y_scale": y_scale, "y_zp": y_zp})
    return out
