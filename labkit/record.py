"""The results record: every measured point a notebook shows, one JSON line each.

``notebooks/results/<notebook stem>.jsonl`` is committed with its notebook; the trade-off
explorer (notebook 09) reads them all. A ``Recorder`` keeps this run's rows and rewrites
its notebook's file atomically (temp file + rename) on every ``add``, so a re-run replaces
the file and a crash never leaves half a line. ``$LABKIT_RESULTS`` redirects the folder
(the test suite writes elsewhere, so running the tests leaves the committed files alone).

While the tests run, ``$LABKIT_REFERENCE`` names the committed folder and every ``add`` is
checked against the committed row at the same position (``labkit.verify.compare_row``):
the same point, accuracy within its tolerance (``verify.EVAL`` for plain numbers,
``verify.TRAINED`` for ``Approx`` ones), sizes and MACs exact unless marked ``Approx``.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import torch

from . import manifests, validate, verify
from .paths import results_dir
from .points import MEASURES, as_dict, params_of, speedup_of

FIELDS = ("notebook", "technique", "config", "accuracy_pct", "size_bytes", "macs", "params", "latency_ms",
          "baseline_accuracy_pct", "baseline_size_bytes", "baseline_macs", "baseline_params", "baseline_latency_ms",
          "deployed_latency_ms", "deployed_runtime", "form", "speedup", "deployed_speedup", "timing",
          "batch_size", "threads", "device", "torch")
# The technique vocabulary: every name a record row may carry, with its family (the explorer,
# notebook 09, groups by family). The core's own three come first; each topic registers its
# techniques and their family once, in its ``manifest.py`` (``labkit.manifests``).
CORE_TECHNIQUES = {
    "baseline": "baseline",                 # the uncompressed model a notebook compares with
    "reference-model": "reference",         # torchvision's ImageNet models (notebook 01)
    "runtime-fp32": "deploy",               # the same fp32 model in another runtime (ONNX Runtime)
}


def _vocabulary() -> tuple[tuple[str, ...], dict[str, str]]:
    families, techniques = list(dict.fromkeys(CORE_TECHNIQUES.values())), dict(CORE_TECHNIQUES)
    family_of = {}
    for topic, m in manifests.read():
        if m.get("TECHNIQUES") and "FAMILY" not in m:
            raise manifests.ManifestError(f'{topic}/manifest.py: TECHNIQUES needs a FAMILY (e.g. FAMILY = "prune")')
        if "FAMILY" in m:
            families.append(m["FAMILY"])
            family_of[topic] = m["FAMILY"]
    for topic, name, _ in manifests.collect("TECHNIQUES"):
        if name in techniques:
            raise manifests.ManifestError(f"{topic}/manifest.py: technique {name!r} is one of the core's")
        techniques[name] = family_of[topic]
    return tuple(dict.fromkeys(families)), techniques


FAMILIES, TECHNIQUES = _vocabulary()


def family(technique: str) -> str:
    """The family of a registered technique (``harm-*`` rows belong to ``harm``)."""
    if technique.startswith("harm-"):
        return "harm"
    if technique not in TECHNIQUES:
        raise ValueError(f"unknown technique {technique!r}: use one of {', '.join(TECHNIQUES)} "
                         f"(or register it in TECHNIQUES of its topic's manifest.py)")
    return TECHNIQUES[technique]


def check_config(config) -> dict:
    """A config is a dict of JSON scalars, flat dicts of scalars or lists of scalars, the same in
    records and caches; anything else gets a one-line error naming the key."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict of the settings, e.g. {{'sparsity': 0.9}}, got {type(config).__name__}")
    for k, v in config.items():
        if not isinstance(k, str) or not validate.flat(v):
            raise ValueError(f"config[{k!r}] must be a number, string, bool, or a flat dict or list of them, "
                             f"got {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"config[{k!r}] must be finite, got {v!r}")
    return config


def _tolerances(p, prefix: str = "") -> dict:
    """The ``verify`` tolerance of each measure: ``TRAINED`` where the value is ``Approx``."""
    d = as_dict(p)
    return {f"{prefix}{k}": verify.tolerance_of(d.get(k)) for k in MEASURES}


def _as_measures(p, what: str) -> dict:
    d = as_dict(p)
    missing = [k for k in MEASURES if k not in d]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing)}: pass a labkit.points.Point or a dict with {', '.join(MEASURES)}")
    for k in MEASURES:
        v = d[k]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{what}.{k} must be a finite number >= 0, got {v!r}")
    return {"accuracy_pct": round(float(d["accuracy_pct"]), 4), "size_bytes": int(d["size_bytes"]),
            "macs": int(d["macs"]), "latency_ms": round(float(d["latency_ms"]), 6)}


def _timing_of(point) -> dict:
    """Where and how ``point``'s latency was timed, for its row: the IQR and rounds of its run (when
    ``labkit.points.measure`` timed it), the CPU model, its instruction sets and the threads."""
    from . import timing
    t, name = getattr(point, "timing", None), getattr(point, "name", None)
    if t is not None and name in t.samples:
        info = t.record(name)
        return {k: info[k] for k in ("latency_iqr_ms", "rounds", "noise_floor", "cpu", "isa", "override") if k in info}
    m = timing.machine()
    return {"latency_iqr_ms": None, "rounds": None, "noise_floor": None, "cpu": m["cpu"], "isa": m["isa"]}


FORMS = ("eager", "deployed", "simulated")


class Recorder:
    """Collects a notebook's rows and keeps ``<results>/<notebook>.jsonl`` up to date.

    >>> rec = Recorder("00_welcome")
    >>> rec.add("baseline", {"model": "cnn"}, point, baseline=point, batch_size=1)
    """

    def __init__(self, notebook: str, folder: str | Path | None = None):
        if not notebook or "/" in notebook or notebook.endswith(".ipynb"):
            raise ValueError(f"notebook must be the notebook's stem, e.g. '00_welcome', got {notebook!r}")
        self.notebook = notebook
        self.folder = Path(folder) if folder else results_dir()
        self.rows: list[dict] = []
        ref = verify.reference_dir()
        self.reference = read(notebook, ref) if ref and (ref / f"{notebook}.jsonl").exists() else \
            ([] if ref else None)

    @property
    def path(self) -> Path:
        return self.folder / f"{self.notebook}.jsonl"

    def add(self, technique: str, config: dict, point, baseline=None, batch_size: int = 1,
            device: str | None = None, deployed=None, deployed_runtime: str | None = None,
            form: str | None = None) -> dict:
        """Append one measured point; ``baseline`` is the reference measured in the same run
        (omit it for a baseline row, whose reference is itself): the eager model as trained.
        ``deployed`` is the deployed fp32 baseline (``labkit.deploy.deployed``) timed in the same
        run, ``deployed_runtime`` its ``runtime``: the row's ``deployed_latency_ms`` is the
        reference a deployment compares with (the explorer's), ``baseline_latency_ms`` the eager one.
        Pass ``deployed`` only when ``point`` was timed in its deployed form too (deployed vs
        deployed: a point that ``labkit.points.measure`` timed eager is refused); a row without it
        compares eager with eager.

        ``form="simulated"`` marks a model whose computation only simulates the technique (fake
        quantisation in fp32): its latency is not the technique's, the explorer keeps it out of every
        speed front, and it may not claim a speedup.

        The row keeps how it was timed: ``form`` ("eager" / "deployed" / "simulated", where known), ``speedup``
        and ``deployed_speedup`` (the paired ratio's median and 95 % interval, ``within_noise``,
        the run's ``noise_floor``: ``labkit.points.speedup_of``; ``None`` when not timed together)
        and ``timing`` (the IQR, the rounds, the CPU model and its instruction sets)."""
        family(technique)
        check_config(config)
        m = _as_measures(point, "point")
        b = _as_measures(baseline, "baseline") if baseline is not None else m
        # the parameter count (None where the point was not counted from a model), beside the MACs
        m = {**m, "params": params_of(point)}
        b = {**b, "params": params_of(baseline) if baseline is not None else m["params"]}
        order = ("accuracy_pct", "size_bytes", "macs", "params", "latency_ms")
        m, b = {k: m[k] for k in order}, {k: b[k] for k in order}
        if (deployed is None) != (deployed_runtime is None):
            raise ValueError("pass deployed= (the deployed baseline's point) and deployed_runtime= (its .runtime) together")
        d = _as_measures(deployed, "deployed")["latency_ms"] if deployed is not None else None
        if form is not None and form not in FORMS:
            raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
        form = form or getattr(point, "form", None) or (point.get("form") if isinstance(point, dict) else None)
        if form == "simulated" and (deployed is not None or speedup_of(point, baseline) is not None):
            raise ValueError(f"{technique} {config}: a simulated model (fake quantisation in fp32) claims no speed: "
                             f"record it without deployed= and without a timed point")
        if deployed is not None and form in ("eager", "simulated"):
            raise ValueError(f"{technique} {config}: this point was timed eager, so it has no 'vs deployed' "
                             f"(deployed vs deployed only): time its deployed form (labkit.deploy.deployed) or omit deployed=")
        from .env import current_device
        row = {"notebook": self.notebook, "technique": str(technique), "config": config, **m,
               **{f"baseline_{k}": v for k, v in b.items()},
               "deployed_latency_ms": d, "deployed_runtime": None if deployed_runtime is None else str(deployed_runtime),
               "form": form, "speedup": speedup_of(point, baseline) if baseline is not None else None,
               "deployed_speedup": speedup_of(point, deployed) if deployed is not None and deployed is not point else None,
               "timing": _timing_of(point),
               "batch_size": int(batch_size), "threads": torch.get_num_threads(),
               "device": device or current_device().type, "torch": torch.__version__.split("+")[0]}
        json.dumps(row)      # fail here, not later, on a config that JSON cannot hold
        if self.reference is not None:      # under the tests: the same result as the committed record?
            tol = {**_tolerances(point), **_tolerances(baseline if baseline is not None else point, "baseline_")}
            i = len(self.rows)
            verify.compare_row(json.loads(json.dumps(row)), self.reference[i] if i < len(self.reference) else None,
                               tol, f"{self.notebook} record row {i + 1}")
        self.rows.append(row)
        self._write()
        return row

    def _write(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.notebook}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w") as f:
                for row in self.rows:
                    f.write(json.dumps(row, sort_keys=False) + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def read(notebook: str | None = None, folder: str | Path | None = None) -> list[dict]:
    """Rows of one notebook's record, or of all of them (``notebook=None``)."""
    folder = Path(folder) if folder else results_dir()
    files = [folder / f"{notebook}.jsonl"] if notebook else sorted(folder.glob("*.jsonl"))
    rows = []
    for f in files:
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                if tuple(row) != FIELDS:
                    raise ValueError(f"{f}:{i} has fields {list(row)}, expected {list(FIELDS)}: re-run its notebook")
                rows.append(row)
    return rows
