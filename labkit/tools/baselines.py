"""The fp32 baselines side by side, and int8 against them: ``python -m labkit.tools.baselines``.

Times the zoo's CNN (or ``--model``) as trained (eager), with BatchNorm folded, folded +
channels-last, in ONNX Runtime fp32, ``labkit.deploy.deployed`` ("auto": what the lab compares
with), optionally ``torch.compile``, and ONNX Runtime's static int8, all interleaved in one run
at each batch size; prints the medians and the ratios to the eager and the deployed fp32 model.
Reported, not asserted: run it under ``ATEN_CPU_CAPABILITY=avx2`` or ``DNNL_MAX_CPU_ISA=AVX2``
to see what another CPU's kernels would do.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import torch


def table(model_name: str = "cnn", batch_sizes=(1, 256), repeats: int = 20, compile_too: bool = False) -> str:
    from .. import deploy, layers, metrics, zoo
    from ..text import text_table
    model = zoo.load(model_name)
    folder = tempfile.mkdtemp(prefix="labkit-baselines-")
    forms = deploy.candidates(model, folder)
    variants = {"eager (as trained)": model, "BatchNorm folded": layers.fold_batchnorm(model),
                "folded + channels_last": forms["torch"], "onnxruntime fp32": forms["onnxruntime"]}
    if compile_too:
        variants["torch.compile"] = deploy.compiled(model, batch_sizes)
    variants["onnxruntime int8"] = deploy.to_runtime(model, folder, "int8")
    rows, floors = [], []
    for b in batch_sizes:
        chosen = deploy.fastest(forms, b)
        times = metrics.compare_latency(variants, (b, 1, 28, 28), repeats=repeats if b == 1 else max(5, repeats // 2))
        dep = {id(forms["eager"]): "eager (as trained)", id(forms["torch"]): "folded + channels_last",
               id(forms["onnxruntime"]): "onnxruntime fp32"}[id(chosen)]
        for name, t in times.items():
            rows.append({"batch": b, "form": name + ("  <- deployed" if name == dep else ""), "median": f"{t.median_ms:.3f} ms",
                         "vs eager": times.cell(name, "eager (as trained)"), "vs deployed": times.cell(name, dep)})
        floors.append(f"batch {b}: " + times.floor_line())
    caps = {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA") if k in os.environ}
    head = (f"{model_name}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
            f"{'emulated: ' + str(caps) if caps else 'native CPU kernels'}")
    return "\n".join([head, text_table(rows, {"batch": "d", "form": "s", "median": "s", "vs eager": "s", "vs deployed": "s"}),
                      *floors])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.tools.baselines", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn", help="a zoo model (python -m labkit.zoo list)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (needs a C++ compiler)")
    args = parser.parse_args(argv)
    from ..env import setup
    setup()
    print(table(args.model, repeats=args.repeats, compile_too=args.compile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
