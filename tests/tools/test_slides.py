"""labkit.tools.slides: the slide rules, idempotence, every notebook carries the metadata."""
import nbformat
import pytest

from labkit.tools import slides


def nb_of(*cells):
    nb = nbformat.v4.new_notebook()
    make = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[k](s) for k, s in cells]
    return nb


def test_rules():
    nb = nb_of(("md", "# Title\ntext"), ("code", "import labkit\ndevice = labkit.setup()"),
               ("code", "FULL = False"), ("md", "plain text"), ("code", "import torch\nfrom torch import nn"),
               ("code", "x = 1\nprint(x)"), ("md", "after code"), ("md", "## Section"), ("md", "### Sub"))
    nb.cells[2].metadata["tags"] = ["parameters"]
    assert slides.slide_types(nb) == ["slide", "skip", "skip", "-", "skip", "subslide", "subslide", "slide", "subslide"]
    slides.apply(nb)
    assert [("plumbing" in c.metadata.get("tags", [])) for c in nb.cells] == [False, True, True, False, True, False,
                                                                              False, False, False]
    assert nb.cells[2].metadata["tags"] == ["parameters", "plumbing"]
    assert nb.metadata["rise"]["scroll"] is True


def test_idempotent_and_follows_edits():
    nb = nb_of(("md", "# T"), ("code", "import os"), ("code", "print(1)"))
    assert slides.apply(nb) > 0 and slides.missing(nb) == []
    snapshot = nbformat.writes(nb)
    assert slides.apply(nb) == 0 and nbformat.writes(nb) == snapshot
    nb.cells[1].source = "import os\nprint(os.sep)"          # no longer plumbing: the tag goes
    assert slides.missing(nb) == [1]
    slides.apply(nb)
    assert "tags" not in nb.cells[1].metadata and nb.cells[1].metadata["slideshow"]["slide_type"] == "subslide"


@pytest.mark.parametrize("path", slides.notebooks(), ids=lambda p: p.name)
def test_every_notebook_has_slide_metadata(path):
    nb = nbformat.read(path, as_version=4)
    assert slides.missing(nb) == [], f"{path.name}: run python -m labkit.tools.slides and commit"
    assert nb.metadata.get("rise") == slides.RISE


def test_check_cli(tmp_path, capsys):
    p = tmp_path / "00_x.ipynb"
    nbformat.write(nb_of(("md", "# T"), ("code", "print(1)")), p)
    assert slides.main(["--check", str(p)]) == 1
    assert "lack slide metadata" in capsys.readouterr().out
    assert slides.main([str(p)]) == 0 and slides.main(["--check", str(p)]) == 0
    before = p.read_bytes()
    slides.main([str(p)])
    assert p.read_bytes() == before
