"""labkit's import graph (issue 28): no import circles, and a core that imports no topic, ui,
checks or tools, at module level or inside a function (read with ``ast``: labkit.tools.imports);
then, in a fresh interpreter, importing every core module loads no topic and no UI stack."""
import json
import subprocess
import sys

from labkit.tools import imports


def test_the_graph_has_no_circles_and_the_core_imports_no_topic():
    edges = imports.graph()
    print("\n" + imports.report(edges))                      # pytest -s shows the graph
    circles = imports.simple_cycles(edges)
    assert not imports.cycles(edges), "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)
    bad = imports.core_violations(edges)
    assert not bad, "core modules importing a topic, ui, checks or tools:\n" + "\n".join(f"{a} -> {b}" for a, b in bad)


def test_the_graph_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "labkit"
    (pkg / "pruning").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import x\n")
    (pkg / "a.py").write_text("import labkit.b\n\ndef f():\n    from .pruning import channels\n    from . import c\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n")
    (pkg / "c.py").write_text("from .pruning import prune_it\n")
    (pkg / "pruning" / "__init__.py").write_text("from ..a import x\n")
    (pkg / "pruning" / "channels.py").write_text("from .. import b\nfrom ..c import *\n")
    edges = imports.graph(pkg)
    assert edges == {"labkit": {"labkit.a"}, "labkit.a": {"labkit.b", "labkit.pruning.channels", "labkit.c"},
                     "labkit.b": set(), "labkit.c": {"labkit.pruning"}, "labkit.pruning": {"labkit.a"},
                     "labkit.pruning.channels": {"labkit.b", "labkit.c"}}
    assert imports.cycles(edges) == [["labkit.a", "labkit.c", "labkit.pruning", "labkit.pruning.channels"]]
    assert imports.simple_cycles(edges) == [["labkit.a", "labkit.c", "labkit.pruning", "labkit.a"],
                                            ["labkit.a", "labkit.pruning.channels", "labkit.c", "labkit.pruning", "labkit.a"]]
    assert imports.core_violations(edges) == [("labkit.a", "labkit.pruning.channels"), ("labkit.c", "labkit.pruning")]
    assert "circles: 1 strongly connected components" in imports.report(edges)


def test_importing_the_core_loads_no_topic_and_no_ui_stack():
    core = sorted(m for m in imports.modules(imports.Path(imports.__file__).resolve().parents[1])
                  if imports.is_core(m) and m != "labkit.__main__")
    code = ("import importlib, json, sys\n"
            f"for m in {core!r}:\n    importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    not_core = [m for m in loaded if m.startswith("labkit.") and not imports.is_core(m)]
    ui_stack = [m for m in loaded if m.split(".")[0] in ("matplotlib", "ipywidgets")]
    assert len(core) > 20 and not not_core and not ui_stack, (not_core, ui_stack[:5])
