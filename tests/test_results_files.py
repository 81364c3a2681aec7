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


ALL_ROWS = [r for stem in NOTEBOOK_STEMS for r in record.read(stem, NOTEBOOKS / "results")]


def _name(r):
    return f"{r['notebook']} {r['technique']} {r['config']} (batch {r['batch_size']})"


def test_vs_deployed_only_from_deployed_forms():
    # like for like: a row with a deployed baseline was itself timed in its deployed form
    bad = [_name(r) for r in ALL_ROWS if r["deployed_latency_ms"] is not None and r["form"] != "deployed"]
    assert not bad, f"{len(bad)} rows compare an eager or simulated model with the deployed baseline: {bad[:3]}"


def test_simulated_rows_claim_no_speed():
    bad = [_name(r) for r in ALL_ROWS if r["form"] == "simulated" and (r["speedup"] or r["deployed_speedup"])]
    assert not bad, f"simulated (fake-quantised) rows with a speedup: {bad[:3]}"


def test_the_same_computation_as_the_baseline_is_never_faster_or_slower():
    same = [r for r in ALL_ROWS if r["speedup"] and r["speedup"].get("same_computation")]
    assert same, "no committed row runs its baseline's computation: the check below would prove nothing"
    bad = [(_name(r), r["speedup"]) for r in same
           if not (r["speedup"]["lo"] <= 1 <= r["speedup"]["hi"] or r["speedup"]["within_noise"])]
    assert not bad, f"same-computation rows claiming a speedup outside noise: {bad[:3]}"


def test_every_timed_row_says_where_and_how_it_was_timed():
    for r in ALL_ROWS:
        assert r["timing"]["cpu"] and isinstance(r["timing"]["isa"], list), _name(r)
        sp = r["speedup"]
        if sp is not None:
            assert sp["lo"] <= sp["value"] <= sp["hi"] and isinstance(sp["within_noise"], bool), _name(r)
            if sp.get("within_noise") and not sp.get("same_computation"):
                assert sp["noise_floor"] is not None, _name(r)


def test_every_committed_timing_run_was_quiet():
    from labkit import timing
    loud = [(_name(r), r["timing"]["noise_floor"]) for r in ALL_ROWS
            if (r["timing"].get("noise_floor") or 0) > timing.BOUND and not r["timing"].get("override")]
    assert not loud, f"rows timed on a busy machine (A/A floor over ±{timing.BOUND:.0%}): {loud[:3]}"


def test_no_notebook_timed_its_baseline_far_slower_than_the_others():
    # the eager CNN at batch 1 is every notebook's usual baseline: a notebook whose runs read it more
    # than 2.5x slower than the median of the others was executed on a busy machine: re-execute it
    import statistics
    from labkit import metrics, models
    cnn_macs = metrics.count_macs(models.baseline_cnn())
    per_nb = {}
    for r in ALL_ROWS:
        if r["batch_size"] == 1 and r["baseline_macs"] == cnn_macs and r["speedup"] is not None:
            per_nb.setdefault(r["notebook"], []).append(r["baseline_latency_ms"])
    ms = {nb: statistics.median(v) for nb, v in per_nb.items()}
    assert len(ms) >= 3, f"too few notebooks time the CNN at batch 1 to compare: {sorted(ms)}"
    for nb, v in ms.items():
        others = statistics.median(x for k, x in ms.items() if k != nb)
        assert v <= 2.5 * others, f"{nb} timed the CNN at {v:.3f} ms, {v / others:.1f}x the others' median: re-execute it"
