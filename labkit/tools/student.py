"""Write the student edition of the notebooks: every solution block becomes a stub.

Solution code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's
markers). ``python -m labkit.tools.student`` (``make student``) writes copies of
``notebooks/*.ipynb`` to ``build/student/`` (git-ignored) with each block replaced by
``raise NotImplementedError()`` at the block's indentation and all outputs cleared.
The student edition is generated, never edited by hand.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from ..paths import NOTEBOOKS, ROOT

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "raise NotImplementedError()"
_BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)


def strip_solutions(source: str) -> str:
    """The source with each solution block replaced by an indented stub."""
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers ({source.count(BEGIN)} BEGIN, {source.count(END)} END): "
                         f"close every '{BEGIN}' with '{END}'")
    return _BLOCK.sub(lambda m: f"{m.group(1)}{STUB}{m.group(2)}", source)


def student_notebook(nb):
    """A copy of a notebook with solutions stubbed and outputs cleared."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs, cell.execution_count = [], None
    return nb


def exercise_cells(nb) -> list[int]:
    """Indices of code cells that hold a solution block."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and BEGIN in c.source]


def write_student_edition(src: Path = NOTEBOOKS, out: Path = ROOT / "build" / "student") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(src.glob("*.ipynb")):
        nb = student_notebook(nbformat.read(path, as_version=4))
        target = out / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.tools.student", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    args = p.parse_args(argv)
    for path in write_student_edition(out=args.out):
        n = len(exercise_cells(nbformat.read(NOTEBOOKS / path.name, as_version=4)))
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {n} exercise(s) stubbed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
