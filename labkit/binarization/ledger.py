"""The honest speedup ledger: per binarized layer, the three numbers that get confused.

- ``op ratio``: the layer's multiply-accumulates over the 64-bit XNOR+popcount word operations
  that replace them (``MACs / (outputs * ceil(k / 64))``): the number papers quote ("58x").
- ``bytes ratio``: fp32 weight bytes over packed bits + scales (about 32x).
- ``measured``: the packed layer's speedup over the fp32 PyTorch layer (binarizing and packing its
  input included), timed together at the same thread count (``labkit.metrics.compare_latency``, the
  lab's timing protocol): the median of paired per-round ratios with its 95 % interval, or "≈1
  (within noise)"; the run's A/A noise floor is printed under the table, one line per run;
  ``vs deployed``: the same against the layer's deployed fp32 form (``labkit.deploy.deployed_forms``:
  the fastest of eager PyTorch, channels-last PyTorch and ONNX Runtime in a short choosing run at that
  batch size; ``deployed vs fp32`` says whether that form beat the eager layer in the ledger's own run:
  for a tiny layer ONNX Runtime's per-call overhead can cost more than the arithmetic).
- ``roofline_goals(rows)``: the roofline reading of the ledger as verdicts computed from its numbers:
  what the roofline expects of each row (from its weight reuse, a count) and whether this run's
  measured speedup fits it ("met (timed)", "NOT met (timed)" or "undecided (within noise)").
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import metrics, speedups
from .kernels import WORD, packed_model
from .layers import binary_layers, labels
from .storage import layer_bytes


def _input_shapes(model: nn.Module, names) -> dict[str, tuple]:
    shapes, hooks = {}, []
    for n in names:
        hooks.append(model.get_submodule(n).register_forward_hook(
            lambda m, inp, out, n=n: shapes.__setitem__(n, (tuple(inp[0].shape[1:]), tuple(out.shape[1:])))))
    with torch.inference_mode():
        model.eval()(torch.zeros(*metrics.MNIST_INPUT))
    for h in hooks:
        h.remove()
    return shapes


def reuse(row: dict) -> int:
    """How many times the fp32 layer uses each weight in one call: its MACs over its weights (output
    positions x batch size; 1 for a Linear layer at batch 1). A count, not a timing."""
    weights = row["fp32_bytes"] // 4
    return row["macs"] // weights


def roofline_goals(rows: list[dict]) -> list[dict]:
    """The roofline reading of ``ledger`` rows as ``labkit.verdict.goal`` rows, one expectation per row:

    - a layer that uses each weight once (reuse 1: a Linear layer at batch 1) is memory-bound in fp32:
      the packed kernel reads ``bytes ratio`` times fewer weight bytes, so the roofline expects it to
      be faster than the fp32 layer (measured speedup > 1);
    - a layer that reuses each weight many times is compute-bound in fp32, where PyTorch's vector
      FMAs retire many MACs per instruction and the scalar popcount kernel one 64-bit word: the
      roofline expects the measured speedup to stay below the ``op ratio``, the count papers quote.

    The measured speedups carry their intervals, so the verdicts are "met (timed)", "NOT met (timed)"
    or "undecided (within noise)" (masked for nbval); the names and targets are counts."""
    from .. import verdict
    out = []
    for r in rows:
        n = reuse(r)
        sp = speedups.as_dict(r)
        where = f"{r['layer']}, batch {r['batch_size']}, each fp32 weight used {n:,}x"
        if n <= 1:
            out.append(verdict.goal(f"{where} (memory-bound): packed faster than fp32", sp, 1.0, ">"))
        else:
            out.append(verdict.goal(f"{where} (compute-bound): packed below the op ratio", sp,
                                    round(r["op_ratio"], 2), "<"))
    return out


def _float_twin(layer: nn.Module) -> nn.Module:
    """A plain fp32 Conv2d / Linear of the same shape and (latent) weights."""
    if isinstance(layer, nn.Conv2d):
        twin = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                         bias=layer.bias is not None)
    else:
        twin = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    twin.load_state_dict(layer.state_dict())
    return twin.eval()


def ledger(model: nn.Module, batch_sizes=(1, 64), repeats: int = 30, packed: nn.Module | None = None,
           deployed: bool = True) -> list[dict]:
    """One row per (binarized layer, batch size) of an XNOR ``model``: ``layer`` (label), ``shape``,
    ``batch_size``, ``macs``, ``word_ops``, ``op_ratio``, ``fp32_bytes``, ``packed_bytes``, ``bytes_ratio``,
    ``fp32_ms``, ``packed_ms``, ``speedup`` (the paired median of ``t_fp32 / t_packed``, > 1: the packed
    layer is faster) with ``speedup_lo``, ``speedup_hi`` (its 95 % interval), ``within_noise``,
    ``noise_floor`` and ``floor_line`` (``labkit.speedups.fields``); with ``deployed``, also
    ``deployed_ms``, ``deployed_runtime``, ``speedup_vs_deployed`` (``_lo``, ``_hi``) and
    ``within_noise_vs_deployed``, and the deployed form against the eager fp32 layer in the same run:
    ``speedup_deployed_vs_fp32`` (``_lo``, ``_hi``) and ``within_noise_deployed_vs_fp32``."""
    from ..deploy import deployed_forms
    packed = packed or packed_model(model)
    lab, bl = labels(model), binary_layers(model)
    shapes = _input_shapes(model, bl)
    sizes = {r["layer"]: r for r in layer_bytes(model)}
    rows = []
    for name, layer in bl.items():
        (inp, out) = shapes[name]
        k = layer.weight[0].numel()
        outputs = math.prod(out)                                  # per image: N * Ho * Wo
        macs = outputs * k
        word_ops = outputs * math.ceil(k / WORD)
        fp, pk = _float_twin(layer), packed.get_submodule(name)
        forms = deployed_forms({"fp32": fp}, batch_sizes, input_size=(1, *inp)) if deployed else {}
        for b in batch_sizes:
            timed = {"fp32": fp, "packed": pk, **({"deployed": forms[b]["fp32"]} if deployed else {})}
            t = metrics.compare_latency(timed, (b, *inp), repeats=repeats)
            rows.append({"layer": lab[name], "shape": "x".join(map(str, inp)) + " -> " + "x".join(map(str, out)),
                         "batch_size": b, "macs": macs * b, "word_ops": word_ops * b, "op_ratio": macs / word_ops,
                         "fp32_bytes": sizes[name]["fp32_bytes"], "packed_bytes": sizes[name]["bytes"],
                         "bytes_ratio": sizes[name]["fp32_bytes"] / sizes[name]["bytes"],
                         "fp32_ms": t["fp32"].median_ms, "packed_ms": t["packed"].median_ms,
                         **speedups.fields(t, "packed", "fp32")})
            if deployed:
                rows[-1].update(deployed_ms=t["deployed"].median_ms, deployed_runtime=forms[b]["fp32"].runtime,
                                **speedups.fields(t, "packed", "deployed", key="speedup_vs_deployed"),
                                **speedups.fields(t, "deployed", "fp32", key="speedup_deployed_vs_fp32"))
    return rows


def ledger_table(rows: list[dict]) -> str:
    """The ledger as text: op ratio, bytes ratio and the measured speedup (with its interval, or
    "≈1 (within noise)") side by side; under it, each timing run's A/A noise floor."""
    from ..text import text_table
    # the timings first, the ratios last: a ratio followed by a timing would not be masked for nbval
    shown = [{"layer": r["layer"], "shape": r["shape"], "batch": r["batch_size"], "op ratio": r["op_ratio"],
              "bytes ratio": r["bytes_ratio"], "fp32": f"{r['fp32_ms']:8.3f} ms",
              **({"deployed fp32": f"{r['deployed_ms']:8.3f} ms"} if "deployed_ms" in r else {}),
              "packed": f"{r['packed_ms']:8.3f} ms", "measured": speedups.cell(r),
              **({"vs deployed": speedups.cell(r, "speedup_vs_deployed")} if "deployed_ms" in r else {})}
             for r in rows]
    dep = bool(rows) and "deployed_ms" in rows[0]
    cols = {"layer": "s", "shape": "s", "batch": "d", "op ratio": ".1f", "bytes ratio": ".2f", "fp32": "s",
            **({"deployed fp32": "s"} if dep else {}), "packed": "s", "measured": "s",
            **({"vs deployed": "s"} if dep else {})}
    floors = speedups.floor_lines(rows, lambda r: f"{r['layer']}, batch {r['batch_size']}")
    return "\n".join([text_table(shown, cols), "measured: median of paired per-round ratios [95 % bootstrap interval]",
                      *floors])
