"""labkit.explorer: records as points vs their own run's baseline, fronts, hypervolume, query,
Kendall tau and the audit, composition, and the widget (fast, nbval-safe)."""
import json
import math
import random
import time

import pytest

from labkit import explorer, record
from labkit.explorer import widgets as ew

FIELDS = record.FIELDS


def sp(value, half=0.05):
    """A recorded speedup (labkit.timing.Timing.speedup) with an interval of +-``half``."""
    lo, hi = value * (1 - half), value * (1 + half)
    return {"value": value, "lo": lo, "hi": hi, "within_noise": lo <= 1 <= hi, "noise_floor": 0.03}


def row(notebook, technique, config, acc, size, macs, ms, base=(92.0, 1000, 100, 2.0), batch=1, deployed=None,
        params=None, base_params=None, form="eager", speedup="timed", deployed_speedup=None):
    # "timed": the speedup its run measured, here the ratio of the two latencies (the fixture's runs are exact)
    speedup = sp(base[3] / ms) if speedup == "timed" and form != "simulated" else None if speedup == "timed" else speedup
    return {"notebook": notebook, "technique": technique, "config": config, "accuracy_pct": acc, "size_bytes": size,
            "macs": macs, "params": params, "latency_ms": ms, "baseline_accuracy_pct": base[0],
            "baseline_size_bytes": base[1], "baseline_macs": base[2], "baseline_params": base_params,
            "baseline_latency_ms": base[3], "deployed_latency_ms": deployed,
            "deployed_runtime": None if deployed is None else "torch", "form": form, "speedup": speedup,
            "deployed_speedup": deployed_speedup, "timing": {"cpu": "test", "isa": []}, "batch_size": batch,
            "threads": 2, "device": "cpu", "torch": "2.14.1"}


@pytest.fixture
def folder(tmp_path):
    rows = {
        "02_pruning": [row("02_pruning", "baseline", {}, 92.0, 1000, 100, 2.0, speedup=None),
                       row("02_pruning", "prune-fine", {"sparsity": 0.9}, 91.0, 200, 100, 2.0),
                       row("02_pruning", "prune-fine", {"sparsity": 0.9}, 91.0, 200, 100, 40.0, batch=256,
                           base=(92.0, 1000, 100, 80.0)),
                       row("02_pruning", "prune-channel", {"ratio": 0.5}, 90.0, 500, 25, 1.0, deployed=0.5,
                           params=40, base_params=160, form="deployed", deployed_speedup=sp(0.5))],
        "03_quantization": [row("03_quantization", "quant-ptq", {"bits": 4}, 91.5, 125, 100, 2.5),
                            row("03_quantization", "quant-ptq", {"bits": 2}, 60.0, 63, 100, 2.5)],
        "01_compact_networks": [row("01_compact_networks", "reference-model", {"model": "resnet18"}, 69.8, 4e7, 1e9, 30.0)],
        # a family labkit.record does not know yet (another notebook adds it): picked up by its name
        "11_future": [row("11_future", "newfam-x", {"k": 1}, 88.0, 50, 10, 0.5)],
    }
    for nb, rs in rows.items():
        (tmp_path / f"{nb}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rs))
    return tmp_path


def test_load_ratios_families_and_left_out(folder):
    e = explorer.load(folder)
    assert not [x for x in e if x["family"] == "reference"]          # ImageNet models left out
    assert explorer.families(e) == ["prune", "quant", "newfam"]
    fine = [x for x in e if x["technique"] == "prune-fine" and x["batch_size"] == 1][0]
    assert fine["x_smaller"] == 5.0 and fine["x_fewer_macs"] == 1.0 and fine["speedup"] == 1.0
    assert fine["drop_pt"] == pytest.approx(-1.0) and fine["vs_deployed"] is None
    ch = [x for x in e if x["technique"] == "prune-channel"][0]
    assert ch["speedup"] == 2.0 and ch["vs_deployed"] == 0.5 and ch["x_fewer_macs"] == 4.0
    assert explorer.family_of("nas-ofa-subnet") == "nas" and explorer.family_of("brand-new") == "brand"


def test_an_excluded_record_is_not_read(folder):
    (folder / "09_explorer.jsonl").write_text('{"an": "old schema"}\n')
    assert {e["notebook"] for e in explorer.load(folder, exclude=["09_explorer"])} >= {"02_pruning"}
    with pytest.raises(ValueError, match="re-run its notebook"):
        explorer.load(folder)


def test_load_without_records_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="make notebooks"):
        explorer.load(tmp_path)


def test_own_records_beside_the_reference(folder, tmp_path_factory, monkeypatch):
    mine = tmp_path_factory.mktemp("mine")
    (mine / "02_pruning.jsonl").write_text(json.dumps(row("02_pruning", "prune-fine", {"sparsity": 0.5}, 91.9, 500, 100, 2.0)) + "\n")
    monkeypatch.setenv("LABKIT_RESULTS", str(mine))
    e = explorer.load(folder, own=True)
    assert [x["config"] for x in e if x["source"] == "yours"] == [{"sparsity": 0.5}]
    assert all(x["source"] == "reference" for x in explorer.load(folder))


def brute_front(points, x):
    return sorted({(p[x], p["accuracy_pct"]) for p in points
                   if not any(q[x] <= p[x] and q["accuracy_pct"] >= p["accuracy_pct"]
                              and (q[x] < p[x] or q["accuracy_pct"] > p["accuracy_pct"]) for q in points)})


def test_front_matches_brute_force_on_random_points():
    rng = random.Random(0)
    for _ in range(50):
        pts = [{"size_bytes": rng.choice([1, 2, 4, 8, 16, 32]), "accuracy_pct": rng.choice([50.0, 60.0, 70.0, 80.0])}
               for _ in range(rng.randint(1, 12))]
        assert [(p["size_bytes"], p["accuracy_pct"]) for p in explorer.front(pts)] == brute_front(pts, "size_bytes")


def test_hypervolume_by_hand():
    pts = [{"size_bytes": 2, "accuracy_pct": 60.0}, {"size_bytes": 8, "accuracy_pct": 90.0}]
    # corner (32 bytes, 10 %): [log2 2, log2 8) x 50 + [log2 8, log2 32) x 80 = 2*50 + 2*80
    assert explorer.hypervolume(pts, 32) == pytest.approx(260.0)
    assert explorer.hypervolume([{"size_bytes": 64, "accuracy_pct": 90.0}], 32) == 0.0
    assert explorer.hypervolume(pts[:1], 32) > explorer.hypervolume([{"size_bytes": 4, "accuracy_pct": 60.0}], 32)


def test_fronts_per_family_share_one_corner(folder):
    f = explorer.fronts(explorer.load(folder))
    assert set(f) == {"prune", "quant", "newfam"}
    assert [p["config"] for p in f["quant"]["front"]] == [{"bits": 2}, {"bits": 4}]
    assert f["prune"]["points"] == 2
    corner = 2 * 1000      # twice the largest bytes of all batch-1 points (the baseline included)
    assert f["newfam"]["hypervolume"] == pytest.approx(math.log2(corner / 50) * 78.0)
    with pytest.raises(ValueError, match="choose one of"):
        explorer.fronts([], x="latency_b1")


def test_query_constraints(folder):
    e = explorer.load(folder)
    got = explorer.query(e, max_bytes=300, min_accuracy_pct=85)
    assert [x["technique"] for x in got] == ["quant-ptq", "prune-fine", "newfam-x"]          # most accurate first
    # latency: each point over its own run's baseline, like for like (prune-fine: within noise, so exactly 1;
    # prune-channel is deployed: 2x its deployed baseline's latency)
    assert [x["technique"] for x in explorer.query(e, max_rel_latency=1.0)] == ["prune-fine", "newfam-x"]
    with pytest.raises(ValueError, match="different runs are not comparable"):
        explorer.query(e, max_latency_ms=1.0)
    assert explorer.query(e, max_bytes=10) == []
    assert all(x["batch_size"] == 1 for x in explorer.query(e))


def reference_tau(a, b):
    """Tau-b by the textbook formula (Kendall 1945): (nc - nd) / sqrt((n0 - n1)(n0 - n2)), n1 and n2
    the pairs tied in a and in b, counted from the tie groups."""
    from collections import Counter
    n = len(a)
    n0 = n * (n - 1) / 2
    n1 = sum(t * (t - 1) / 2 for t in Counter(a).values())
    n2 = sum(t * (t - 1) / 2 for t in Counter(b).values())
    nc = sum(1 for i in range(n) for j in range(i + 1, n) if (a[i] - a[j]) * (b[i] - b[j]) > 0)
    nd = sum(1 for i in range(n) for j in range(i + 1, n) if (a[i] - a[j]) * (b[i] - b[j]) < 0)
    return (nc - nd) / math.sqrt((n0 - n1) * (n0 - n2))


def test_kendall_tau_against_the_textbook_formula_with_ties():
    rng = random.Random(1)
    for _ in range(40):
        n = rng.randint(3, 15)
        a, b = [rng.randint(0, 4) for _ in range(n)], [rng.randint(0, 4) for _ in range(n)]
        if len(set(a)) > 1 and len(set(b)) > 1:
            assert explorer.kendall_tau(a, b) == pytest.approx(reference_tau(a, b))
    assert explorer.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(explorer.kendall_tau([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="equal length"):
        explorer.kendall_tau([1], [1, 2])


def test_disagreements_are_the_discordant_pairs():
    pts = [{"label": "a", "m": 1, "n": 3}, {"label": "b", "m": 2, "n": 2}, {"label": "c", "m": 3, "n": 4}]
    pairs = {(p["label"], q["label"]) for p, q in explorer.disagreements(pts, "m", "n")}
    assert pairs == {("a", "b")}
    r = explorer.audit(pts, ["m", "n"])[("m", "n")]
    assert r["n"] == 3 and r["pairs"] == 3 and len(r["disagree"]) == 1
    assert r["tau"] == pytest.approx(1 / 3)
    assert "m vs n" in explorer.table(explorer.audit(pts, ["m", "n"]))


def test_record_points_join_batch_sizes(folder):
    pts = {p["label"]: p for p in explorer.record_points(explorer.load(folder))}
    fine = pts["02 prune-fine sparsity=0.9"]
    assert fine["speedup_b1"] == 1.0 and fine["speedup_b256"] == 2.0 and fine["x_smaller"] == 5.0
    assert "speedup_b256" not in pts["03 quant-ptq bits=4"]
    # parameter counts where the row has them (4x fewer), None where it does not: left out of the audit's pairs
    assert pts["02 prune-channel (deployed) ratio=0.5"]["x_fewer_params"] == 4.0 and fine["x_fewer_params"] is None
    aud = explorer.audit(list(pts.values()), ["x_fewer_params", "x_smaller"])
    assert aud[("x_fewer_params", "x_smaller")]["n"] == 1


def test_compose_without_joint_says_so(folder):
    assert "no joint-compression records yet" in explorer.report(explorer.load(folder))


def test_compose_product_and_sum(folder):
    j = row("08_joint", "joint-deep-compression", {"sparsity": 0.9, "bits": 4}, 89.0, 25, 100, 2.0)
    (folder / "08_joint.jsonl").write_text(json.dumps(j) + "\n")
    e = explorer.load(folder)
    (c,) = explorer.compose(e)
    assert c["predicted x"] == pytest.approx(5.0 * 8.0) and c["x smaller"] == 40.0 and c["bytes"] == "as predicted"
    assert c["predicted pt"] == pytest.approx(-1.0 - 0.5) and c["pt"] == pytest.approx(-3.0) and c["accuracy"] == "worse"
    assert "prune-fine" in c["parts"] and "quant-ptq" in c["parts"]
    assert "as predicted" in explorer.report(e)
    assert explorer.verdict(50, 40, 0.1, ratio=True) == "better"


def test_compose_joint_without_matching_parts(folder):
    j = row("08_joint", "joint-admm", {"rho": 0.1}, 90.0, 25, 100, 2.0)
    (folder / "08_joint.jsonl").write_text(json.dumps(j) + "\n")
    assert "none whose settings match" in explorer.report(explorer.load(folder))


def test_widget_filters_selection_and_speed(folder, png_of):
    w = ew.explorer(explorer.load(folder))
    first = png_of(w)
    assert "5 of 5 points meet no constraint" in w.label.value
    p = w.select(max_kib=0.3, min_acc=85)
    assert "≤ 0.3 KiB" not in w.label.value      # snapped to a slider stop
    assert w.max_kib.value == 4.0 and "4 of 5 points meet ≤ 4 KiB, ≥ 85 %" in w.label.value
    assert p["accuracy_pct"] == max(x["accuracy_pct"] for x in w.shown)
    assert "notebooks/" in w.detail.value and json.dumps(p["config"]) in w.detail.value
    assert png_of(w) != first
    w.select(families=["quant"], min_acc=None)
    assert {x["family"] for x in w.shown} == {"quant"}
    w.select(point="03 quant-ptq bits=2")
    assert w.current["config"] == {"bits": 2} and "quant-ptq bits=2" in w.label.value
    with pytest.raises(ValueError, match="pass the filters"):
        w.select(point="02 prune-fine sparsity=0.9")
    w.select(families=[], x="rel_latency")
    assert "none selected" in w.label.value
    times = []
    for m in ({"x": "size_bytes", "families": w.families}, {"max_kib": 50}, {"x": "rel_latency"}, {"max_rel": 1}):
        t = time.perf_counter()
        w.select(**m)
        times.append(time.perf_counter() - t)
    assert sorted(times)[len(times) // 2] < 0.2


def test_widget_live_adds_points(folder, png_of):
    e = explorer.load(folder)
    extra = dict(e[1], label="live point", config={"live": True})
    w = ew.explorer(e, live=lambda progress: [extra])
    w.run_live()
    assert extra in w.points and w.last_error is None and "re-measure here" in w.button.description
    w2 = ew.explorer(e, live=lambda progress: 1 / 0)
    assert w2.run_live() is None and "ZeroDivisionError" in w2.label.value


def test_widget_needs_points(tmp_path):
    with pytest.raises(ValueError, match="make notebooks"):
        ew.explorer([])


def test_compose_matches_compression_settings_only(folder):
    # a joint point that shares only "model" and "seed" with the single techniques has no parts
    j = row("08_joint", "joint-admm", {"model": "cnn", "seed": 0, "method": "admm-joint"}, 90.0, 25, 100, 2.0)
    (folder / "08_joint.jsonl").write_text(json.dumps(j) + "\n")
    # one unrelated point shares the joint point's "model", another its "seed": two families
    for nb, tech, cfg in (("06_lowrank", "lowrank-svd", {"model": "cnn"}), ("04_binarization", "binary-weight", {"seed": 0})):
        (folder / f"{nb}.jsonl").write_text(json.dumps(row(nb, tech, cfg, 91.0, 300, 60, 2.0)) + "\n")
    e = explorer.load(folder)
    assert explorer.compose(e) == [] and "none whose settings match" in explorer.report(e)


def test_speeds_are_the_runs_own_ratios_like_for_like(folder):
    e = {(x["technique"], x["batch_size"]): x for x in explorer.load(folder)}
    fine, ch = e[("prune-fine", 1)], e[("prune-channel", 1)]
    assert fine["rel_latency"] == 1.0 and fine["speed"] == "≈1 (within noise)"       # within noise: at its baseline
    assert ch["against"] == "vs its run's deployed baseline" and ch["rel_latency"] == pytest.approx(2.0)
    assert ch["speed"] == "0.50x [0.47-0.53]"
    assert e[("newfam-x", 1)]["rel_latency"] == pytest.approx(0.25)


def test_a_front_on_ratios_never_divides_latencies_of_different_runs(folder):
    # the recorded latencies say 4x faster, the run's own paired ratio 1.10x: the front uses the run's ratio
    odd = row("06_lowrank", "lowrank-svd", {"rank": 8}, 91.0, 300, 60, 0.5, speedup=sp(1.1, 0.02))
    untimed = row("06_lowrank", "lowrank-svd", {"rank": 4}, 95.0, 200, 30, 0.1, speedup=None)
    (folder / "06_lowrank.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (odd, untimed)))
    e = explorer.load(folder)
    (p,) = [x for x in e if x["config"] == {"rank": 8}]
    assert p["rel_latency"] == pytest.approx(1 / 1.1)
    f = explorer.fronts(e, "rel_latency")["lowrank"]
    assert [x["config"] for x in f["front"]] == [{"rank": 8}]     # the untimed point is on no latency front
    for call in (lambda: explorer.fronts(e, "latency_ms"), lambda: explorer.front(e, "latency_ms")):
        with pytest.raises(ValueError, match="different runs are not comparable"):
            call()
    # points of one run (the explorer's re-measured models) may be compared in ms
    one = [dict(x, run="09 deployed, batch 1") for x in e if x["batch_size"] == 1]
    assert explorer.query(one, max_latency_ms=1.0) and explorer.front(one, "latency_ms")


def test_a_simulated_row_is_on_no_latency_front(folder):
    sim = row("03_quantization", "quant-ptq", {"bits": 3}, 99.0, 90, 100, 0.1, form="simulated")
    (folder / "03_quantization.jsonl").write_text(json.dumps(sim) + "\n")
    e = explorer.load(folder)
    (s,) = [x for x in e if x["form"] == "simulated"]
    assert s["rel_latency"] is None and s["speedup"] is None and s["speed"] == "— (simulated)"
    assert "(simulated)" in s["label"]
    assert s in explorer.fronts(e, "size_bytes")["quant"]["front"]          # on accuracy x bytes, it counts
    assert all(s not in r["front"] for r in explorer.fronts(e, "rel_latency").values())
    one = [dict(x, run="r") for x in e]
    assert s not in explorer.front(one, "latency_ms") and s not in explorer.front(one, "rel_latency")
    assert s not in explorer.query(e, max_rel_latency=10.0) and s in explorer.query(e, max_bytes=100)
    w = ew.explorer(e)
    w.select(point=s["label"], x="rel_latency")
    assert "— (simulated)" in w.label.value and not w.plots["rel_latency"].ring.get_visible()
