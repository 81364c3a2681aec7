"""labkit.nas.search: Pareto fronts, hypervolume, and two worker processes sharing one Optuna study."""
import os
import subprocess
import sys

import pytest

from labkit.nas import search
from labkit.paths import ROOT


def test_pareto_and_hypervolume_by_hand():
    pts = [{"score": 1, "latency_ms": 1}, {"score": 3, "latency_ms": 2}, {"score": 2, "latency_ms": 3}]
    assert search.pareto(pts) == pts[:2]
    assert search.hypervolume(pts, 0, 4) == 7.0              # (2 - 1) * 1 + (4 - 2) * 3
    assert search.best_feasible(pts, 2.5) == pts[1] and search.best_feasible(pts, 0.5) is None


def test_two_worker_processes_share_one_sqlite_study(tmp_path):
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    search.study("shared", "nsga2", 0, url)                  # create it first, as a coordinator would
    procs = [subprocess.Popen([sys.executable, "-m", "labkit.nas.search", url, "shared", "3", "3.0", str(seed)],
                              cwd=ROOT, env=env) for seed in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    st = optuna.load_study(study_name="shared", storage=url)
    done = search.trials(st)
    assert len(done) == 6 and len({t["number"] for t in done}) == 6
    assert all(t["latency_ms"] > 0 for t in done)
