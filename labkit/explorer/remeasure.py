"""One representative model per family, rebuilt by labkit from the zoo's checkpoints, and
measured like for like: the eager models timed together in one run, their deployed forms
(``labkit.deploy``: the fastest of eager, folded + channels_last and ONNX Runtime) together in
another, each run with its A/A control and noise floor. The records' latencies come from many
runs; within one of these runs even absolute latencies compare.

``REBUILD`` maps a family to a builder ``(baseline) -> (name, model, how)``; ``how`` is a dict of
``points.measure`` options for that model (``storage``, ``nonzero``), ``approx=True`` when its
accuracy depends on this CPU's rounding and ``approx_counts=True`` when its bytes, MACs and
parameters do too (the Deep Compression file: its nonzeros and its Huffman code come from training). compact, prune, quant and lowrank need no training.
binary, distill, nas and joint are trained here on a short budget (``SHORT``: a few thousand
images, seconds each) by their topics' own functions: the same architecture, storage and kernels
as their notebooks' points, so bytes, MACs and latency are theirs; the accuracy is that of the
short budget, below their notebooks' (their records hold the full-budget points).
"""
from __future__ import annotations

import tempfile

from .. import verify

PRUNE_SPARSITY = 0.7
LOWRANK_KEEP = 0.9
SHORT = 4000                  # training images of the short budget (binary, nas, joint)
BINARY_LAYERS = ["conv2", "conv3", "fc1"]     # notebook 04's BWN: first and last layer stay fp32
KD = {"width": 4, "images": 2000, "samples": 80000, "T": 4.0, "alpha": 0.75}    # notebook 05's headline student (seed 0)
JOINT = (0.7, 5)              # every layer: sparsity, bits (notebook 08's Deep Compression pipeline)


def _compact(_cnn):
    from .. import zoo
    return "compact-w0.5", zoo.load("compact-w0.5"), {"technique": "compact-width", "config": {"model": "compact-w0.5"}}


def _prune(cnn):
    import copy
    from ..pruning import apply_masks_, global_magnitude_masks
    m = copy.deepcopy(cnn)
    apply_masks_(m, global_magnitude_masks(m, PRUNE_SPARSITY))
    return (f"cnn pruned {PRUNE_SPARSITY:.0%} (global magnitude)", m,
            {"storage": "sparse-csr", "nonzero": True, "technique": "prune-oneshot",
             "config": {"sparsity": PRUNE_SPARSITY, "allocation": "global", "storage": "sparse-csr", "finetune": False}})


def _quant(cnn):
    from .. import deploy
    folder = tempfile.mkdtemp(prefix="labkit-explorer-")
    return ("cnn int8 (ONNX Runtime, static)", deploy.to_runtime(cnn, folder, "int8"),
            {"approx": True, "technique": "quant-int8", "config": {"runtime": "onnxruntime", "bits": 8}, "deployed": True})


def _lowrank(cnn):
    from ..lowrank import energy_ranks, factorize
    return (f"cnn Tucker-2/SVD {LOWRANK_KEEP:.0%} energy", factorize(cnn, energy_ranks(cnn, LOWRANK_KEEP, ["4", "8", "13"])),
            {"approx": True, "technique": "lowrank-tucker", "config": {"keep": LOWRANK_KEEP, "finetune": False}})


def _binary(_cnn):
    from ..binarization import size_bytes, train_binarized
    m = train_binarized("bwn", "cnn", layers=BINARY_LAYERS, epochs=1, limit=SHORT, progress=False)
    m.bytes_from_file, m.file_bytes = True, (lambda: size_bytes(m))     # 1 bit per weight + scales (04's plan)
    return ("cnn BWN (1-bit weights)", m,
            {"approx": True, "technique": "binary-weight", "form": "simulated",
             "config": {"model": "cnn", "layers": BINARY_LAYERS, "images": SHORT, "epochs": 1}})


def _distill(cnn):
    from ..distillation import Budget, teacher_cache, train_student
    b = Budget(images=KD["images"], samples=KD["samples"], width=KD["width"])
    m = train_student(seed=0, cache=teacher_cache(cnn, b), T=KD["T"], alpha=KD["alpha"], budget=b).eval()
    return (f"cnn-w{KD['width']} student (KD)", m,
            {"approx": True, "technique": "kd", "config": {"teacher": "cnn", "student": f"cnn-w{KD['width']}",
                                                            **{k: v for k, v in KD.items() if k != "width"}}})


def _nas(_cnn):
    from ..nas import search, space, truth
    found = next(r for r in search.load_sweep()["found"] if r["config"]["name"] == "found-nsga2")
    m, *_ = truth.train_arch(found["arch"], seed=0, budget={"images": SHORT})
    return ("NAS-found net (07, NSGA-II)", m.eval(),
            {"approx": True, "technique": "nas-evolution",
             "config": {"arch": space.describe(found["arch"]), "images": SHORT, "epochs": 1}})


def _joint(cnn):
    import copy
    import os
    from ..joint import compress, fileformat
    from ..layers import fold_batchnorm, weighted_layers
    template = fold_batchnorm(copy.deepcopy(cnn))
    alloc = {n: JOINT for n in weighted_layers(template)}
    path = os.path.join(tempfile.mkdtemp(prefix="labkit-explorer-"), "cnn.lab")
    fileformat.write(compress(cnn, alloc, prune_epochs=2.0, share_epochs=1.0, steps=2, limit=SHORT), path)
    m = fileformat.read(path, template)          # the decoded file is what runs
    m.bytes_from_file, m.file_bytes = True, (lambda: os.path.getsize(path))
    return (f"cnn Deep Compression file ({JOINT[0]:.0%}, {JOINT[1]} bits)", m,
            {"approx": True, "approx_counts": True, "nonzero": True, "technique": "joint-deep-compression",
             "config": {"model": "cnn", "sparsity": JOINT[0], "bits": JOINT[1], "coder": "huffman", "images": SHORT}})


REBUILD = {"compact": _compact, "prune": _prune, "quant": _quant, "binary": _binary, "distill": _distill,
           "lowrank": _lowrank, "nas": _nas, "joint": _joint}
NO_EAGER = "int8 kernels run in ONNX Runtime only: there is no eager PyTorch form to time"
SIMULATED = ("its 1-bit weights are simulated in fp32 (fake quantisation, sign and scale in every forward): its time "
             "is not a 1-bit kernel's (notebook 04 times the packed XNOR kernels): it claims no speed")


def _first_line(e: Exception) -> str:
    return f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:120]}"


def representatives(families=None, baseline: str = "cnn") -> tuple[dict, dict]:
    """``({name: model}, {name: how})``: the zoo's ``baseline`` and one rebuilt model for each of
    ``families`` (default: every family in ``REBUILD``) that has a builder, each as its family makes it.

    Every ``how`` says the model's ``form``: ``"eager"`` (PyTorch as trained), ``"deployed"`` (already
    a runtime: ONNX Runtime's int8) or ``"simulated"`` (fake quantisation: timed in no table), and
    ``candidates``: the deployed fp32 forms ``labkit.deploy.candidates`` exports (eager, folded +
    channels_last, ONNX Runtime; ``remeasure`` picks the fastest per batch size, as
    ``labkit.deploy.deployed`` does), or ``None`` with the reason in ``not_deployed`` (a model that
    cannot be exported, a simulation); ``not_eager`` the reason a model has no eager speed."""
    from .. import deploy, zoo
    from ..points import form_of
    cnn = zoo.load(baseline)
    models, hows = {baseline: cnn}, {baseline: {"technique": "baseline", "config": {"model": baseline},
                                                "family": "baseline"}}
    for fam in (families or REBUILD):
        if fam in REBUILD:
            name, model, how = REBUILD[fam](cnn)
            models[name], hows[name] = model, {**how, "family": fam}
    for name, m in models.items():
        h = hows[name]
        h["form"] = h.get("form") or form_of(m)
        h["candidates"], h["not_deployed"], h["not_eager"] = None, None, None
        if h["form"] == "simulated":
            h["not_deployed"] = h["not_eager"] = SIMULATED
        elif h["form"] == "deployed":
            h["not_eager"] = NO_EAGER
        else:
            try:
                h["candidates"] = deploy.candidates(m)
            except Exception as e:          # noqa: BLE001 - a custom kernel, an op the exporter lacks: say so, go on
                h["not_deployed"] = f"cannot be exported ({_first_line(e)})"
    return models, hows


def remeasure(models: dict, hows: dict, batch_sizes=(1, 256), repeats: int = 20, repeats_large: int = 5,
              baseline: str = "cnn") -> dict:
    """Every representative timed like for like, in one run per form and batch size:

    - ``"eager"``: ``{batch size: {name: Point}}``, the eager models timed together, ``baseline`` first
      (``labkit.points.measure``: it is the A/A control of that table);
    - ``"deployed"``: the same for the deployed forms (each model's fastest fp32 form at that batch
      size, ``labkit.deploy.fastest``; ONNX Runtime's int8 as it is), the deployed ``baseline`` the control;
    - ``"runtime"``: ``{batch size: {name: the deployed form's runtime}}``; ``"params"``: ``{name: parameters}``
      (nonzero for a sparse one).

    Accuracy (10,000 test images) is measured once per model, ``Approx`` where ``how["approx"]``; a
    deployed fp32 form keeps its model's accuracy, bytes, MACs and parameters (the same weights: only
    the runtime changes). A simulated model is timed with the eager ones (its ``form`` says
    ``"simulated"``) but claims no speed (``hows[name]["not_eager"]`` says why) and has no deployed form."""
    from .. import deploy, metrics, points
    from ..train import evaluate
    if baseline not in models or hows[baseline]["candidates"] is None:
        raise ValueError(f"the baseline {baseline!r} must be one of the models, with its deployed forms")
    acc = {n: (verify.approx(evaluate(m)) if hows[n].get("approx") else evaluate(m)) for n, m in models.items()}
    storage = {n: h.get("storage", "fp32") for n, h in hows.items()}
    nonzero = {n: h.get("nonzero", False) for n, h in hows.items()}
    out = {"eager": {}, "deployed": {}, "runtime": {}}
    for b in batch_sizes:
        reps = repeats if b < 64 else repeats_large
        eager = {n: m for n, m in models.items() if hows[n]["form"] in ("eager", "simulated")}
        out["eager"][b] = pts = points.measure(eager, batch_size=b, storage=storage, accuracy=acc, nonzero=nonzero,
                                               repeats=reps, table=f"09 section 5, eager, batch {b}")
        for name, p in pts.items():     # counts that depend on trained weights (a coded file, nonzeros): Approx too
            p.form = hows[name]["form"]
            if hows[name].get("approx_counts"):
                p.size_bytes, p.macs, p.params = verify.approx(p.size_bytes), verify.approx(p.macs), verify.approx(p.params)
        forms = {}
        for name, m in models.items():
            h = hows[name]
            if h["form"] == "deployed":
                forms[name] = m
            elif h["candidates"] is not None:
                forms[name] = deploy.fastest(h["candidates"], b, repeats=reps)
        out["deployed"][b] = dep = points.measure(forms, batch_size=b, storage=storage, accuracy=acc, nonzero=nonzero,
                                                  repeats=reps, table=f"09 section 5, deployed, batch {b}")
        for name, p in dep.items():     # the same weights as the eager model: its counts, whichever runtime won
            if name in pts:
                p.size_bytes, p.macs, p.params = pts[name].size_bytes, pts[name].macs, pts[name].params
        out["runtime"][b] = {n: f.runtime for n, f in forms.items()}
    out["params"] = {}
    for name, m in models.items():
        counted = getattr(m, "counted_as", None) or m
        out["params"][name] = metrics.count_params(counted, nonzero=hows[name].get("nonzero", False))
    return out


def side_by_side(measured: dict, hows: dict, batch_size: int, baseline: str = "cnn") -> str:
    """One batch size's re-measured models as text: the counts (against ``baseline``), and side by
    side the eager speedup (eager vs the eager ``baseline``, one run) and the deployed one (deployed
    vs the deployed ``baseline``, another run), each with its 95 % interval or "≈1 (within noise)";
    "—" where a model has no such form, and why below; each run's noise floor under the table."""
    from ..text import text_table
    from ..timing import CELL_WIDTH
    eager, dep = measured["eager"][batch_size], measured["deployed"][batch_size]
    base = eager[baseline]
    none = "—".rjust(CELL_WIDTH)
    rows = []
    for name, h in hows.items():
        p = eager.get(name) or dep.get(name)
        if p is None:
            continue
        e, d = (None if h["form"] == "simulated" else eager.get(name)), dep.get(name)
        rows.append({"model": name, "family": h["family"], "accuracy %": p.accuracy_pct, "pt": p.accuracy_pct - base.accuracy_pct,
                     "bytes": p.size_bytes, "x smaller": base.size_bytes / p.size_bytes, "MACs": p.macs,
                     "MACs ratio": base.macs / p.macs,
                     "eager": f"{e.latency_ms:9.3f} ms" if e else "—".rjust(12),
                     "eager speedup": e.timing.cell(name, baseline) if e else none,
                     "deployed": f"{d.latency_ms:9.3f} ms" if d else "—".rjust(12),
                     "vs deployed": d.timing.cell(name, baseline) if d else none})
    lines = [text_table(rows, {"model": "s", "family": "s", "accuracy %": ".2f", "pt": "+.2f", "bytes": ",d",
                               "x smaller": ".2f", "MACs": ",d", "MACs ratio": ".2f", "eager": "s", "eager speedup": "s",
                               "deployed": "s", "vs deployed": "s"})]
    lines.append(f"eager speedup: eager vs eager, against {baseline!r} as trained, all timed together; "
                 + base.timing.floor_line())
    lines.append(f"vs deployed: deployed vs deployed, against the deployed form of {baseline!r}, all timed together; "
                 + dep[baseline].timing.floor_line())
    for name, runtime in measured["runtime"][batch_size].items():
        lines.append(f"  {name} deployed runs as: {runtime}")
    for name, h in hows.items():
        for what, why in (("eager", h["not_eager"]), ("deployed", h["not_deployed"])):
            if why and (what != "deployed" or not h["not_eager"] or why != h["not_eager"]):
                lines.append(f"  — {name} ({what}): {why}")
    return "\n".join(lines)


def record_(rec, measured: dict, hows: dict, baseline: str = "cnn") -> None:
    """Add every re-measured model to ``rec`` (a ``labkit.record.Recorder``) at each batch size: the
    eager forms against the eager ``baseline`` of their run (eager vs eager), the deployed forms
    against the deployed ``baseline`` of theirs (``deployed=``: deployed vs deployed; the deployed
    baseline's row is ``runtime-fp32``), a simulated model with ``form="simulated"`` and no speed."""
    for b, pts in measured["eager"].items():
        for name, p in pts.items():
            h = hows[name]
            if h["form"] == "simulated":        # its measures, not its (simulated) speed
                rec.add(h["technique"], h["config"], p.as_dict(), baseline=pts[baseline], batch_size=b, form="simulated")
            else:
                rec.add(h["technique"], h["config"], p, baseline=None if name == baseline else pts[baseline], batch_size=b)
    for b, dep in measured["deployed"].items():
        ref = dep[baseline]
        for name, p in dep.items():
            h = hows[name]
            technique, config = ("runtime-fp32", {"model": baseline}) if name == baseline else (h["technique"], h["config"])
            rec.add(technique, config, p, baseline=measured["eager"][b][baseline], batch_size=b, deployed=ref,
                    deployed_runtime=measured["runtime"][b][baseline])


def as_entries(measured: dict, hows: dict, source: str = "live", baseline: str = "cnn") -> list[dict]:
    """The re-measured models as explorer entries (``labkit.explorer.records.entry``), ``source``
    marked, each with ``run``: the one timing run it comes from (its absolute latency is comparable
    with the others of that run, and only with them)."""
    import tempfile
    from ..record import Recorder
    from .records import entry
    rec = Recorder("09_explorer", tempfile.mkdtemp(prefix="labkit-explorer-"))
    rec.reference = None            # a live run is checked against nothing
    record_(rec, measured, hows, baseline)
    out, rows = [], iter(rec.rows)
    for form in ("eager", "deployed"):
        for b, pts in measured[form].items():
            run = f"{source} {id(measured):x}: {form}, batch {b}"
            for _ in pts:
                row = next(rows)
                e = entry({**row, "config": {**row["config"], "live": True}}, source)
                e["run"] = run
                out.append(e)
    return out


def audit_points(measured: dict, form: str = "deployed") -> list[dict]:
    """The re-measured models as audit points: params, MACs, bytes, and the batch-1 and batch-256
    latency of their ``form`` (default: deployed; every model of one table was timed in one run, so
    those absolute latencies compare); a model without that form has ``None`` there (left out of
    the latency pairs)."""
    runs = measured[form]
    names = list(measured["params"])

    def counted(n):
        return next((runs_b[n] for other in ("eager", "deployed") for runs_b in measured[other].values() if n in runs_b))

    def ms(b, n):
        return runs[b][n].latency_ms if b in runs and n in runs[b] else None
    return [{"label": n, "params": measured["params"][n], "macs": counted(n).macs, "size_bytes": counted(n).size_bytes,
             "latency_b1_ms": ms(1, n), "latency_b256_ms": ms(256, n)} for n in names]
