"""The notebooks as talks: slide metadata for RISE, and reveal.js decks that open offline.

``python -m labkit.tools.slides`` sets every notebook's slide metadata (idempotent and
deterministic: run it again after editing a notebook, it rewrites only cells whose metadata it
changes); ``--check`` lists the cells that lack it and exits 1. The rules, from the cells alone:

- a markdown cell starting with a ``#`` or ``##`` heading opens a **slide**, ``###`` a
  **subslide**; other markdown continues the slide (``-``), or opens a subslide right after code;
- a **plumbing** code cell (the setup call, the papermill ``parameters`` cell, a cell of imports
  only) is **skipped** in the slides and tagged ``plumbing``; every other code cell (the code that
  teaches, its figures and tables) opens a subslide.

``python -m labkit.tools.slides --export build/slides`` (``make slides``) writes one reveal.js
deck per notebook, with reveal.js, RequireJS, jQuery and MathJax copied next to them from the npm
registry's packages (installed once into ``build/slides/_static``), so the decks render with no
network at presentation time.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from ..paths import NOTEBOOKS, ROOT

PLUMBING = "plumbing"
RISE = {"scroll": True, "enable_chalkboard": False}
# npm packages copied beside the decks (pinned: the decks are reproducible offline)
NPM = {"reveal.js": "4.6.1", "requirejs": "2.3.7", "jquery": "3.7.1", "mathjax": "2.7.9"}
_IMPORT = re.compile(r"^\s*(import\s+\S|from\s+\S+\s+import\s)")


def is_plumbing(cell) -> bool:
    """Setup, parameters and import-only code cells: left out of the slides."""
    if cell.cell_type != "code":
        return False
    if "parameters" in cell.metadata.get("tags", []):
        return True
    lines = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if any("labkit.setup(" in ln for ln in lines):
        return True
    return bool(lines) and all(_IMPORT.match(ln) for ln in lines)


def slide_types(nb) -> list[str]:
    """The slide type of every cell of ``nb`` under the rules above."""
    out, prev = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            first = cell.source.lstrip().split("\n", 1)[0]
            level = len(first) - len(first.lstrip("#")) if first.startswith("#") else 0
            kind = "slide" if level in (1, 2) else "subslide" if level == 3 else ("subslide" if prev == "code" else "-")
        elif cell.cell_type == "code":
            kind = "skip" if is_plumbing(cell) else "subslide"
        else:
            kind = "skip"
        out.append(kind)
        if kind != "skip":
            prev = cell.cell_type
    return out


def apply(nb) -> int:
    """Set the slide metadata of ``nb`` in place; returns how many cells changed."""
    changed = 0
    for cell, kind in zip(nb.cells, slide_types(nb)):
        before = (dict(cell.metadata.get("slideshow", {})), list(cell.metadata.get("tags", [])))
        cell.metadata["slideshow"] = {"slide_type": kind}
        tags = [t for t in cell.metadata.get("tags", []) if t != PLUMBING]
        if kind == "skip" and cell.cell_type == "code":
            tags.append(PLUMBING)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        changed += (dict(cell.metadata["slideshow"]), list(cell.metadata.get("tags", []))) != before
    if nb.metadata.get("rise") != RISE:
        nb.metadata["rise"] = dict(RISE)
        changed += 1
    return changed


def missing(nb) -> list[int]:
    """Indices of cells whose slide metadata is absent or not what ``apply`` would set."""
    want = slide_types(nb)
    return [i for i, (c, k) in enumerate(zip(nb.cells, want))
            if c.metadata.get("slideshow", {}).get("slide_type") != k
            or ((PLUMBING in c.metadata.get("tags", [])) != (k == "skip" and c.cell_type == "code"))]


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("[0-9]*.ipynb"))


def set_metadata(paths) -> list[Path]:
    """Apply the rules to each notebook file, writing only those that change; returns them."""
    written = []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        if apply(nb):
            nbformat.write(nb, p)
            written.append(p)
    return written


def static(out: Path) -> Path:
    """``out/_static`` with the npm packages of ``NPM`` (installed with npm once, then reused)."""
    target = out / "_static"
    stamp = target / ".installed"
    want = " ".join(f"{k}@{v}" for k, v in NPM.items())
    if stamp.exists() and stamp.read_text() == want:
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("make slides needs npm (Node.js) to fetch reveal.js once: apt-get install npm")
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", "--no-save",
                    "--loglevel=error", *want.split()], check=True)
    stamp.write_text(want)
    return target


def export(out: Path, paths=None) -> list[Path]:
    """One reveal.js deck per notebook in ``out``, every script and style from ``out/_static``."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config
    out.mkdir(parents=True, exist_ok=True)
    static(out)
    mods = "_static/node_modules"
    c = Config()
    c.SlidesExporter.reveal_url_prefix = f"{mods}/reveal.js"
    c.SlidesExporter.reveal_theme = "white"
    c.SlidesExporter.reveal_scroll = True
    c.SlidesExporter.require_js_url = f"{mods}/requirejs/require.js"
    c.SlidesExporter.jquery_url = f"{mods}/jquery/dist/jquery.min.js"
    c.SlidesExporter.mathjax_url = f"{mods}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    c.SlidesExporter.exclude_input_prompt = True
    c.SlidesExporter.exclude_output_prompt = True
    c.TagRemovePreprocessor.remove_cell_tags = {PLUMBING}
    c.TagRemovePreprocessor.enabled = True
    exporter = SlidesExporter(config=c)
    written = []
    for p in paths or notebooks():
        nb = nbformat.read(p, as_version=4)
        # No widget manager offline (it would come from a CDN): without the saved widget state
        # each widget's output falls back to the PNG of its figure it carries (ui.widgets.StaticView).
        nb.metadata.pop("widgets", None)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": p.stem}})
        dest = out / f"{p.stem}.slides.html"
        dest.write_text(body, encoding="utf-8")
        written.append(dest)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m labkit.tools.slides", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/[0-9]*.ipynb")
    ap.add_argument("--check", action="store_true", help="list cells without the slide metadata; exit 1 if any")
    ap.add_argument("--export", type=Path, metavar="FOLDER", help="write reveal.js decks there (e.g. build/slides)")
    args = ap.parse_args(argv)
    paths = args.notebooks or notebooks()
    if args.export:
        for d in export(args.export, paths):
            print(f"wrote {d.relative_to(ROOT) if d.is_relative_to(ROOT) else d}")
        return 0
    if args.check:
        bad = {p.name: missing(nbformat.read(p, as_version=4)) for p in paths}
        bad = {k: v for k, v in bad.items() if v}
        for name, cells in bad.items():
            print(f"{name}: cells {cells} lack slide metadata: run python -m labkit.tools.slides")
        return 1 if bad else 0
    written = set_metadata(paths)
    print(f"slide metadata set in {len(written)} of {len(paths)} notebooks" +
          (": " + ", ".join(p.name for p in written) if written else " (all were up to date)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
