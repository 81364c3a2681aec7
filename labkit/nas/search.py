"""Search strategies on Optuna (Akiba et al., KDD 2019): random search and NSGA-II (Deb et al.
2002), multi-objective (a cheap accuracy estimate up, the LUT's latency down) under a latency
constraint, at equal budgets.

Storage: every study lives in a database. The default is an embedded SQLite file
(``sqlite:///build/nas/study.db``): nothing to install, and several worker processes on one
machine can share it (``optimize`` in each, the same ``study_name`` and URL). To scale to many
machines, point every worker at one shared server with the same code, e.g.
``postgresql://user:password@host:5432/optuna`` or ``mysql+pymysql://user:password@host/optuna``
(SQLAlchemy URLs; the server and its driver are installed separately).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .. import pareto as _pareto
from . import space

SAMPLERS = ("random", "nsga2")


def default_storage() -> str:
    """``sqlite:///<repo>/build/nas/study.db`` (the folder is made)."""
    from ..paths import ROOT
    folder = ROOT / "build" / "nas"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'study.db'}"


def suggest(trial) -> tuple:
    """An architecture of the space, one categorical parameter per decision (``space.as_params`` names)."""
    params = {}
    for s in range(len(space.STRIDES)):
        c = space.choices(s)
        params[f"s{s}_op"] = trial.suggest_categorical(f"s{s}_op", [space.op_name(*o) for o in c["op"]])
        params[f"s{s}_width"] = trial.suggest_categorical(f"s{s}_width", list(c["width"]))
        params[f"s{s}_depth"] = trial.suggest_categorical(f"s{s}_depth", list(c["depth"]))
        params[f"s{s}_kernel"] = trial.suggest_categorical(f"s{s}_kernel", list(c["kernel"]))
    return space.from_params(params)


def _constraint(trial):
    return [trial.user_attrs["latency_ms"] - trial.user_attrs["budget_ms"]]


def _set_constraint_api() -> bool:
    """Optuna >= 5 takes constraints from ``trial.set_constraint``; 4.x from the sampler's ``constraints_func``."""
    import optuna
    return hasattr(optuna.trial.Trial, "set_constraint")


def make_sampler(name: str, seed: int = 0, population: int = 10):
    import optuna
    from ..validate import choice
    choice(name, SAMPLERS, "sampler")
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if _set_constraint_api():
        return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    return optuna.samplers.NSGAIISampler(population_size=population, seed=seed, constraints_func=_constraint)


def study(name: str, sampler: str = "nsga2", seed: int = 0, storage: str | None = None, population: int = 10):
    """A two-objective study (maximize the score, minimize latency) in ``storage`` (default: the
    embedded SQLite file), created or, when it exists, loaded: workers share it by name and URL."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name=name, storage=storage or default_storage(), load_if_exists=True,
                               directions=["maximize", "minimize"], sampler=make_sampler(sampler, seed, population))


def objective(score: Callable, latency: Callable, budget_ms: float):
    """An Optuna objective: ``score(arch)`` (higher is better) and ``latency(arch)`` in ms; the
    architecture, its latency and the budget are kept as user attributes."""
    def run(trial):
        arch = suggest(trial)
        ms = float(latency(arch))
        trial.set_user_attr("arch", space.describe(arch))
        trial.set_user_attr("latency_ms", ms)
        trial.set_user_attr("budget_ms", float(budget_ms))
        if _set_constraint_api():
            trial.set_constraint("latency", ms - float(budget_ms))      # <= 0: feasible (NSGA-II: constrained domination)
        return float(score(arch)), ms
    return run


def trials(st) -> list[dict]:
    """The finished trials as ``{"number", "arch", "score", "latency_ms", "feasible"}``."""
    import optuna
    out = []
    for t in st.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        out.append({"number": t.number, "arch": space.from_params(t.params), "score": t.values[0],
                    "latency_ms": t.values[1], "feasible": t.user_attrs["latency_ms"] <= t.user_attrs["budget_ms"]})
    return out


def pareto(points: list[dict], score: str = "score", latency: str = "latency_ms") -> list[dict]:
    """The points no other point beats on both (higher ``score``, lower ``latency``), by latency
    (``labkit.pareto.front``)."""
    return _pareto.front(points, latency, score)


def hypervolume(points: list[dict], ref_score: float, ref_latency: float, score: str = "score",
                latency: str = "latency_ms") -> float:
    """The area dominated by the points (score up, latency down) above ``ref_score`` and left of
    ``ref_latency``: one number for a whole front (a larger front is better; ``labkit.pareto``)."""
    return float(_pareto.hypervolume(pareto(points, score, latency), ref_latency, ref_score, latency, score))


def best_feasible(points: list[dict], budget_ms: float, score: str = "score") -> dict | None:
    ok = [p for p in points if p["latency_ms"] <= budget_ms]
    return max(ok, key=lambda p: p[score]) if ok else None


def worker(storage: str, name: str, n_trials: int, budget_ms: float, seed: int) -> int:
    """One worker process of a shared study (used by the two-worker test): a cheap analytic score
    (minus the parameter count in thousands) and the MACs as latency; returns trials it ran."""
    from .. import metrics

    def score(arch):
        return -metrics.count_params(space.build(arch)) / 1e3

    def latency(arch):
        return metrics.count_macs(space.build(arch)) / 1e6
    st = study(name, "nsga2", seed, storage)
    st.optimize(objective(score, latency, budget_ms), n_trials=n_trials)
    return n_trials


if __name__ == "__main__":      # python -m labkit.nas.search STORAGE NAME N_TRIALS BUDGET SEED
    import sys
    worker(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))


# ---------------------------------------------------------------- the cached search (nas-search)
ZOO = ("compact-w0.5", "compact-w1.0", "compact-ds", "compact-mb3", "compact-ghost")
K_STEPS = 10          # the convergence proxy the search maximises: minus the sum of the first 10 training losses


def space_budget(lut: dict, q: float = 0.3, n: int = 500, seed: int = 7) -> float:
    """A latency budget: the ``q`` quantile of the LUT latency of ``n`` random architectures."""
    import random

    import numpy as np

    from .latency import predict
    rng = random.Random(seed)
    return float(np.quantile([predict(lut, space.sample(rng)) for _ in range(n)], q))


def recipe(n_trials: int = 24, k: int = K_STEPS, quantile: float = 0.3, seeds=(0, 1, 2), samplers=SAMPLERS,
           zoo_names=ZOO, shortlist: int = 3, retrain_seeds=(0, 1), budget: dict | None = None, stat: str = "min",
           test_limit: int | None = None, log=print):
    """Random search vs NSGA-II, ``n_trials`` each (equal budgets), once per seed of ``seeds``: maximise
    the convergence proxy (``truth.early_losses``, k steps) and minimise the LUT latency (the
    ``nas-latency`` cache, its ``stat`` table) under a budget (the ``quantile`` of the space's LUT
    latencies), each study in its own embedded SQLite file. Then, from each sampler's first-seed
    study, the ``shortlist`` feasible trials of best proxy are trained with the ground truth's budget
    (``truth.train_arch``, seed 0) and the one of best *validation* accuracy is the sampler's find
    (proxy to shortlist, training to choose). The finds and the zoo's compact architectures are
    then trained from scratch, ``retrain_seeds`` each, with that budget, and evaluated on the
    validation images and the test set."""
    import tempfile
    from .. import metrics, points, zoo
    from ..data import subset
    from ..train import evaluate, train
    from . import latency, truth
    lut = latency.load_sweep()["lut"][stat]
    budget_ms = space_budget(lut, quantile)
    b = {**truth.BUDGET, **(budget or {})}
    memo: dict = {}

    def score(arch):
        if arch not in memo:
            memo[arch] = -sum(truth.early_losses(arch, k, seed=0, budget=budget))
        return memo[arch]

    runs: dict = {name: {} for name in samplers}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for name in samplers:
                st = study(f"{name}-{seed}", name, seed, f"sqlite:///{tmp}/{name}-{seed}.db")
                st.optimize(objective(score, lambda a: latency.predict(lut, a), budget_ms), n_trials=n_trials)
                runs[name][str(seed)] = trials(st)
                f = best_feasible(runs[name][str(seed)], budget_ms)
                log(f"{name} seed {seed}: " + (f"best feasible {f['score']:.3f} {space.describe(f['arch'])}"
                                                if f else "nothing feasible"))
    trained: dict = {}                     # shortlisted architecture -> validation accuracy (seed 0)
    found, short = {}, {}
    for name in samplers:
        ok = sorted((t for t in runs[name][str(seeds[0])] if t["latency_ms"] <= budget_ms), key=lambda t: -t["score"])
        short[name] = []
        for t in ok[:shortlist]:
            if t["arch"] not in trained:
                trained[t["arch"]] = float(truth.train_arch(t["arch"], 0, budget)[1])
            short[name].append({"arch": [list(r) for r in t["arch"]], "score": t["score"], "latency_ms": t["latency_ms"],
                                "val_accuracy_pct": round(trained[t["arch"]], 4)})
            log(f"{name} shortlist: proxy {t['score']:.3f}, val {trained[t['arch']]:.2f} % {space.describe(t['arch'])}")
        if ok:
            found[name] = max(ok[:shortlist], key=lambda t: trained[t["arch"]])["arch"]
    rows = []
    todo = [(f"found-{n}", a) for n, a in found.items()] + [(z, z) for z in zoo_names]
    for label, what in todo:
        is_found = label.startswith("found")
        for s in retrain_seeds:
            if is_found:
                model, val, _, _ = truth.train_arch(what, s, budget)
            else:
                model = zoo.build(what)
                train(model, epochs=b["epochs"], lr=b["lr"], batch_size=b["batch_size"], limit=b["images"], seed=s,
                      progress=False)
                val = evaluate(model, subset("val", limit=b["eval_images"], batch_size=1000))
            test = float(evaluate(model, "test", limit=test_limit))
            rows.append(points.make({"kind": "found" if is_found else "zoo", "name": label, "seed": s,
                                     "arch_name": space.describe(what) if is_found else label},
                                    model, test, val_accuracy_pct=round(float(val), 4),
                                    arch=[list(r) for r in what] if is_found else None,
                                    params=metrics.count_params(model)))
            log(f"{label} seed {s}: val {float(val):.2f} %, test {test:.2f} %")
    extra = {"budget_ms": budget_ms, "shortlist": short,
             "runs": {n: {sd: [{"number": t["number"], "arch": [list(r) for r in t["arch"]], "score": t["score"],
                                "latency_ms": t["latency_ms"]} for t in ts] for sd, ts in by.items()}
                      for n, by in runs.items()}}
    params = {"n_trials": n_trials, "k": k, "quantile": quantile, "seeds": list(seeds), "samplers": list(samplers),
              "zoo": list(zoo_names), "shortlist": shortlist, "retrain_seeds": list(retrain_seeds), "stat": stat,
              "test_limit": test_limit, "budget": b}
    return rows, params, extra


def view(doc: dict) -> dict:
    """``{"runs": {sampler: {seed: [trials]}}, "trials": {sampler: first seed's trials}, "budget_ms",
    "shortlist", "found": rows, "zoo": rows, "params", ...metadata}``."""
    from .. import cache
    runs = {n: {sd: [{**t, "arch": space.canonical(t["arch"])} for t in ts] for sd, ts in by.items()}
            for n, by in doc["extra"]["runs"].items()}
    first = str(doc["params"]["seeds"][0])
    return {**cache.meta(doc), "params": doc["params"], "runs": runs, "trials": {n: by[first] for n, by in runs.items()},
            "budget_ms": doc["extra"]["budget_ms"], "shortlist": doc["extra"]["shortlist"],
            "found": [r for r in doc["rows"] if r["config"]["kind"] == "found"],
            "zoo": [r for r in doc["rows"] if r["config"]["kind"] == "zoo"]}


def load_sweep(path=None) -> dict:
    """The cached search (``python -m labkit sweep nas-search``)."""
    from .. import cache
    return cache.read("nas-search", path)
