"""Notebook 05's cached sweeps (temperature, alpha, features, data budget, teacher, recovery)
over several seeds, and the text tables that summarise them.

``recipe`` runs them (an hour; ``python -m labkit sweep distillation`` caches them through
``labkit.cache``, one row per entry with its ``"kind"``); ``load_sweeps`` reads the cache and
``sweep`` recomputes it, both in the shape ``sweep_rows`` and the widgets read (``view``).
"""
from __future__ import annotations

import math
from typing import Sequence
from .. import validate, verify
from .losses import CNN_STAGES
from .students import Budget, RECOVER_METHODS, prune_copy, recover_, teacher_cache, train_student, validation_accuracy



# ---------------------------------------------------------------------------- sweeps (cached)
SWEEP_SEEDS = (100, 101, 102)       # not the seeds of the notebook's headline runs (0, 1, 2)


TEMPERATURES = (1, 2, 4, 8, 16)


ALPHAS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


TEACHERS = ("lenet5", "cnn-w8", "cnn-w16", "cnn", "compact-w0.25", "compact-w1.0")


BUDGETS = (500, 2_000, 10_000)


FEATURE_BETAS = (0.0, 100.0, 1000.0)


RECOVER_IMAGES = (200, 2_000)


RECOVER_SPARSITY = 0.95


RECOVER_SAMPLES = 2_000     # images seen while recovering (``recover``'s default)


SWEEP_KINDS = ("temperature", "alpha", "feature", "budget", "teacher", "recover")


_RUNS: dict = {}    # (teacher, budget, T, alpha, beta, seed, eval_limit) -> (val %, test %): one process reuses runs


def _validation(model, limit: int | None = None) -> float:
    """``validation_accuracy``, on the first ``limit`` validation images only when given."""
    if limit is None:
        return validation_accuracy(model)
    from itertools import islice
    from ..train import evaluate
    from .students import validation_batches
    return evaluate(model, islice(validation_batches(batch_size=limit), 1))


def _student_run(teacher: str, budget: Budget, T: float, alpha: float, beta: float, seed: int,
                 caches: dict, eval_limit: int | None = None) -> tuple[float, float]:
    """Validation and test accuracy of one student (memoised: sweeps share their common points)."""
    from .. import zoo
    from ..train import evaluate
    alone = alpha == 0 and beta == 0
    key = (None if alone else teacher, budget, None if alone else float(T), float(alpha), float(beta), seed, eval_limit)
    if key not in _RUNS:
        cache = None
        if not alone:
            stages = CNN_STAGES[:2] if beta > 0 else ()
            ck = (teacher, budget.images, stages)
            if ck not in caches:
                caches[ck] = teacher_cache(zoo.load(teacher), budget, stages=stages)
            cache = caches[ck]
        model = train_student(seed, cache, T=T, alpha=alpha, beta=beta, budget=budget)
        _RUNS[key] = (round(_validation(model, eval_limit), 2), round(evaluate(model, limit=eval_limit), 2))
    return _RUNS[key]


def run_sweep(kind: str, seeds: Sequence[int] = SWEEP_SEEDS, budget: Budget = Budget(), T: float = 4.0,
              alpha: float = 0.9, log=print, temperatures=TEMPERATURES, alphas=ALPHAS, teachers=TEACHERS,
              budgets=BUDGETS, betas=FEATURE_BETAS, recover_images=RECOVER_IMAGES,
              recover_samples: int = RECOVER_SAMPLES, eval_limit: int | None = None) -> list[dict]:
    """One sweep: a list of entries ``{<setting>..., "val_accuracy_pct": [per seed], "test_accuracy_pct": [...]}``.

    ``temperature`` (each of ``temperatures`` at ``alpha``), ``alpha`` (each of ``alphas`` at ``T``;
    0 is the student alone), ``teacher`` (zoo ``teachers`` of several sizes, at ``T``, ``alpha``),
    ``budget`` (each of ``budgets`` labelled images, alone vs KD), ``feature`` (attention transfer
    weight each of ``betas``, without and with logit KD), ``recover`` (a pruned copy of ``cnn``
    recovered by fine-tuning or distillation on each of ``recover_images`` images, seen
    ``recover_samples`` times). Choose settings on validation accuracy; test accuracy is reported
    alongside for reading, not for choosing (both on their first ``eval_limit`` images, all by default).
    """
    from .. import zoo
    from ..train import evaluate
    validate.choice(kind, SWEEP_KINDS, "sweep")
    out, caches = [], {}

    def entry(config, teacher="cnn", b=budget, t=T, a=alpha, beta=0.0):
        runs = [_student_run(teacher, b, t, a, beta, s, caches, eval_limit) for s in seeds]
        out.append({**config, "val_accuracy_pct": [r[0] for r in runs], "test_accuracy_pct": [r[1] for r in runs]})
        log(kind, out[-1])

    if kind == "temperature":
        for t in temperatures:
            entry({"T": t, "alpha": alpha}, t=t)
    elif kind == "alpha":
        for a in alphas:
            entry({"T": T, "alpha": a}, a=a)
    elif kind == "teacher":
        from ..metrics import count_macs, count_params
        for name in [n for n in teachers if n in zoo.RECIPES and n in zoo.manifest()]:
            t_model = zoo.load(name)
            entry({"teacher": name, "teacher_params": count_params(t_model), "teacher_macs": count_macs(t_model),
                   "teacher_test_accuracy_pct": round(evaluate(t_model, limit=eval_limit), 2), "T": T, "alpha": alpha},
                  teacher=name)
    elif kind == "budget":
        for n in budgets:
            b = Budget(images=n, samples=budget.samples, width=budget.width, lr=budget.lr, batch_size=budget.batch_size)
            for a in (0.0, alpha):
                entry({"images": n, "T": T, "alpha": a}, b=b, a=a)
    elif kind == "feature":
        for a in (0.0, alpha):
            for beta in betas:
                entry({"beta": beta, "T": T, "alpha": a}, a=a, beta=beta)
    else:  # recover
        teacher = zoo.load("cnn")
        pruned = prune_copy(teacher, RECOVER_SPARSITY)
        out.append({"method": "pruned", "images": 0, "sparsity": RECOVER_SPARSITY,
                    "test_accuracy_pct": [round(evaluate(pruned, limit=eval_limit), 2)]})
        log(kind, out[-1])
        for n in recover_images:
            for method in RECOVER_METHODS:
                accs = [round(evaluate(recover_(prune_copy(teacher, RECOVER_SPARSITY), teacher, method, seed=s,
                                               images=n, samples=recover_samples), limit=eval_limit), 2)
                        for s in seeds]
                out.append({"method": method, "images": n, "sparsity": RECOVER_SPARSITY, "test_accuracy_pct": accs})
                log(kind, out[-1])
    return out


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value); ``verify.Approx`` when any
    value is (statistics of trained accuracies depend on the CPU too)."""
    values = list(values)
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("mean_std needs at least one value")
    m = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return verify.approx((m, sd)) if any(verify.is_approx(v) for v in values) else (m, sd)


SWEEP_PARAM = {"temperature": "T", "alpha": "alpha", "teacher": "teacher", "budget": "images", "feature": "beta"}


def sweep_rows(sweeps: dict, kind: str, metric: str = "val_accuracy_pct") -> list[dict]:
    """A student sweep as rows ``{value, name, accs, mean, std, alone, alone_mean, gain}``:
    ``gain`` is the mean over seeds of (this setting - the student alone with the same seed and
    the same labelled images). Feature rows are named ``AT beta=...`` (+ ``KD`` when alpha > 0)."""
    kinds = {k: v for k, v in SWEEP_PARAM.items() if k in sweeps.get("sweeps", {})}
    validate.choice(kind, kinds, "sweep in the cache")
    entries = sweeps["sweeps"][kind]
    alone_default = next((e for e in sweeps["sweeps"].get("alpha", []) if e["alpha"] == 0), None)
    rows = []
    for e in entries:
        if kind == "budget":
            if e["alpha"] == 0:
                continue
            alone = next(a for a in entries if a["images"] == e["images"] and a["alpha"] == 0)
        elif kind == "feature":
            alone = next(a for a in entries if a["beta"] == 0 and a["alpha"] == 0)
            if e is alone:
                continue
        elif kind == "alpha":
            alone = next(a for a in entries if a["alpha"] == 0)
        else:
            alone = alone_default
        if alone is None:
            raise ValueError(f"the cache has no student-alone runs for the {kind!r} sweep: "
                             f"re-run `python -m labkit sweep distillation`")
        value = e[SWEEP_PARAM[kind]]
        if kind == "feature":        # two rows per beta (without / with KD): the name is the value
            name = value = " + ".join(([f"AT beta={value:g}"] if value else []) + (["KD"] if e["alpha"] > 0 else []))
        elif kind == "teacher":
            name = f"{value} ({e['teacher_params'] / 1000:.0f}k, {e['teacher_test_accuracy_pct']:.2f} %)"
        else:
            name = f"{SWEEP_PARAM[kind]}={value:g}"
        accs, alone_accs = e[metric], alone[metric]
        m, sd = mean_std(accs)
        setting = {k: e[k] for k in ("teacher", "images", "T", "alpha", "beta") if k in e}
        rows.append({"value": value, "name": name, "setting": setting, "accs": accs, "mean": m, "std": sd,
                     "alone": alone_accs, "alone_mean": mean_std(alone_accs)[0],
                     "gain": mean_std([a - b for a, b in zip(accs, alone_accs)])[0],
                     **{k: e[k] for k in ("teacher_params", "teacher_macs", "teacher_test_accuracy_pct") if k in e}})
    return rows


def sweep_text(rows: list[dict], what: str = "val") -> str:
    """Rows of ``sweep_rows`` as an aligned text table: setting, mean +- std over seeds, the
    student alone (same seeds), the mean gain in points."""
    from ..ui.plots import text_table
    table = [{"setting": r["name"], f"{what} %": f"{r['mean']:.2f} +- {r['std']:.2f}",
              "alone %": f"{r['alone_mean']:.2f}", "gain (pt)": f"{r['gain']:+.2f}"} for r in rows]
    return text_table(table, {"setting": "s", f"{what} %": "s", "alone %": "s", "gain (pt)": "s"})


def best(rows: list[dict]) -> dict:
    """The row with the highest mean (validation) accuracy; ties go to the first."""
    return max(rows, key=lambda r: r["mean"])


_CACHES: dict = {}


def live_run(setting: dict, seed: int = SWEEP_SEEDS[0], report=None, budget: Budget = Budget()) -> float:
    """Train one student now with a sweep setting (``teacher``, ``images``, ``T``, ``alpha``,
    ``beta``; missing keys: cnn, the budget's images, T=4, alpha=0.9, beta=0) and return its
    validation accuracy in %: the live point of the sweep widget."""
    from .. import zoo
    teacher = setting.get("teacher", "cnn")
    b = Budget(images=int(setting.get("images", budget.images)), samples=budget.samples, width=budget.width,
               lr=budget.lr, batch_size=budget.batch_size)
    T, alpha, beta = float(setting.get("T", 4.0)), float(setting.get("alpha", 0.9)), float(setting.get("beta", 0.0))
    cache = None
    if alpha > 0 or beta > 0:
        stages = CNN_STAGES[:2] if beta > 0 else ()
        key = (teacher, b.images, stages)
        if key not in _CACHES:
            _CACHES.clear()                      # keep one: a cache of 50,000 images holds ~2 MB of logits
            _CACHES[key] = teacher_cache(zoo.load(teacher), b, stages=stages)
        cache = _CACHES[key]
    model = train_student(seed, cache, T=T, alpha=alpha, beta=beta, budget=b, report=report, desc="distil")
    return validation_accuracy(model)


def recipe(kinds: Sequence[str] = SWEEP_KINDS, seeds: Sequence[int] = SWEEP_SEEDS, budget: dict | None = None,
           T: float = 4.0, alpha: float = 0.9, temperatures=TEMPERATURES, alphas=ALPHAS, teachers=TEACHERS,
           budgets=BUDGETS, betas=FEATURE_BETAS, recover_images=RECOVER_IMAGES,
           recover_samples: int = RECOVER_SAMPLES, eval_limit: int | None = None, log=print):
    """Every sweep of ``kinds`` over ``seeds`` (``run_sweep``; ``budget``: fields of ``Budget`` to
    change). Rows: the entries, each with its ``"kind"``; ``extra["seconds"]``: wall time per kind."""
    import time
    for kind in kinds:
        validate.choice(kind, SWEEP_KINDS, "sweep")
    fields = {k: v for k, v in (budget or {}).items() if k != "epochs"}      # epochs is derived
    b = Budget(**fields)
    values = {"temperatures": list(temperatures), "alphas": list(alphas), "teachers": list(teachers),
              "budgets": list(budgets), "betas": list(betas), "recover_images": list(recover_images)}
    rows, seconds = [], {}
    for kind in kinds:
        t0 = time.perf_counter()
        entries = run_sweep(kind, seeds, b, T, alpha, log=log, recover_samples=recover_samples,
                            eval_limit=eval_limit, **values)
        rows += [{"kind": kind, **e} for e in entries]
        seconds[kind] = round(time.perf_counter() - t0)
    params = {"kinds": list(kinds), "seeds": list(seeds), "budget": {**b.__dict__, "epochs": b.epochs}, "T": T,
              "alpha": alpha, **values, "recover_sparsity": RECOVER_SPARSITY, "recover_samples": recover_samples,
              "eval_limit": eval_limit}
    return rows, params, {"seconds": seconds}


def view(doc: dict) -> dict:
    """Cached distillation sweeps as ``sweep_rows`` and the widgets read them: ``{sweeps: {kind:
    [entries]}, seconds: {kind: s}, seeds, budget, T, alpha}`` plus the cache's ``command``,
    ``labkit``, ``torch``, ``threads``, ``created`` (``seconds`` here is per kind)."""
    from .. import cache
    sweeps: dict = {}
    for r in doc["rows"]:
        r = dict(r)
        sweeps.setdefault(r.pop("kind"), []).append(r)
    p = doc["params"]
    return {**cache.meta(doc), "sweeps": sweeps, "seconds": dict(doc["extra"].get("seconds", {})),
            "seeds": p["seeds"], "budget": p["budget"], "T": p["T"], "alpha": p["alpha"]}


def sweep(**kwargs) -> dict:
    """Recompute the sweeps now (an hour; notebook 05's ``FULL = True``): ``recipe(**kwargs)``
    through ``labkit.cache.compute``, in the shape of ``load_sweeps`` (not written to the cache)."""
    from .. import cache
    return view(cache.compute("distillation", **kwargs))


def load_sweeps(path=None) -> dict:
    """The cached sweeps (``python -m labkit sweep distillation`` makes them) in the shape of ``view``."""
    from .. import cache
    return cache.read("distillation", path)
