"""Deployment on the CPU: the deployed fp32 baseline, and real int8 through ONNX Runtime.

The deployed fp32 baseline (the honest reference for every speedup):

- ``deployed(model, runtime="auto", batch_size)``: the same weights as a deployment runs them,
  ``"torch"`` (``torch_deployed``: BatchNorm folded, channels-last), ``"onnxruntime"`` (the exported
  file in ONNX Runtime), or ``"auto"``: the fastest of those and the eager model, timed here
  (``candidates``, ``fastest``);
  ``deployed_forms(models, batch_sizes)`` for several models at once.
- ``compiled(model)``: ``torch.compile`` of the torch form, with what its first compile cost.

Real int8 through a maintained runtime: ONNX Runtime, static quantisation.

Fake quantisation (``labkit.quantization.ptq``) only *simulates* integers in fp32. Speed comes from a runtime
with integer kernels. ``torch.ao.quantization`` is deprecated; torchao's int8 configs target
``Linear`` layers (language models), while the lab's CNN spends 96% of its MACs in convolutions.
So: export to ONNX, then ONNX Runtime's static post-training quantisation in the QDQ format
(``quantize_static``; calibrated activation ranges, int8 per-channel weights, uint8 activations),
which the CPU provider runs as ``QLinearConv`` / ``QGemm`` integer kernels.

- ``export_onnx(model, path)``: ``torch.onnx.export(dynamo=True)`` (BatchNorm folded by the
  exporter), batch dimension dynamic, weights inside the one file.
- ``quantize_onnx(fp32_path, int8_path, batches)``: calibrate on ``batches`` (min/max) and write
  the int8 model. ``reduce_range=True`` keeps weights in 7 bits: on x86 CPUs without VNNI
  (AVX2 only) the u8 x s8 multiply adds pairs into int16 and can saturate with full 8-bit
  weights (ONNX Runtime's quantisation guide); on VNNI/ARM hardware pass ``reduce_range=False``.
- ``OrtModule``: an ``nn.Module`` around an inference session (CPU provider, fixed intra-op
  threads, sequential, no spin-waiting), so ``labkit.train.evaluate`` and ``labkit.metrics.compare_latency``
  measure it exactly like a PyTorch model.
- ``to_runtime(model, folder, precision)``: all of it in one call.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import validate

RUNTIMES = ("onnxruntime",)
PRECISIONS = ("fp32", "int8")
INPUT = "x"
OUTPUT = "logits"


def _quiet() -> None:
    """Silence the known chatter of the exporter and the quantiser at its source."""
    for name in ("onnxscript", "onnx_ir", "torch.onnx", "torch.export", "torch._export"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"onnxscript.*|onnx_ir.*|torch\.onnx.*")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"onnxscript.*|onnx_ir.*|torch\.onnx.*")


def export_onnx(model: nn.Module, path, input_size=(1, 1, 28, 28)) -> Path:
    """Write ``model`` (eval mode, on the CPU) as one ONNX file with a dynamic batch; returns the path."""
    import copy
    _quiet()
    model = copy.deepcopy(validate.module(model)).cpu().eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.randn(*input_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                          external_data=False, optimize=True, verbose=False, report=False)
    _strip_debug_info(path)
    return path


def _strip_debug_info(path: Path) -> None:
    """Drop the exporter's per-node debug metadata (Python stack traces with this machine's paths,
    FX node text, module names): a deployment does not ship it, and without it the file is the
    same bytes on every machine."""
    import onnx
    model = onnx.load(str(path))
    for items in (model.graph.node, model.graph.value_info, model.graph.input, model.graph.output,
                  model.graph.initializer):
        for item in items:
            del item.metadata_props[:]
    onnx.save(model, str(path))


def session(path, threads: int | None = None):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (default: torch's count)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads or torch.get_num_threads())
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3                       # errors only
    # No spin-waiting after a run: spinning threads would steal the cores from whatever runs next
    # (PyTorch, timed interleaved with this session) and bias the comparison.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class OrtModule(nn.Module):
    """An ONNX Runtime session behind ``nn.Module``: ``forward`` takes and returns CPU tensors."""

    bytes_from_file = True      # labkit.points.measure counts the file's bytes: what this runtime loads
    runtime = "onnxruntime"     # a deployed form (labkit.points.form_of): a runtime a deployment runs

    def __init__(self, path, threads: int | None = None):
        super().__init__()
        self.path = Path(path)
        self.session = session(self.path, threads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {INPUT: x.detach().cpu().float().numpy()})[0]
        return torch.from_numpy(out)

    def file_bytes(self) -> int:
        """Bytes of the ONNX file: what this runtime loads (weights, scales, zero-points, graph)."""
        return self.path.stat().st_size

    def extra_repr(self) -> str:
        return f"{self.path.name}, {self.file_bytes():,} bytes"


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over (x, y) batches."""

    def __init__(self, batches):
        self._it = iter([x.detach().cpu().float().numpy() for x, *_ in batches])

    def get_next(self):
        x = next(self._it, None)
        return None if x is None else {INPUT: x}


def quantize_onnx(fp32_path, int8_path, batches, per_channel: bool = True, reduce_range: bool = True) -> Path:
    """Static int8 quantisation of an ONNX model (QDQ format, min/max calibration on ``batches``)."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    fp32_path, int8_path = Path(fp32_path), Path(int8_path)
    pre = int8_path.with_name(int8_path.stem + ".pre.onnx")
    quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)  # shape inference + graph clean-up, as recommended

    class Reader(_Reader, CalibrationDataReader):
        pass

    quantize_static(str(pre), str(int8_path), Reader(batches), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    reduce_range=reduce_range, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    pre.unlink(missing_ok=True)
    return int8_path


def to_runtime(model: nn.Module, folder, precision: str = "int8", runtime: str = "onnxruntime",
               batches=None, threads: int | None = None, name: str = "model") -> OrtModule:
    """``model`` exported to ``folder/name.onnx`` and, for ``precision="int8"``, statically quantised
    (calibrated on ``batches``, default the first 512 training images) to ``folder/name.int8.onnx``;
    returned as an ``OrtModule`` running on the CPU with ``threads`` intra-op threads."""
    validate.choice(runtime, RUNTIMES, "runtime")
    validate.choice(precision, PRECISIONS, "precision")
    folder = Path(folder)
    fp32 = folder / f"{name}.onnx"
    if not fp32.exists():
        export_onnx(model, fp32)
    if precision == "fp32":
        out = OrtModule(fp32, threads)
    else:
        if batches is None:
            from .data import subset
            batches = subset("calibration", 128)
        out = OrtModule(quantize_onnx(fp32, folder / f"{name}.int8.onnx", batches), threads)
    _count_as(out, model)
    return out


def onnx_initializer_bytes(path) -> dict:
    """Bytes of the stored tensors of an ONNX file by kind: ``weights`` (int8 or fp32 weight
    tensors), ``scales`` (fp32), ``zero_points`` (int8/uint8), ``bias``, ``other``; plus ``file``."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(path))
    out = {"weights": 0, "scales": 0, "zero_points": 0, "bias": 0, "other": 0}
    for t in model.graph.initializer:
        a = numpy_helper.to_array(t)
        name = t.name.lower()
        kind = ("zero_points" if "zero_point" in name else "scales" if name.endswith("scale") or "_scale" in name
                else "bias" if a.ndim == 1 and a.dtype in (np.float32, np.int32) else "weights" if a.ndim >= 2 else "other")
        out[kind] += a.nbytes
    out["file"] = Path(path).stat().st_size
    return out


# --- The deployed fp32 baseline --------------------------------------------------------------------
# The model as trained (eager PyTorch, BatchNorm unfused, NCHW) is the slowest fp32 form of itself.
# A deployment folds BatchNorm into the convolutions and picks a memory layout and a runtime: free
# speed, no weight changed. Speedups of compressed models are honest only against that form.

DEPLOY_RUNTIMES = ("torch", "onnxruntime", "auto")
EAGER = "torch eager (as trained)"


class ChannelsLast(nn.Module):
    """A model whose convolutions run in the channels-last (NHWC) layout: the input is converted
    once, the weights are stored NHWC, and every layer after keeps the layout (oneDNN's native one
    on x86 CPUs; pooling and ReLU vectorise over channels)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x)


def torch_deployed(model: nn.Module) -> nn.Module:
    """The fp32 model as PyTorch would deploy it: a copy in eval mode, every Conv2d -> BatchNorm2d
    folded (``labkit.layers.fold_batchnorm``), the folded ``Identity`` layers dropped, channels-last."""
    from .layers import fold_batchnorm
    folded = fold_batchnorm(model)
    for seq in [m for m in folded.modules() if isinstance(m, nn.Sequential)]:
        for name in [n for n, m in seq._modules.items() if isinstance(m, nn.Identity)]:
            del seq._modules[name]
    return ChannelsLast(folded).eval()


def candidates(model: nn.Module, folder=None, threads: int | None = None, input_size=(1, 1, 28, 28)) -> dict:
    """Every fp32 form a deployment of ``model`` could run: ``{"eager": the model as trained (a copy, eval
    mode), "torch": torch_deployed(model), "onnxruntime": OrtModule}``, each with a ``runtime``
    attribute; ``folder`` keeps the ONNX file (default: a temporary folder). Eager is a candidate:
    for a tiny layer ONNX Runtime's per-call overhead can cost more than the arithmetic."""
    import copy
    import tempfile
    validate.module(model)
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="labkit-deploy-"))
    forms = {"eager": copy.deepcopy(model).eval(), "torch": torch_deployed(model), "onnxruntime": OrtModule(
        export_onnx(model, folder / "deployed.fp32.onnx", input_size=input_size), threads)}
    forms["eager"].runtime = EAGER
    forms["torch"].runtime = "torch (BatchNorm folded, channels_last)"
    forms["onnxruntime"].runtime = "onnxruntime fp32"
    _count_as(forms["onnxruntime"], forms["torch"])
    forms["onnxruntime"].bytes_from_file = False    # sized like the torch form: the same weights, whichever wins
    _count_as(forms["eager"], forms["torch"])       # (BatchNorm folded: what a deployment stores, whichever runs)
    return forms


def fastest(forms: dict, batch_size: int = 1, repeats: int = 20, input_size=(1, 1, 28, 28)) -> nn.Module:
    """The fastest of ``forms`` (e.g. ``candidates(model)``), timed together at ``batch_size`` here
    (``labkit.timing``: a choice, not a claim, so ``repeats`` rounds and no busy-machine guard); its
    ``candidates`` attribute holds every form's median ms."""
    from .metrics import compare_latency
    if not forms:
        raise ValueError("fastest needs at least one form: pass candidates(model)")
    times = compare_latency(forms, (batch_size, *tuple(input_size)[1:]), repeats=repeats, control=None,
                           extend=False, guard=False)
    best = min(times, key=lambda k: times[k].median_ms)
    chosen = forms[best]
    chosen.candidates = {k: t.median_ms for k, t in times.items()}
    return chosen


def deployed(model: nn.Module, runtime: str = "auto", batch_size: int = 1, folder=None, threads: int | None = None,
             input_size=(1, 1, 28, 28), repeats: int = 20) -> nn.Module:
    """The fp32 form of ``model`` a deployment on this machine would run, for any model (dense,
    pruned, factorised, ...); its weights are the same, only the runtime changes.

    ``runtime``: ``"torch"`` (``torch_deployed``: BatchNorm folded, channels-last), ``"onnxruntime"``
    (the exported ONNX file, whose exporter folds BatchNorm, run by ONNX Runtime's CPU provider with
    its graph optimisations and ``threads`` threads), or ``"auto"``: those two and the eager model
    itself (``candidates``), timed together at ``batch_size`` (``fastest``), and the fastest returned. The returned module's
    ``runtime`` names what it is; with ``"auto"``, ``candidates`` holds both times in ms.
    ``folder`` keeps the ONNX file (default: a temporary folder)."""
    validate.choice(runtime, DEPLOY_RUNTIMES, "runtime")
    validate.module(model)
    if runtime == "torch":
        built = torch_deployed(model)
        built.runtime = "torch (BatchNorm folded, channels_last)"
        return built
    if runtime == "onnxruntime":
        return candidates(model, folder, threads, input_size)["onnxruntime"]
    return fastest(candidates(model, folder, threads, input_size), batch_size, repeats, input_size)


def deployed_forms(models: dict, batch_sizes=(1, 256), repeats: int = 20, input_size=(1, 1, 28, 28)) -> dict:
    """``{batch_size: {name: deployed form}}`` for several models: each exported once (``candidates``),
    and the faster form chosen per batch size (``fastest``)."""
    forms = {name: candidates(m, input_size=input_size) for name, m in models.items()}
    return {b: {name: fastest(f, b, repeats, input_size) for name, f in forms.items()} for b in batch_sizes}


def compiled(model: nn.Module, batch_sizes=(1,), input_size=(1, 1, 28, 28)) -> nn.Module:
    """``torch.compile`` of ``torch_deployed(model)`` (the inductor backend writes and compiles C++
    kernels: it needs a C++ compiler), compiled now for each of ``batch_sizes``; ``compile_s`` is what
    that first compilation cost in seconds, ``runtime`` names the form."""
    import shutil
    import time
    if not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        raise RuntimeError("torch.compile needs a C++ compiler on the PATH: install one (Debian: apt install g++) "
                           "or measure the other deployed forms")
    for name in ("torch.utils.cpp_extension", "torch._inductor", "torch._dynamo"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _separate_inductor_cache()
    net = torch.compile(torch_deployed(model))
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in batch_sizes:
            net(torch.randn(b, *tuple(input_size)[1:]))
    net.compile_s = time.perf_counter() - t0
    net.runtime = "torch.compile (BatchNorm folded, channels_last)"
    _count_as(net, net._orig_mod)
    return net


def _separate_inductor_cache() -> None:
    """Under an emulated CPU (``ATEN_CPU_CAPABILITY`` / ``DNNL_MAX_CPU_ISA`` set), give torch.compile
    a cache folder of its own: its on-disk cache of generated kernels is not keyed by these variables,
    and C++ vectorised for the real CPU does not compile for the emulated one."""
    import getpass
    import os
    import tempfile
    from torch._inductor import config
    from torch._inductor.runtime.runtime_utils import default_cache_dir
    emulated = "-".join(f"{k}={os.environ[k]}" for k in ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA") if os.environ.get(k))
    if not emulated:
        return
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR") in (None, default_cache_dir()):   # (the exporter may have set it)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(tempfile.gettempdir(),
                                                             f"torchinductor_{getpass.getuser()}_{emulated}")
    config.fx_graph_cache = False          # and never reuse a graph generated for another CPU


def _count_as(form: nn.Module, model: nn.Module) -> None:
    """Mark ``form`` (a runtime that hides its layers from hooks) as computing ``model``'s layers,
    so ``labkit.points.measure`` counts MACs (and bytes, unless the form runs a file) from ``model``.
    A plain attribute, not a registered submodule: the form's own parameters stay its own."""
    object.__setattr__(form, "counted_as", model)
