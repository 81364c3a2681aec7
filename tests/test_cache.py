"""labkit.cache: one schema for every cached sweep. Each registered sweep regenerates in its tiny
configuration through the command's own code path; every committed file loads and is registered;
missing and stale files fail in one line naming the command; listing imports no topic."""
import datetime
import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import cache

ROOT = Path(cache.__file__).resolve().parents[1]
NAMES = list(cache.REGISTRY)
SCALARS = (str, int, float, bool, type(None))


def check_schema(doc: dict, name: str) -> None:
    assert list(doc) == list(cache.KEYS)
    assert doc["sweep"] == name and doc["schema"] == cache.SCHEMA == 1
    assert doc["command"] == f"python -m labkit sweep {name}" == cache.command(name)
    for key in ("labkit", "torch", "created"):
        assert isinstance(doc[key], str) and doc[key]
    assert isinstance(doc["threads"], int) and doc["threads"] >= 1
    assert doc["seconds"] is None or (isinstance(doc["seconds"], (int, float)) and doc["seconds"] >= 0)
    datetime.datetime.fromisoformat(doc["created"])
    assert isinstance(doc["params"], dict) and isinstance(doc["extra"], dict)
    for key, value in doc["params"].items():
        if isinstance(value, list):
            assert all(isinstance(v, SCALARS) for v in value), key
        elif isinstance(value, dict):
            assert all(isinstance(v, SCALARS) for v in value.values()), key
        else:
            assert isinstance(value, SCALARS), key
    assert isinstance(doc["rows"], list) and doc["rows"]
    for row in doc["rows"]:
        assert isinstance(row, dict) and row
        json.dumps(row, allow_nan=False)
    json.dumps(doc["extra"], allow_nan=False)
    assert cache.problem(doc, name) is None


def one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def fresh_python(code: str) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter that imports this worktree's labkit."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------------------- (a) every sweep, tiny
@pytest.mark.parametrize("name", NAMES)
def test_tiny_configuration_regenerates_the_sweep(name, tmp_path):
    e = cache.entry(name)
    out = tmp_path / e.file
    doc = cache.run(name, out, tiny=True, log=lambda *a: None)    # `python -m labkit sweep NAME --tiny --out OUT`
    assert out.exists() and not cache.partial_path(out).exists()
    assert [p.name for p in tmp_path.iterdir()] == [e.file]              # no temporary file left behind
    written = json.loads(out.read_text())
    check_schema(written, name)
    assert cache.load(name, out) == written == json.loads(json.dumps(doc))
    assert written["labkit"] == __import__("labkit").__version__ and written["seconds"] > 0
    for key, value in e.tiny.items():                                    # the settings are recorded
        if key in written["params"]:
            got = written["params"][key]
            assert value.items() <= got.items() if isinstance(value, dict) else got == value, key
    # the same shape as the committed sweep, for the notebook's view too
    committed = cache.load(name)
    assert set(written["params"]) == set(committed["params"]) and set(written["extra"]) == set(committed["extra"])
    # ("params": counted by points.make from a model since records keep it; a cache made before has none)
    assert {frozenset(r) - {"params"} for r in written["rows"]} <= {frozenset(r) - {"params"} for r in committed["rows"]}
    assert set(cache.view(name, written)) == set(cache.view(name, committed))


def test_the_command_line_writes_a_tiny_sweep(tmp_path):
    out = tmp_path / "lat.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "labkit", "sweep", "trend-latency", "--tiny", "--out", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    check_schema(cache.load("trend-latency", out), "trend-latency")
    bad = subprocess.run([sys.executable, "-m", "labkit", "sweep", "nope"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "unknown sweep 'nope'" in bad.stderr and "trend-latency" in bad.stderr


# the notebooks' FULL = True path: the topic's compute-now function runs the same recipe (through
# cache.compute) and returns the shape its load function returns
FULL = {"compact": ("labkit.compact.sweep", "sweep", "load_sweep"),
        "pruning": ("labkit.pruning.sweep", "sweep", "load_sweep"),
        "quant-ptq": ("labkit.quantization.sweep", "sweep_ptq", "load_ptq"),
        "quant-qat": ("labkit.quantization.sweep", "sweep_qat", "load_qat"),
        "quant-mixed": ("labkit.quantization.sweep", "sweep_mixed", "load_mixed"),
        "distillation": ("labkit.distillation.sweep", "sweep", "load_sweeps")}


@pytest.mark.parametrize("name", list(FULL))
def test_full_path_and_cache_give_the_same_shape(name, monkeypatch):
    module = importlib.import_module(FULL[name][0])
    full, cached = (getattr(module, f) for f in FULL[name][1:])
    raw = json.loads(cache.entry(name).path.read_text(encoding="utf-8"))      # the file, read here
    seen, marked = [], "2000-01-01T00:00:00"
    # compute returns the committed document with one field marked: the FULL path must show it
    monkeypatch.setattr(cache, "compute", lambda n, **kw: seen.append((n, kw)) or {**cache.load(n), "created": marked})
    got_full, got_cached = full(epochs=0.5), cached()
    assert seen == [(name, {"epochs": 0.5})]
    for key in ("command", "labkit", "torch", "threads", "created"):
        assert got_cached[key] == raw[key], key
    assert got_full["created"] == marked and {**got_full, "created": raw["created"]} == got_cached


def test_committed_sweeps_were_made_with_the_recipes_defaults():
    """The recipes' defaults are the lab's settings: the committed files record the same ones."""
    for name in NAMES:
        params = cache.load(name)["params"]
        for key, p in inspect.signature(cache.recipe(name)).parameters.items():
            if key not in params or p.default is inspect.Parameter.empty:
                continue
            if p.default is None and key in ("epochs", "budget", "sensitivity_images", "matched"):   # None: the module's default
                continue
            assert params[key] == cache._plain(p.default), (name, key)


# ---------------------------------------------------------------------------- (b) the committed files
def test_every_committed_cache_is_registered_and_loads():
    files = {p.name for p in cache.folder().glob("*.json") if not p.name.endswith(".partial.json")}
    assert files == {e.file for e in cache.REGISTRY.values()}
    assert len({e.file for e in cache.REGISTRY.values()}) == len(cache.REGISTRY)
    for name, e in cache.REGISTRY.items():
        assert e.path.exists() and e.path.parent == ROOT / "notebooks" / "cache"
        assert (ROOT / "notebooks" / f"{e.notebook}.ipynb").exists(), e.notebook
        assert e.name == name and e.recipe.count(":") == 1 and e.view and e.tiny
        doc = cache.load(name)
        check_schema(doc, name)
        view = cache.view(name, doc)
        assert {k: view[k] for k in ("command", "torch", "threads", "created")} == \
               {k: doc[k] for k in ("command", "torch", "threads", "created")}


def test_status_and_listing_read_the_files(tmp_path):
    rows = {n: cache.status(n) for n in NAMES}
    assert all(r["exists"] and r["problem"] is None and r["created"] for r in rows.values())
    missing = cache.status("pruning", tmp_path / "none.json")
    assert not missing["exists"] and missing["created"] is None
    (tmp_path / "old.json").write_text(json.dumps({"command": "python -m labkit.prune sweep"}))
    assert "no schema number" in cache.status("pruning", tmp_path / "old.json")["problem"]
    lines = cache.listing().splitlines()
    assert lines[0].split() == ["name", "file", "notebook", "exists", "created"] and len(lines) == 1 + len(NAMES)
    for line, name in zip(lines[1:], NAMES):
        e = cache.entry(name)
        assert line.split()[:4] == [name, e.file, e.notebook, "yes"]


# ---------------------------------------------------------------------------- (c) missing, stale, invalid
def test_missing_and_stale_files_fail_in_one_line_naming_the_command(tmp_path):
    cmd = "python -m labkit sweep pruning"
    with pytest.raises(FileNotFoundError) as err:
        cache.load("pruning", tmp_path / "none.json")
    assert cmd in one_line(err)
    good = cache.load("pruning")
    stale = {"the 0.1 layout": {"model": "cnn", "methods": {}, "command": "python -m labkit.prune sweep"},
             "another schema": {**good, "schema": 2},
             "a missing key": {k: v for k, v in good.items() if k != "params"},
             "another sweep": {**good, "sweep": "compact", "command": "python -m labkit sweep compact"},
             "an old command": {**good, "command": "python -m labkit.prune sweep"},
             "no rows": {**good, "rows": []},
             "nested params": {**good, "params": {"grid": [[1, 2]]}},
             "a bad date": {**good, "created": "yesterday"},
             "a list": [good]}
    for what, doc in stale.items():
        path = tmp_path / f"{what}.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(ValueError) as err:
            cache.load("pruning", path)
        msg = one_line(err)
        assert cmd in msg and msg.startswith("stale cached sweep 'pruning'"), what
    (tmp_path / "broken.json").write_text('{"sweep": "pruning", ')
    with pytest.raises(ValueError) as err:
        cache.load("pruning", tmp_path / "broken.json")
    assert "not JSON" in one_line(err) and cmd in str(err.value)
    with pytest.raises(ValueError) as err:
        cache.load("prunning")
    assert "unknown sweep 'prunning'" in one_line(err) and "pruning" in str(err.value)


def test_document_adds_the_metadata_and_refuses_what_json_cannot_hold():
    import torch
    rows, params = [{"config": {"ratio": 0.3}, "accuracy_pct": 90.0}], {"model": "cnn", "bits": (8, 4)}
    doc = cache.document("pruning", (rows, params, {"note": [1]}), seconds=1.234)
    check_schema(doc, "pruning")
    assert doc["params"]["bits"] == [8, 4] and doc["seconds"] == 1.2 and doc["threads"] == torch.get_num_threads()
    assert doc["torch"] == torch.__version__.split("+")[0] and doc["extra"] == {"note": [1]}
    assert cache.document("pruning", {"rows": rows, "params": params})["extra"] == {}
    kept = cache.document("pruning", (rows, params), labkit="0.1.0", torch="2.0", threads=3,
                          created="2026-01-02T03:04:05+00:00", seconds=None)
    assert (kept["labkit"], kept["torch"], kept["threads"], kept["created"], kept["seconds"]) == \
           ("0.1.0", "2.0", 3, "2026-01-02T03:04:05+00:00", None)
    with pytest.raises(ValueError, match="no rows"):
        cache.document("pruning", ([], params))
    with pytest.raises(ValueError, match="params grid"):
        cache.document("pruning", (rows, {"grid": [[1]]}))
    with pytest.raises(ValueError, match="rows, params, extra"):
        cache.document("pruning", {"points": rows})
    with pytest.raises(TypeError, match="rows, params, extra"):
        cache.document("pruning", rows)
    with pytest.raises(ValueError, match="not sweep"):
        cache.document("pruning", (rows, params), sweep="x")


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    cache.write({"a": 1}, path)
    assert json.loads(path.read_text()) == {"a": 1}

    def broken(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(cache.json, "dumps", broken)
    with pytest.raises(RuntimeError):
        cache.write({"a": 2}, path)
    assert json.loads(path.read_text()) == {"a": 1} and [p.name for p in tmp_path.iterdir()] == ["s.json"]


# ---------------------------------------------------------------------------- (d) imports
def test_listing_imports_no_topic_and_no_ipywidgets():
    r = fresh_python(
        "import runpy, sys\n"
        "sys.argv = ['labkit', 'sweep', '--list']\n"
        "try:\n"
        "    runpy.run_module('labkit', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "topics = ('labkit.pruning', 'labkit.quantization', 'labkit.distillation', 'labkit.compact', 'labkit.ui')\n"
        "print(sorted(m for m in sys.modules if m == 'ipywidgets' or m.startswith(topics)))\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "[]"
    for name in NAMES:
        assert any(line.startswith(name + " ") for line in lines), name


RECIPE_MODULES = sorted({e.recipe.split(":")[0] for e in cache.REGISTRY.values()})


@pytest.fixture(scope="module")
def ipywidgets_importers() -> dict:
    """``{recipe module: whether importing it tries to import ipywidgets}``, from one new
    interpreter in which ipywidgets is blocked and labkit is imported afresh for each module (so
    each is judged on its own imports)."""
    r = fresh_python(
        "import importlib, json, sys\n"
        "class Block:\n"
        "    seen = []\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'ipywidgets':\n"
        "            Block.seen.append(name)\n"
        "            raise ImportError('blocked by the test: ipywidgets')\n"
        "sys.meta_path.insert(0, Block())\n"
        "out = {}\n"
        f"for m in {RECIPE_MODULES!r}:\n"
        "    Block.seen.clear()\n"
        "    for name in [n for n in sys.modules if n.split('.')[0] == 'labkit']:\n"
        "        del sys.modules[name]\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except ImportError:\n"
        "        pass\n"
        "    out[m] = bool(Block.seen)\n"
        "print(json.dumps(out))\n")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


@pytest.mark.parametrize("module", RECIPE_MODULES)
def test_recipe_modules_do_not_import_ipywidgets(module, ipywidgets_importers):
    assert ipywidgets_importers[module] is False


def test_read_is_the_registered_view_of_the_checked_file(tmp_path):
    pruning_sweep = importlib.import_module("labkit.pruning.sweep")     # the module (the package's sweep is a function)
    raw = json.loads(cache.entry("pruning").path.read_text(encoding="utf-8"))
    assert cache.read("pruning") == pruning_sweep.view(raw)
    bad = tmp_path / "stale.json"
    bad.write_text(json.dumps({**raw, "schema": 0}))
    with pytest.raises(ValueError, match="stale cached sweep 'pruning'.*python -m labkit sweep pruning"):
        cache.read("pruning", bad)
