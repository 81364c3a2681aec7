"""Each topic's registrations, read from its data-only ``labkit/<topic>/manifest.py``.

A topic registers what it adds to the lab's shared tables in one file of its own folder, so a new
technique, sweep or widget touches only that folder (and its checks)::

    NOTEBOOKS = ("02_pruning",)                  # the notebooks it serves (the tables keep this order)
    FAMILY = "prune"                             # the explorer's family of its techniques
    TECHNIQUES = ("prune-fine", "prune-channel") # record vocabulary (``labkit.record``)
    SWEEPS = ({"name": ..., "file": ..., "notebook": ..., "recipe": "module:function", ...},)  # ``labkit.cache``
    WIDGETS = {"02 pruning": "labkit.pruning.widgets:bench_widgets"}                             # ``labkit.ui.catalogue``
    ZOO = {"vae": {"model": "vae", "epochs": 5, ...}}                                           # ``labkit.zoo``

The file is never imported or executed: it is parsed (``ast``) and each assignment must be a
literal (``ast.literal_eval``), so reading every manifest imports no topic code, and a manifest
that computes anything, imports anything or names another key fails with one line naming the file.
The core modules (``cache``, ``record``, ``zoo``) and ``ui.catalogue`` build their tables from
``read()``; "module:function" strings are imported only when that one entry is used.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
KEYS = {"NOTEBOOKS": tuple, "FAMILY": str, "TECHNIQUES": tuple, "SWEEPS": tuple, "WIDGETS": dict, "ZOO": dict}
REQUIRED = ("NOTEBOOKS",)


class ManifestError(ValueError):
    """A topic's manifest.py is not the data-only file this module reads."""


def parse(path: str | Path) -> dict:
    """The manifest at ``path`` as ``{KEY: value}`` (only literal assignments of ``KEYS``)."""
    path = Path(path)
    where = f"{path.parent.name}/{path.name}"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as e:
        raise ManifestError(f"{where}:{e.lineno}: not valid Python ({e.msg})") from None
    out: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue                                                    # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ManifestError(f"{where}:{node.lineno}: a manifest holds only `KEY = literal` lines "
                                f"(one of {', '.join(KEYS)}); move code into the topic's modules")
        key = node.targets[0].id
        if key not in KEYS:
            raise ManifestError(f"{where}:{node.lineno}: unknown key {key!r}: use one of {', '.join(KEYS)}")
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise ManifestError(f"{where}:{node.lineno}: {key} must be a literal (numbers, strings, tuples, "
                                f"lists, dicts), not computed") from None
        if not isinstance(value, KEYS[key]):
            raise ManifestError(f"{where}:{node.lineno}: {key} must be a {KEYS[key].__name__}, "
                                f"got {type(value).__name__}")
        out[key] = value
    for key in REQUIRED:
        if key not in out:
            raise ManifestError(f"{where}: {key} is missing (the notebooks the topic serves, e.g. ('02_pruning',))")
    return out


def paths() -> list[Path]:
    """Every topic's manifest.py (a topic is a sub-package of ``labkit`` that has one)."""
    return sorted(PACKAGE.glob("*/manifest.py"))


@functools.lru_cache(maxsize=None)
def read() -> tuple[tuple[str, dict], ...]:
    """``((topic, manifest), ...)`` in the order of the notebooks they serve (then by topic name)."""
    found = [(p.parent.name, parse(p)) for p in paths()]
    return tuple(sorted(found, key=lambda tm: (min(tm[1]["NOTEBOOKS"]), tm[0])))


def collect(key: str) -> list:
    """Every topic's ``key`` entries, in ``read()`` order: tuples are concatenated, dicts are merged
    (a name registered by two topics is an error naming both)."""
    if KEYS.get(key) not in (tuple, dict):
        raise ValueError(f"collect takes a key whose value is a table: one of "
                         f"{', '.join(k for k, t in KEYS.items() if t in (tuple, dict))}, got {key!r}")
    items, owner = [], {}
    for topic, m in read():
        value = m.get(key, KEYS[key]())
        pairs = value.items() if isinstance(value, dict) else ((_name(v), v) for v in value)
        for name, v in pairs:
            if name in owner:
                raise ManifestError(f"{key} entry {name!r} is registered by both {owner[name]} and {topic}")
            owner[name] = topic
            items.append((topic, name, v))
    return items


def _name(v) -> str:
    return v["name"] if isinstance(v, dict) else v
