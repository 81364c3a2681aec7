"""One point and one measuring path: every model a notebook or a sweep shows is a ``Point``.

- ``Point``: accuracy (%), bytes under a storage plan, MACs, latency (ms), the four measures
  of every record, cache row, plot and widget (``MEASURES``); and ``params``, the parameter
  count (nonzero ones where MACs count nonzero weights), which the records keep for the
  efficiency-misnomer audit (notebook 09) and ``None`` where no model was counted.
- ``measure(models, ...)``: the points of several models, their latencies timed interleaved
  in one run (``labkit.metrics.compare_latency``), sizes under a named storage format or
  ``labkit.size.Plan`` per model, dense or nonzero MACs.
- ``ratios(point, reference)`` and ``ratio_table(points, reference)``: x smaller, x fewer
  MACs, measured speedup and the accuracy drop against a reference measured in the same run
  (a notebook never divides latencies by hand).
- ``make(config, ...)``: a sweep point (a dict: ``config`` + the measures), the one builder
  every topic's sweep uses; ``retime(points, architecture, baseline)``: the latencies of
  cached points measured again now, beside the baseline, so a cache from another machine
  is shown on this machine's scale.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch
from torch import nn

from . import metrics

MEASURES = ("accuracy_pct", "size_bytes", "macs", "latency_ms")


@dataclass
class Point:
    """One model's measures, as a notebook shows them."""
    accuracy_pct: float
    size_bytes: int
    macs: int
    latency_ms: float
    params: int | None = None
    # how it was timed (``measure`` fills these in): the run's ``labkit.timing.Timing``, the model's
    # name in it, and its form: "deployed" (a runtime a deployment would run: ``labkit.deploy``'s
    # forms, ONNX Runtime) or "eager" (the model as trained, in PyTorch)
    timing: object = field(default=None, repr=False, compare=False)
    name: str | None = field(default=None, compare=False)
    form: str | None = field(default=None, compare=False)
    computation: str | None = field(default=None, repr=False, compare=False)    # points.computation(model)

    def as_dict(self) -> dict:
        """The four measures and ``params``: what a record row or a cache keeps of a point."""
        return {**{k: getattr(self, k) for k in MEASURES}, "params": self.params}


def as_dict(point) -> dict:
    """A ``Point`` or a point dict as a plain dict (the one shape every consumer reads)."""
    return point.as_dict() if isinstance(point, Point) else dict(point)


FORMS = ("eager", "deployed")


def form_of(model: nn.Module) -> str:
    """``"deployed"`` for a model in the form a deployment runs (it names its ``runtime``:
    ``labkit.deploy.deployed`` and its candidates, ONNX Runtime sessions), else ``"eager"``."""
    return "deployed" if getattr(model, "runtime", None) else "eager"


def computation(model: nn.Module) -> str:
    """A fingerprint of what a forward pass of ``model`` executes, not of its weights' values: every
    module's class and settings (``extra_repr``), every tensor's name, shape, dtype, layout and
    strides, every forward hook; an ONNX Runtime session: its graph's operators and initializers'
    shapes. Two models with the same fingerprint run the same kernels on the same shapes (a
    fine-grained pruned model on dense kernels is the same computation as its baseline), so a
    speedup between them can only be noise."""
    import hashlib
    h = hashlib.sha1()
    if hasattr(model, "session") and hasattr(model, "path"):          # labkit.deploy.OrtModule
        import onnx
        g = onnx.load(str(model.path)).graph
        h.update(repr([(n.op_type, list(n.input), list(n.output)) for n in g.node]).encode())
        h.update(repr([(t.name, list(t.dims), t.data_type) for t in g.initializer]).encode())
        return "onnx:" + h.hexdigest()[:16]
    for name, m in model.named_modules():
        hooks = [len(getattr(m, a, {}) or {}) for a in ("_forward_hooks", "_forward_pre_hooks")]
        h.update(f"{name}|{type(m).__module__}.{type(m).__qualname__}|{m.extra_repr()}|{hooks}".encode())
        for t_name, t in [*m.named_parameters(recurse=False), *m.named_buffers(recurse=False)]:
            if t is not None:
                h.update(f"{t_name}:{tuple(t.shape)}:{t.dtype}:{t.layout}:{t.stride() if t.layout == torch.strided else ''}".encode())
    return "torch:" + h.hexdigest()[:16]


def same_run(a, b) -> bool:
    """True when points ``a`` and ``b`` were timed in the same run (one ``measure`` call)."""
    ta, tb = getattr(a, "timing", None), getattr(b, "timing", None)
    return ta is not None and ta is tb


def speedup_of(point, reference) -> dict | None:
    """The measured speedup of ``point`` over ``reference`` with its interval, as a results row
    keeps it: ``{"value", "lo", "hi", "within_noise", "noise_floor", "same_computation"}`` (True when
    both run the same kernels on the same shapes: ``computation``, and then ``within_noise`` is True
    whatever the interval); from the shared run's paired
    ratios when both were timed together (``measure``), from a point dict's own ``"speedup"``
    (``retime``) when it carries one, else ``None`` (nothing to say: not timed together)."""
    if same_run(point, reference):
        out = point.timing.speedup(point.name, reference.name)
        a, b = getattr(point, "computation", None), getattr(reference, "computation", None)
        out["same_computation"] = None if a is None or b is None else a == b
        if out["same_computation"]:     # the same kernels on the same shapes: any difference is noise
            out["within_noise"] = True
        return out
    if isinstance(point, Mapping) and isinstance(point.get("speedup"), Mapping):
        return dict(point["speedup"])
    return None


def params_of(point) -> int | None:
    """The parameter count a ``Point`` or a point dict carries (``"params"``), or ``None``."""
    v = point.params if isinstance(point, Point) else dict(point).get("params")
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError(f"params must be an int >= 0 (the parameter count), got {v!r}")
    return int(v)           # a plain int in the record (an Approx count is compared like the MACs)


def _per_model(value, name: str):
    return value.get(name, "fp32") if isinstance(value, Mapping) and not hasattr(value, "weights") else value


def measure(models: dict[str, nn.Module], batch_size: int = 1, storage="fp32", bits=None,
            accuracy: dict | None = None, nonzero: bool | dict = False, input_size=metrics.MNIST_INPUT,
            repeats: int = 30, counted_as: dict | None = None, table: str | None = None) -> dict[str, Point]:
    """``{name: Point}`` of several models, latency timed interleaved at ``batch_size``.

    ``storage``: a format name or ``labkit.size.Plan`` (with ``bits`` for ``nbit``/``codebook``),
    or ``{name: format}`` per model; ``accuracy``: ``{name: %}`` already computed in this run
    (the others are evaluated on the test set now); ``nonzero``: count only the MACs of nonzero
    weights (what a zero-skipping kernel would do), for all or ``{name: bool}``; ``counted_as``:
    ``{name: model}`` whose bytes and MACs a model has (a kernel swap, e.g. CSR layers for the
    same pruned weights, changes the time, not what is stored). A model from ``labkit.deploy``
    names its own (``counted_as``: the PyTorch model it runs); a runtime whose file is what it
    stores (``bytes_from_file``, e.g. ONNX Runtime's int8 model) counts that file's bytes. A
    deployed fp32 form counts its weights (``counted_as``), the same whichever runtime won.

    The first model is the reference: it is timed twice, as the A/A control (``labkit.timing``);
    every point keeps the run (``timing``), its ``name`` and its ``form`` ("eager" / "deployed"),
    so ``ratio_table`` and ``labkit.record`` can give speedups with their intervals."""
    from .size import size_bytes
    from .train import evaluate
    accuracy = accuracy or {}
    shape = (batch_size, *tuple(input_size)[1:])
    times = metrics.compare_latency(models, shape, repeats=repeats, table=table)
    out = {}
    for name, m in models.items():
        nz = nonzero.get(name, False) if isinstance(nonzero, Mapping) else nonzero
        counted = (counted_as or {}).get(name) or getattr(m, "counted_as", None) or m
        runtime_file = getattr(m, "bytes_from_file", False) and name not in (counted_as or {})
        out[name] = Point(accuracy_pct=accuracy[name] if name in accuracy else evaluate(m),
                          size_bytes=m.file_bytes() if runtime_file else size_bytes(counted, _per_model(storage, name), bits),
                          macs=metrics.count_macs(counted, input_size, nonzero=nz), latency_ms=times[name].median_ms,
                          params=metrics.count_params(counted, nonzero=nz) or None,
                          timing=times, name=name, form=form_of(m), computation=computation(m))
    return out


def ratios(point, reference) -> dict:
    """``point`` against ``reference`` (both measured in the same run): ``x_smaller``,
    ``x_fewer_macs``, ``speedup`` (> 1: faster; measured) and ``drop_pt`` (accuracy points)."""
    p, r = as_dict(point), as_dict(reference)
    return {"x_smaller": r["size_bytes"] / p["size_bytes"], "x_fewer_macs": r["macs"] / p["macs"],
            "speedup": r["latency_ms"] / p["latency_ms"], "drop_pt": p["accuracy_pct"] - r["accuracy_pct"]}


def _speedup_cell(point, reference, name: str, ref_name: str) -> str:
    """A measured speedup as a table shows it: with its interval from the shared run, "≈1 (within
    noise)", or, for points not timed together, the ratio of medians marked as such."""
    from .timing import CELL_WIDTH
    if name == ref_name:
        return "1 (reference)".rjust(CELL_WIDTH)
    if same_run(point, reference):
        return point.timing.cell(point.name, reference.name)
    p, r = as_dict(point), as_dict(reference)
    sp = point.get("speedup") if isinstance(point, Mapping) else None
    if isinstance(sp, Mapping):
        text = "≈1 (within noise)" if sp.get("within_noise") else f"{sp['value']:.2f}x [{sp['lo']:.2f}-{sp['hi']:.2f}]"
    else:
        text = f"{r['latency_ms'] / p['latency_ms']:.2f}x (medians)"
    return text.rjust(CELL_WIDTH)


def ratio_table(points: dict, reference: str, extra: dict | None = None, columns=None,
                deployed: str | None = None) -> str:
    """The points as a text table against ``points[reference]``: accuracy and its change,
    bytes and x smaller, MACs and the MACs ratio (the theoretical speedup), the measured latency
    and the speedup side by side. ``extra`` adds columns: ``{name: {column: text}}``.

    A speedup (timed in one ``measure`` run) prints as the median of the paired per-round ratios
    with its 95 % interval, or as "≈1 (within noise)" where the interval contains 1 or lies inside
    the run's A/A band; the run's noise floor is printed under the table (the busy-machine guard's
    line, when the floor is wider than ``labkit.timing.BOUND``, was printed by the timing run).

    ``deployed`` names the point of the deployed fp32 baseline (``labkit.deploy.deployed``, timed
    in the same run): a second column, ``vs deployed``, compares deployed forms only (deployed vs
    deployed); an eager row shows "—" there (compare it with the eager baseline instead)."""
    from .text import text_table
    from .timing import CELL_WIDTH
    for name, what in ((reference, "reference"), (deployed, "deployed")):
        if name is not None and name not in points:
            raise ValueError(f"{what} {name!r} is not one of the points: use one of {', '.join(map(repr, points))}")
    ref = points[reference]
    rows = []
    for name, p in points.items():
        d = as_dict(p)
        q = ratios(d, ref)
        rows.append({"model": name, **(extra or {}).get(name, {}), "accuracy %": d["accuracy_pct"], "pt": q["drop_pt"],
                     "bytes": d["size_bytes"], "x smaller": q["x_smaller"], "MACs": d["macs"],
                     "MACs ratio": q["x_fewer_macs"], "latency": f"{d['latency_ms']:9.3f} ms",
                     "speedup": _speedup_cell(p, ref, name, reference)})
        if deployed is not None:
            eager = getattr(p, "form", None) == "eager"
            rows[-1]["vs deployed"] = "—".rjust(CELL_WIDTH) if eager else _speedup_cell(p, points[deployed], name, deployed)
    extra_columns = {k for cols in (extra or {}).values() for k in cols}
    fmt = {"model": "s", **{k: "s" for k in sorted(extra_columns)},
           "accuracy %": ".2f", "pt": "+.2f", "bytes": ",d", "x smaller": ".2f", "MACs": ",d", "MACs ratio": ".2f",
           "latency": "s", "speedup": "s", **({"vs deployed": "s"} if deployed is not None else {})}
    if columns is not None:
        fmt = {k: v for k, v in fmt.items() if k in columns or k in ("model", "vs deployed")}
    lines = [text_table(rows, fmt)]
    if deployed is not None:
        lines.append(f"speedup: against {reference!r} (as trained, eager PyTorch); vs deployed: against {deployed!r} "
                     f"(the same fp32 weights as a deployment runs them), deployed forms only (—: an eager row)")
    t = getattr(ref, "timing", None)
    if t is not None and all(same_run(p, ref) for p in points.values()):
        lines.append("speedup: median of paired per-round ratios [95 % bootstrap interval]; " + t.floor_line())
    return "\n".join(lines)


def make(config: dict, model: nn.Module | None = None, accuracy: float | None = None, storage="fp32", bits=None,
         nonzero: bool = False, latency_ms: float | None = None, label: str | None = None, **extra) -> dict:
    """A sweep point: ``{"config", "accuracy_pct", "size_bytes", "macs"[, "latency_ms", "label", ...]}``,
    the one builder every topic's sweep uses.

    With ``model``, bytes (under ``storage``), MACs and ``params`` (``nonzero``: of nonzero weights
    only) are counted from it; otherwise pass ``size_bytes=``, ``macs=``. Accuracy is rounded to 4 decimals
    (an ``Approx`` accuracy stays ``Approx``). ``latency_ms`` is left out unless given: a cached
    point is timed where it is shown, beside its baseline (``retime``). ``extra`` keys are kept."""
    from .size import size_bytes
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict of the settings, e.g. {{'sparsity': 0.9}}, got {type(config).__name__}")
    d = {"config": dict(config)}
    if accuracy is not None:
        d["accuracy_pct"] = round(accuracy, 4)
    if model is not None:
        d["size_bytes"] = size_bytes(model, storage, bits)
        d["macs"] = metrics.count_macs(model, nonzero=nonzero)
        d["params"] = metrics.count_params(model, nonzero=nonzero) or None
    if latency_ms is not None:
        d["latency_ms"] = float(latency_ms)
    d.update(extra)
    missing = [k for k in MEASURES if k not in d and k != "latency_ms"]
    if missing:
        raise ValueError(f"a point needs {', '.join(missing)}: pass model= to count bytes and MACs, or the values")
    if label:
        d["label"] = label
    return d


def retime(points: list[dict], architecture: Callable[[dict], nn.Module | None], baseline: nn.Module,
           batch_size: int = 1, repeats: int = 20, key: Callable[[dict], object] | None = None) -> tuple[list[dict], float]:
    """Copies of ``points`` with ``latency_ms`` measured now, and the baseline's ms of the same run.

    ``architecture(point)`` is the model a point runs as (random weights do: a forward pass's time
    does not depend on them), or ``None`` when it runs exactly the baseline's computation (e.g.
    fine-grained sparsity on dense kernels); points with equal ``key(point)`` share one model.
    Everything is timed together in one run (``metrics.compare_latency``: shuffled rounds, the
    baseline timed twice as the A/A control); each copy carries ``"speedup"``, its measured speedup
    over the baseline with the interval (``speedup_of``), or, for a point that runs the baseline's
    own computation, exactly 1 marked ``"same_computation"`` (it was not timed apart from it)."""
    key = key or (lambda p: repr(sorted(p.get("config", {}).items())))
    models, names = {"baseline": baseline}, []
    for p in points:
        k = key(p)
        if k not in models:
            arch = architecture(p)
            models[k] = baseline if arch is None else arch
        names.append(k)
    distinct = {"baseline": baseline, **{k: m for k, m in models.items() if m is not baseline}}
    times = metrics.compare_latency(distinct, (batch_size, *metrics.MNIST_INPUT[1:]), repeats=repeats,
                                    table="retime")
    ms = {k: times["baseline" if m is baseline else k].median_ms for k, m in models.items()}
    same = {"value": 1.0, "lo": 1.0, "hi": 1.0, "within_noise": True,
            "noise_floor": None if times.floor is None else round(times.floor, 4), "same_computation": True}

    base_computation = computation(baseline)

    def speedup(k: str) -> dict:
        if models[k] is baseline:
            return same
        return {**times.speedup(k, "baseline"), "same_computation": computation(models[k]) == base_computation}
    return [{**p, "latency_ms": ms[k], "speedup": speedup(k)} for p, k in zip(points, names)], ms["baseline"]
