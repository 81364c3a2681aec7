"""One cache for every sweep the notebooks read: ``notebooks/cache/*.json``, one schema, one
writer, one reader, one command (``python -m labkit sweep NAME``).

Every cached sweep is a JSON document::

    {"sweep": NAME, "schema": 1, "command": "python -m labkit sweep NAME",
     "labkit": version, "torch": version, "threads": n, "created": ISO date, "seconds": wall time,
     "params": {settings: JSON scalars or flat lists / dicts of them},
     "rows": [{...}, ...], "extra": {optional auxiliary results}}

``REGISTRY`` names every sweep: its file, the notebook that reads it, its recipe (a function
``"module:function"``, imported only when the sweep runs, so listing imports no topic) and a
tiny configuration that regenerates it in seconds (the tests run it). A recipe returns
``(rows, params, extra)`` (or a dict with those keys); this module adds the metadata
(``document``), writes atomically (``write``), and ``load(NAME)`` reads it back or fails with one
line naming the command. The topics' sweep modules turn a document into the shape their
notebook reads (``labkit.pruning.load_sweep`` ...).
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import inspect
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .paths import NOTEBOOKS
from .validate import flat

SCHEMA = 1

KEYS = ("sweep", "schema", "command", "labkit", "torch", "threads", "created", "seconds", "params", "rows", "extra")

@dataclass(frozen=True)
class Sweep:
    """One cached sweep: ``name`` (``python -m labkit sweep <name>``), its ``file`` in
    ``folder()``, the ``notebook`` that reads it, its ``recipe`` (``"module:function"``), the
    ``tiny`` keyword arguments that regenerate it in seconds, the ``view`` (``"module:function"``)
    that gives a document the shape its notebook reads, and the ``device`` the command sets up
    (None: CUDA when there is one, as ``labkit.setup``)."""
    name: str
    file: str
    notebook: str
    recipe: str
    tiny: dict = field(default_factory=dict)
    view: str | None = None
    device: str | None = None
    about: str = ""

    @property
    def command(self) -> str:
        return f"python -m labkit sweep {self.name}"

    @property
    def path(self) -> Path:
        return folder() / self.file


REGISTRY: dict[str, Sweep] = {s.name: s for s in (
    Sweep("trend-latency", "trend_latency.json", "01_compact_networks", "labkit.compact.trend:latency_recipe",
          tiny={"models": ["mobilenet_v3_small"], "batch_sizes": [1], "repeats": 2, "warmup": 1},
          view="labkit.compact.trend:latency_view",
          about="CPU latency of torchvision reference models at 224x224 (random weights)"),
    Sweep("compact", "compact_sweep.json", "01_compact_networks", "labkit.compact.sweep:recipe",
          tiny={"blocks": ["ds"], "widths": [0.5], "resolutions": [14], "limit": 256, "eval_limit": 200},
          view="labkit.compact.sweep:view",
          about="compact nets: block x width x input resolution, each trained briefly"),
    Sweep("pruning", "02_pruning_sweep.json", "02_pruning", "labkit.pruning.sweep:recipe",
          tiny={"fine": [0.5], "channel": [0.3], "joint": [0.5], "joint_ratio": 0.3, "limit": 256,
                "eval_limit": 200, "scan_images": 200, "scan_sparsities": [0.5, 0.9], "repeats": 3,
                "progress": False},
          view="labkit.pruning.sweep:view",
          about="fine-grained, channel and joint pruning, fine-tuned, with a baseline row"),
    Sweep("pruning-lottery", "02_lottery_sweep.json", "02_pruning", "labkit.pruning.lottery:recipe",
          tiny={"sparsities": [0.9], "seeds": [0], "epochs": 1, "retrain_epochs": 0.5, "rewind_steps": 2,
                "limit": 512, "eval_limit": 200},
          view="labkit.pruning.lottery:view",
          about="lottery tickets on LeNet-5: fine-tune vs rewind vs original init vs random re-init, equal budget"),
    Sweep("pruning-criteria", "02_criteria_sweep.json", "02_pruning", "labkit.pruning.criteria:recipe",
          tiny={"seeds": [0], "epochs": 0.05, "limit": 512, "eval_limit": 200},
          view="labkit.pruning.criteria:view",
          about="channel pruning criteria (L1, BatchNorm scale, Taylor, random) before and after fine-tuning"),
    Sweep("quant-ptq", "03_ptq_sweep.json", "03_quantization", "labkit.quantization.sweep:ptq_recipe",
          tiny={"bits": [4], "methods": ["minmax"], "eval_limit": 200}, view="labkit.quantization.sweep:ptq_view",
          device="cpu", about="post-training quantization by bits, mode and range method; k-means sharing"),
    Sweep("quant-qat", "03_qat_sweep.json", "03_quantization", "labkit.quantization.sweep:qat_recipe",
          tiny={"bits": [4], "limit": 256, "eval_limit": 200}, view="labkit.quantization.sweep:qat_view",
          device="cpu", about="PTQ vs quantization-aware training at each weight width"),
    Sweep("quant-mixed", "03_mixed_sweep.json", "03_quantization", "labkit.quantization.sweep:mixed_recipe",
          tiny={"avg_bits": [4.0], "options": [8, 4], "sensitivity_images": 200, "eval_limit": 200},
          view="labkit.quantization.sweep:mixed_view",
          device="cpu", about="mixed-precision allocations under size budgets; the sensitivity table in extra"),
    Sweep("binary", "04_binarization_sweep.json", "04_binarization", "labkit.binarization.sweep:recipe",
          tiny={"runs": ["lenet5/bwn/inner/0/0.01ep", "lenet5/xnor/inner/0/0.01ep"], "limit": 256, "eval_limit": 200},
          view="labkit.binarization.sweep:view", device="cpu",
          about="BWN, ternary and XNOR models trained from the zoo's checkpoints over seeds"),
    Sweep("distillation", "05_distillation_sweeps.json", "05_distillation", "labkit.distillation.sweep:recipe",
          tiny={"seeds": [100], "budget": {"images": 200, "samples": 400}, "temperatures": [4.0],
                "alphas": [0.0, 0.9], "teachers": ["lenet5"], "budgets": [200], "betas": [0.0, 100.0],
                "recover_images": [200], "recover_samples": 200, "eval_limit": 200},
          view="labkit.distillation.sweep:view",
          about="knowledge-distillation sweeps over seeds (rows carry their kind)"),
    Sweep("distillation-width", "05_distillation_widths.json", "05_distillation", "labkit.distillation.widths:recipe",
          tiny={"widths": [4], "images": [200], "seeds": [100], "samples": 400, "T": 4.0, "alpha": 0.75,
                "eval_limit": 200},
          view="labkit.distillation.widths:view",
          about="students of several widths alone / label smoothing / KD, on 2,000 and 50,000 images, over seeds"),
    Sweep("lowrank", "06_lowrank_sweep.json", "06_lowrank", "labkit.lowrank.sweep:recipe",
          tiny={"seeds": [0], "epochs": 0.02, "kinds": ["baseline", "svd", "svd+tucker", "thin"], "limit": 256,
                "eval_limit": 200, "repeats": 2, "progress": False},
          view="labkit.lowrank.sweep:view",
          about="SVD / Tucker-2 / CP factorized CNNs fine-tuned over seeds, and the thin baseline"),
    Sweep("nas-ground-truth", "07_nas_ground_truth.json", "07_nas", "labkit.nas.truth:recipe",
          tiny={"n": 2, "seeds": [0], "budget": {"images": 256, "eval_images": 200}},
          view="labkit.nas.truth:view", device="cpu",
          about="NAS ground truth: architectures spanning the space, each trained briefly over two seeds"),
    Sweep("nas-latency", "07_nas_latency.json", "07_nas", "labkit.nas.latency:recipe",
          tiny={"n_fit": 2, "n_test": 2, "repeats": 2, "lut_repeats": 1, "whole_space": False, "progress": False},
          view="labkit.nas.latency:view", device="cpu",
          about="NAS latency LUT: every block of the space timed on this CPU, validated end to end vs a FLOPs fit"),
    Sweep("nas-search", "07_nas_search.json", "07_nas", "labkit.nas.search:recipe",
          tiny={"n_trials": 3, "k": 2, "quantile": 0.99, "seeds": [0, 1], "zoo_names": ["compact-w0.25"], "test_limit": 200,
                "shortlist": 2, "retrain_seeds": [0],
                "budget": {"images": 256, "eval_images": 200}},
          view="labkit.nas.search:view", device="cpu",
          about="NAS search: random vs NSGA-II (Optuna) under a LUT latency budget; found and zoo nets retrained"),
    Sweep("nas-supernet", "07_nas_supernet.json", "07_nas", "labkit.nas.ofa:recipe",
          tiny={"n": 2, "candidates": 1, "train": {"images": 128, "epochs": 1},
                "budget": {"images": 128, "eval_images": 100}, "calibration": 1, "matched": {"images": 192}},
          view="labkit.nas.ofa:view", device="cpu",
          about="Once-for-All: an elastic supernet (sandwich rule), subnets' inherited vs standalone accuracy"),
    Sweep("joint-deep-compression", "08_joint_deep_compression.json", "08_joint", "labkit.joint.sweep:dc_recipe",
          tiny={"models": ["lenet5"], "ratios": {"lenet5": [20]}, "prune_epochs": 0.02, "share_epochs": 0.01, "steps": 1,
                "limit": 256, "eval_limit": 200, "scan_images": 200},
          view="labkit.joint.sweep:dc_view",
          about="Deep Compression (prune, share, Huffman) of LeNet-5 and the CNN under byte budgets, with the real files"),
    Sweep("joint-admm", "08_joint_admm.json", "08_joint", "labkit.joint.sweep:admm_recipe",
          tiny={"model": "lenet5", "seeds": [0], "epochs": 0.02, "limit": 256, "eval_limit": 200},
          view="labkit.joint.sweep:admm_view",
          about="ADMM pruning (and joint prune + quantise) vs iterative magnitude pruning at equal sparsity and budget"),
    Sweep("harm-population", "10_harm_population.json", "10_harm", "labkit.harm.population:recipe",
          tiny={"members": ["dense", "prune-50", "int8"], "seeds": [0], "epochs": 0.01, "limit": 256,
                "eval_limit": 200, "corrupt_images": 100},
          view="labkit.harm.population:view", device="cpu",
          about="the CNN compressed by every topic over seeds: test predictions, corruption accuracy"),
    Sweep("harm-generator", "10_harm_generator.json", "10_harm", "labkit.harm.generative:recipe",
          tiny={"sparsities": [0.0, 0.5], "recover_sparsities": [0.5], "seeds": [0], "steps": 5, "samples": 300,
                "bits": [8], "classifiers": ["lenet5"], "eval_limit": 200},
          view="labkit.harm.generative:view", device="cpu",
          about="the VAE's generator pruned, quantized and recovered: Frechet distance in the CNN's features"),
)}


def folder() -> Path:
    """Where the cached sweeps live: ``notebooks/cache``."""
    return NOTEBOOKS / "cache"


def entry(name: str) -> Sweep:
    """The registry entry of sweep ``name`` (a one-line error lists the names)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown sweep {name!r}: use one of {', '.join(REGISTRY)} (python -m labkit sweep --list)")
    return REGISTRY[name]


def command(name: str) -> str:
    """The command that makes the cached sweep ``name``."""
    return entry(name).command


def _function(dotted: str):
    module, _, fn = dotted.partition(":")
    return getattr(importlib.import_module(module), fn)


def recipe(name: str):
    """The recipe function of sweep ``name`` (imports its topic)."""
    return _function(entry(name).recipe)


def view(name: str, doc: dict):
    """``doc`` in the shape its notebook reads (the entry's view function), or ``doc`` itself."""
    e = entry(name)
    return _function(e.view)(doc) if e.view else doc


# ---------------------------------------------------------------------------- the schema
def problem(doc, name: str | None = None) -> str | None:
    """What is wrong with ``doc`` as a cached sweep (of ``name``), in a few words, or None."""
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not a document"
    if doc.get("schema") != SCHEMA:
        return (f"schema {doc['schema']!r}, this labkit reads schema {SCHEMA}" if "schema" in doc
                else "no schema number (a labkit 0.1 file)")
    missing = [k for k in KEYS if k not in doc]
    if missing:
        return f"missing {', '.join(missing)}"
    if name is not None and doc["sweep"] != name:
        return f"it holds the sweep {doc['sweep']!r}, not {name!r}"
    types = {"sweep": str, "command": str, "labkit": str, "torch": str, "threads": int, "created": str,
             "params": dict, "rows": list, "extra": dict}
    for k, t in types.items():
        if not isinstance(doc[k], t) or isinstance(doc[k], bool):
            return f"{k} is a {type(doc[k]).__name__}, not a {t.__name__}"
    seconds = doc["seconds"]
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        return f"seconds is a {type(seconds).__name__}, not a number"
    if doc["command"] != f"python -m labkit sweep {doc['sweep']}":
        return f"its command is {doc['command']!r}"
    try:
        datetime.datetime.fromisoformat(doc["created"])
    except ValueError:
        return f"created {doc['created']!r} is not an ISO date"
    bad = [k for k, v in doc["params"].items() if not flat(v)]
    if bad:
        return f"params {', '.join(bad)} are not JSON scalars or flat lists / dicts"
    bad = sorted({k for r in doc["rows"] if isinstance(r, dict) for k, v in r.get("config", {}).items() if not flat(v)})
    if bad:
        return f"row configs {', '.join(bad)} are not JSON scalars or flat lists / dicts"
    if not doc["rows"]:
        return "no rows"
    if not all(isinstance(r, dict) for r in doc["rows"]):
        return "rows are not all objects"
    return None


def _parts(result) -> tuple[list, dict, dict]:
    if isinstance(result, dict):
        unknown = set(result) - {"rows", "params", "extra"}
        if unknown or "rows" not in result:
            raise ValueError(f"a recipe returns (rows, params, extra) or a dict of those keys, "
                             f"got keys {sorted(result)}")
        return result["rows"], result.get("params", {}), result.get("extra", {})
    if isinstance(result, tuple) and len(result) in (2, 3):
        rows, params, *extra = result
        return rows, params, (extra[0] if extra else {})
    raise TypeError(f"a recipe returns (rows, params, extra) or a dict of those keys, got {type(result).__name__}")


def _plain(value):
    """Tuples as lists, recursively (JSON has only lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def document(name: str, result, seconds: float | None = None, **meta) -> dict:
    """A recipe's ``result`` (``(rows, params, extra)`` or a dict) as the cached sweep ``name``:
    labkit, torch and thread count of this process, now, ``seconds``. ``meta`` overrides those
    (a file converted from an older layout keeps the versions that computed it)."""
    import torch
    from .version import __version__
    e = entry(name)
    rows, params, extra = _parts(result)
    doc = {"sweep": e.name, "schema": SCHEMA, "command": e.command, "labkit": __version__,
           "torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads(), "created": now(),
           "seconds": None if seconds is None else round(float(seconds), 1),
           "params": _plain(dict(params)), "rows": list(rows), "extra": dict(extra or {})}
    unknown = set(meta) - set(KEYS[3:8])
    if unknown:
        raise ValueError(f"document() takes the metadata {', '.join(KEYS[3:8])}, not {', '.join(sorted(unknown))}")
    doc.update(meta)
    why = problem(doc, name)
    if why:
        raise ValueError(f"recipe of {name!r} made an invalid sweep: {why}")
    return doc


# ---------------------------------------------------------------------------- write, read
def write(doc: dict, path: str | Path) -> Path:
    """Write ``doc`` as JSON atomically (temporary file, then rename): a half-written sweep
    never replaces a good one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load(name: str, path: str | Path | None = None) -> dict:
    """The cached sweep ``name`` (from ``notebooks/cache/`` or ``path``). A missing file raises
    ``FileNotFoundError``, a stale one (another schema, missing keys, another sweep) ``ValueError``,
    each one line naming the command that remakes it."""
    e = entry(name)
    p = Path(path) if path is not None else e.path
    if not p.exists():
        raise FileNotFoundError(f"no cached sweep {name!r} at {p}: make it with `{e.command}`")
    try:
        doc = json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"cached sweep {name!r} at {p} is not JSON ({err.msg}): "
                         f"remake it with `{e.command}`") from None
    why = problem(doc, name)
    if why:
        raise ValueError(f"stale cached sweep {name!r} at {p} ({why}): remake it with `{e.command}`")
    return doc


def meta(doc: dict) -> dict:
    """The metadata a notebook prints: command, labkit, torch, threads, created, seconds."""
    return {k: doc[k] for k in ("command", "labkit", "torch", "threads", "created", "seconds")}


# ---------------------------------------------------------------------------- compute, run
def compute(name: str, tiny: bool = False, **kwargs) -> dict:
    """Run the recipe of ``name`` now (``tiny``: its tiny configuration; ``kwargs`` override) and
    return the document, not written: a notebook's ``FULL = True`` path."""
    e = entry(name)
    fn = recipe(name)
    t0 = time.perf_counter()
    result = fn(**{**(e.tiny if tiny else {}), **kwargs})
    return document(name, result, seconds=time.perf_counter() - t0)


def partial_path(out: str | Path) -> Path:
    """Where a resumable recipe keeps its finished rows while it runs (removed when it is done)."""
    out = Path(out)
    return out.with_name(out.stem + ".partial.json")


def _done_rows(partial: Path, name: str) -> list | None:
    try:
        doc = json.loads(partial.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(doc, dict) and doc.get("sweep") == name and isinstance(doc.get("rows"), list)
    return doc["rows"] if ok else None


def run(name: str, out: str | Path | None = None, tiny: bool = False, log=print, **kwargs) -> dict:
    """``python -m labkit sweep NAME``: set up torch (seed, threads from ``$LABKIT_THREADS``, the
    entry's device), run the recipe, write the document to ``out`` (default: its file in
    ``notebooks/cache/``) and return it. A recipe that takes ``done`` and ``checkpoint`` resumes:
    its finished rows are kept in ``partial_path(out)`` until it completes."""
    from .env import setup
    e = entry(name)
    out = Path(out) if out is not None else e.path
    setup(device=e.device, quiet=True)
    params = inspect.signature(recipe(name)).parameters
    partial = partial_path(out)
    if "checkpoint" in params and "done" in params:
        kwargs.setdefault("done", _done_rows(partial, name))
        kwargs.setdefault("checkpoint", lambda rows: write({"sweep": name, "partial": True, "rows": rows}, partial))
    doc = compute(name, tiny, **kwargs)
    write(doc, out)
    partial.unlink(missing_ok=True)
    log(f"wrote {out}: {len(doc['rows'])} rows in {doc['seconds']:.1f} s")
    return doc


# ---------------------------------------------------------------------------- listing, CLI
def status(name: str, path: str | Path | None = None) -> dict:
    """``{name, file, notebook, exists, created, problem}`` of a cached sweep, without importing its topic."""
    e = entry(name)
    p = Path(path) if path is not None else e.path
    row = {"name": name, "file": e.file, "notebook": e.notebook, "exists": p.exists(), "created": None, "problem": None}
    if row["exists"]:
        try:
            doc = json.loads(p.read_text())
            row["problem"] = problem(doc, name)
        except (OSError, ValueError) as err:
            doc, row["problem"] = None, f"unreadable: {err}"
        if isinstance(doc, dict) and not row["problem"]:
            row["created"] = doc["created"]
    return row


def listing() -> str:
    """The registry as a text table: name, file, notebook, whether the file exists, when it was made."""
    rows = [status(n) for n in REGISTRY]
    cols = ("name", "file", "notebook", "exists", "created")

    def cell(r, c):
        if c == "exists":
            return "yes" if r["exists"] else "no"
        if c == "created":
            return r["created"][:10] if r["created"] else ("stale: " + r["problem"] if r["problem"] else "-")
        return str(r[c])
    width = {c: max(len(c), *(len(cell(r, c)) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols).rstrip()]
    lines += ["  ".join(cell(r, c).ljust(width[c]) for c in cols).rstrip() for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m labkit sweep NAME [--out PATH] [--tiny]`` and ``python -m labkit sweep --list``."""
    p = argparse.ArgumentParser(prog="python -m labkit",
                                description="labkit's commands (others: python -m labkit.data, python -m labkit.zoo, "
                                            "python -m labkit.tools.student, python -m labkit.tools.bench).")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep", help="recompute a cached sweep of notebooks/cache/ (or list them)",
                       description="Recompute a cached sweep and write it to notebooks/cache/ (or --out).")
    s.add_argument("name", nargs="?", help=f"one of {', '.join(REGISTRY)}")
    s.add_argument("--list", action="store_true", help="list the cached sweeps and exit")
    s.add_argument("--out", type=Path, help="write here instead of notebooks/cache/<file>")
    s.add_argument("--tiny", action="store_true",
                   help="the tiny configuration (seconds; a smoke test, not the lab's numbers)")
    args = p.parse_args(argv)
    if args.list:
        print(listing())
        return 0
    if args.name is None:
        s.error(f"sweep needs a NAME ({', '.join(REGISTRY)}) or --list")
    if args.name not in REGISTRY:
        s.error(f"unknown sweep {args.name!r}: use one of {', '.join(REGISTRY)}")
    run(args.name, args.out, tiny=args.tiny, log=lambda *a: print(*a, flush=True))
    return 0
