"""One cache for every sweep the notebooks read: ``notebooks/cache/*.json``, one schema, one
writer, one reader, one command (``python -m labkit sweep NAME``).

Every cached sweep is a JSON document::

    {"sweep": NAME, "schema": 1, "command": "python -m labkit sweep NAME",
     "labkit": version, "torch": version, "threads": n, "created": ISO date, "seconds": wall time,
     "params": {settings: JSON scalars or flat lists / dicts of them},
     "rows": [{...}, ...], "extra": {optional auxiliary results}}

``REGISTRY`` names every sweep, from the ``SWEEPS`` of each topic's ``manifest.py``
(``labkit.manifests``): its file, the notebook that reads it, its recipe (a function
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

from . import manifests
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


def _registry() -> dict[str, Sweep]:
    """Every topic's ``SWEEPS`` (its ``manifest.py``, read without importing the topic)."""
    return {name: Sweep(**d) for _topic, name, d in manifests.collect("SWEEPS")}


REGISTRY: dict[str, Sweep] = _registry()


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


def read(name: str, path: str | Path | None = None):
    """The cached sweep ``name`` in the shape its notebook reads: ``view(name, load(name, path))``
    (the topics' ``load_*`` functions are this one call)."""
    return view(name, load(name, path))


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
