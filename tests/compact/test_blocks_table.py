"""labkit.compact.figures: the building blocks timed together against the 3x3 conv, with intervals."""
import re

from matplotlib.figure import Figure

from labkit import compact, speedups

CELL = re.compile(r"(\d+\.\d\dx \[\d+\.\d\d-\d+\.\d\d\]|≈1 \(within noise\))$")


def test_compare_blocks_rows_carry_paired_speedups_and_the_table_prints_them():
    rows = compact.compare_blocks(channels=8, resolution=8, repeats=3, names=["conv", "ds"])
    conv, ds = rows
    assert conv["block"] == "conv" and conv["measured_ratio"] == 1.0 and "speedup" not in conv
    assert ds["measured_ratio"] == ds["speedup"] and ds["speedup_lo"] <= ds["speedup"] <= ds["speedup_hi"]
    assert isinstance(ds["within_noise"], bool) and ds["macs_ratio"] > 1      # the MACs ratio beside the speedup
    assert conv["floor_line"] == ds["floor_line"]                              # one run, one floor
    lines = compact.blocks_table(rows).splitlines()
    row = {l.split()[0]: l for l in lines[2:4]}
    assert row["conv"].endswith("1 (reference)") and CELL.search(row["ds"])
    assert speedups.text(ds) in row["ds"] and "x measured" not in "\n".join(lines)
    assert lines[-1] == "blocks: " + conv["floor_line"]
    assert isinstance(compact.blocks_figure({"tiny": rows}), Figure)
