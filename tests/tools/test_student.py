"""The student edition: solutions are stubbed, and every check then fails on the stubs."""
import nbformat
import pytest

from labkit.tools import student
from labkit.paths import NOTEBOOKS

NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
SOURCE = '''def f(x):
    """doc"""
    ### BEGIN SOLUTION
    y = x + 1
    return y
    ### END SOLUTION

def g():
    ### BEGIN SOLUTION
    return 2
    ### END SOLUTION
'''


def test_strip_solutions_keeps_indentation_and_everything_else():
    out = student.strip_solutions(SOURCE)
    assert out == 'def f(x):\n    """doc"""\n    raise NotImplementedError()\n\ndef g():\n    raise NotImplementedError()\n'


def test_unbalanced_markers_are_refused():
    with pytest.raises(ValueError, match="close every"):
        student.strip_solutions("### BEGIN SOLUTION\nx = 1\n")


def _check_cells(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "checks.check_" in c.source]


def _pairs(nb):
    """(exercise cell, the first check cell after it) for every exercise."""
    checks_at = _check_cells(nb)
    for i in student.exercise_cells(nb):
        after = [j for j in checks_at if j > i]
        assert after, f"exercise cell {i} has no check cell after it"
        yield i, after[0]


def _run(nb, i, j):
    ns = {}
    exec("import torch\nfrom torch import nn\nimport labkit", ns)
    exec(nb.cells[i].source, ns)
    exec(nb.cells[j].source, ns)


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.name)
def test_student_edition_has_no_solutions_and_fails_every_check(path):
    nb = nbformat.read(path, as_version=4)
    stu = student.student_notebook(nb)
    assert all(not c.get("outputs") for c in stu.cells if c.cell_type == "code")
    text = "\n".join(c.source for c in stu.cells)
    assert student.BEGIN not in text and student.END not in text
    pairs = list(_pairs(nb))
    for i, j in pairs:
        _run(nb, i, j)                                    # the solution passes its check ...
        with pytest.raises((AssertionError, NotImplementedError)):
            _run(stu, i, j)                               # ... and the stub fails it


def test_every_notebook_with_checks_has_exercises():
    for path in NOTEBOOK_PATHS:
        nb = nbformat.read(path, as_version=4)
        assert bool(_check_cells(nb)) == bool(student.exercise_cells(nb)), path.name


def test_write_student_edition(tmp_path):
    written = student.write_student_edition(out=tmp_path)
    assert [p.name for p in written] == [p.name for p in sorted(NOTEBOOKS.glob("*.ipynb"))]
    for p in written:
        assert student.BEGIN not in p.read_text()
