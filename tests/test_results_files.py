"""The committed results records: one per notebook, every row with exactly the fields."""
import pytest

from labkit import record
from labkit.paths import NOTEBOOKS

NOTEBOOK_STEMS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_each_notebook_has_a_valid_record(stem):
    rows = record.read(stem, NOTEBOOKS / "results")
    assert rows, f"{stem} recorded nothing: re-execute it with `make notebooks`"
    for r in rows:
        assert r["notebook"] == stem and isinstance(r["config"], dict)
        assert 0 <= r["accuracy_pct"] <= 100 and r["size_bytes"] > 0 and r["latency_ms"] > 0
        assert r["baseline_size_bytes"] > 0 and r["threads"] >= 1 and r["batch_size"] >= 1
        assert record.family(r["technique"]) in record.FAMILIES          # one technique vocabulary
        record.check_config(r["config"])                                   # configs as in the caches


def test_no_orphan_records():
    stems = {p.stem for p in (NOTEBOOKS / "results").glob("*.jsonl")}
    assert stems <= set(NOTEBOOK_STEMS)
