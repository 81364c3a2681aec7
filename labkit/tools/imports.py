"""labkit's import graph, read from the source with ``ast`` (nothing is imported):
``python -m labkit.tools.imports [ROOT]`` prints every module's edges, the import circles and
the core modules that import a topic, ``ui``, ``checks`` or ``tools`` (issue 28: both must be 0).

- An edge ``a -> b``: module ``a`` imports ``b``, at module level or inside a function,
  relative (``from .x import y``) or absolute (``import labkit.x``). ``from .pkg import name``
  goes to ``pkg.name`` when that is a module, else to ``pkg`` (its ``__init__``). The implicit
  import of a parent package is not an edge (Python handles a half-initialised parent).
- The core: every module directly in ``labkit/`` (``labkit.env``, ``labkit.size``, ...,
  ``labkit`` itself). Not core: the topic folders and ``ui``, ``checks``, ``tools``.
- A circle: a strongly connected component of more than one module (or a module that imports
  itself); ``cycles()`` lists each component, ``simple_cycles()`` the elementary circles in it.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

TOPICS = ("compact", "pruning", "quantization", "binarization", "distillation", "lowrank", "nas",
          "joint", "explorer", "harm")
NOT_CORE = (*TOPICS, "ui", "checks", "tools")


def modules(root: Path) -> dict[str, Path]:
    """``{"labkit.size": path, "labkit.pruning": path/__init__.py, ...}`` under package ``root``."""
    root = Path(root)
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(name: str, mods: dict[str, Path]) -> bool:
    return mods[name].name == "__init__.py"


def _resolve(current: str, mods: dict, level: int, module: str | None) -> str:
    """The absolute name ``from <level dots><module>`` means inside ``current``."""
    if level == 0:
        return module or ""
    base = current.split(".")
    if not _is_package(current, mods):
        base = base[:-1]
    base = base[:len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, skipping ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def graph(root: Path | str | None = None) -> dict[str, set[str]]:
    """``{module: {labkit modules it imports}}`` for every module of the package at ``root``
    (default: this labkit)."""
    root = Path(root) if root else Path(__file__).resolve().parents[1]
    mods = modules(root)
    pkg = root.name
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = _resolve(name, mods, node.level, node.module)
                for a in node.names:
                    sub = f"{base}.{a.name}" if base else a.name
                    targets.append(sub if sub in mods else base)
            for t in targets:
                while t and t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and (t == pkg or t.startswith(pkg + ".")) and t != name:
                    edges[name].add(t)
                elif t == name:
                    edges[name].add(t)
    return edges


def is_core(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 1 or (len(parts) == 2 and parts[1] not in NOT_CORE)


def core_violations(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """``(core module, what it imports)`` for every core edge into a topic, ui, checks or tools."""
    return sorted((a, b) for a, bs in edges.items() if is_core(a) for b in bs if not is_core(b))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with a circle in them (Tarjan), each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


def simple_cycles(edges: dict[str, set[str]], limit: int = 10000) -> list[list[str]]:
    """Elementary circles (each once, starting at its smallest module), at most ``limit``."""
    found = []
    for comp in cycles(edges):
        members = set(comp)
        for start in comp:
            path, stack = [start], [iter(sorted(edges[start] & members))]
            while stack and len(found) < limit:
                nxt = next(stack[-1], None)
                if nxt is None:
                    stack.pop()
                    path.pop()
                elif nxt == start:
                    found.append(path + [start])
                elif nxt > start and nxt not in path:
                    path.append(nxt)
                    stack.append(iter(sorted(edges[nxt] & members)))
    return found


def report(edges: dict[str, set[str]]) -> str:
    """The graph, one line per module with its edges, then the circles and the core violations."""
    lines = [f"{len(edges)} modules, {sum(map(len, edges.values()))} edges"]
    for a in sorted(edges):
        lines.append(f"{a} -> {', '.join(sorted(edges[a])) or '-'}")
    comps, simple, bad = cycles(edges), simple_cycles(edges), core_violations(edges)
    lines.append(f"circles: {len(comps)} strongly connected components, {len(simple)} elementary circles")
    lines += ["  " + " -> ".join(c) for c in simple]
    lines.append(f"core -> topic/ui/checks/tools edges: {len(bad)}")
    lines += [f"  {a} -> {b}" for a, b in bad]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print(report(graph(argv[0] if argv else None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
