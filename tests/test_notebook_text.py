"""The notebooks' own text: no control characters (a '\\f' or '\\t' written where a LaTeX '\\frac'
or '\\text' was meant turns a formula into garbage), in markdown or in code."""
import json

import pytest

from labkit.paths import NOTEBOOKS

NOTEBOOKS_ = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def control_characters(text: str) -> list[str]:
    return sorted({hex(ord(ch)) for ch in text if ord(ch) < 32 and ch != "\n"})


@pytest.mark.parametrize("path", NOTEBOOKS_, ids=lambda p: p.stem)
def test_no_control_characters_in_any_cell(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        bad = control_characters("".join(cell["source"]))
        assert not bad, f"{path.name} cell {i} ({cell['cell_type']}) holds control characters {bad}: write LaTeX in a raw string"


def test_a_formula_written_in_a_plain_string_is_caught():
    assert control_characters("$$\frac{a}{b} \text{ and } \approx$$") == ["0x7", "0x9", "0xc"]
    assert control_characters(r"$$\frac{a}{b} \text{ and } \approx$$") == []
