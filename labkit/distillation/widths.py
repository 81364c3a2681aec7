"""Notebook 05's width sweep: students of several widths, each trained alone, with label
smoothing (the teacher-free control) or with KD, on 2,000 labelled images and on the whole
training split (50,000 images), over several seeds; one cached row per run.

``recipe`` runs it (``python -m labkit sweep distillation-width``, ~20 min at 1 thread);
``load`` reads the cache and ``sweep`` recomputes it, both in the shape of ``view``;
``summary`` / ``summary_text`` / ``gains`` turn the rows into the notebook's tables.
"""
from __future__ import annotations

import statistics
import time
from typing import Sequence
from .. import validate
from .students import VAL_START, Budget, make_student, teacher_cache, train_student, validation_accuracy
from .sweep import SWEEP_SEEDS, _validation, best, load_sweeps, mean_std, sweep_rows


WIDTHS = (2, 4, 8, 16)                # baseline_cnn widths of the students (the teacher `cnn` is width 32)
ARMS = ("alone", "label smoothing", "kd")
IMAGES = (2_000, VAL_START)         # the headline scenario, and every training image that is not validation
LABEL_SMOOTHING = 0.1               # Szegedy et al.'s value (and torchvision's recipes'); not tuned
SEEDS = SWEEP_SEEDS[:2]             # two of the other sweeps' seeds: a third did not fit the time this was made in
SAMPLES = 80_000                    # images seen per run, as notebook 05's Budget: equal compute everywhere


def chosen_T_alpha() -> tuple[float, float]:
    """The T and alpha notebook 05 chooses on validation: the best of the cached temperature and
    alpha sweeps (``labkit.distillation.load_sweeps``)."""
    sweeps = load_sweeps()
    return (float(best(sweep_rows(sweeps, "temperature"))["value"]), float(best(sweep_rows(sweeps, "alpha"))["value"]))


def student_size(width: int) -> dict:
    """``{params, size_bytes, macs}`` of a width-``width`` student (fp32, one 28x28 image)."""
    from .. import metrics, size
    model = make_student(width, 0)
    return {"params": metrics.count_params(model), "size_bytes": size.size_bytes(model, "fp32"),
            "macs": metrics.count_macs(model)}


def recipe(widths: Sequence[int] = WIDTHS, arms: Sequence[str] = ARMS, images: Sequence[int] = IMAGES,
           seeds: Sequence[int] = SEEDS, samples: int = SAMPLES, T: float | None = None,
           alpha: float | None = None, label_smoothing: float = LABEL_SMOOTHING, eval_limit: int | None = None,
           log=print, done=None, checkpoint=None):
    """Every (labelled images, seed, width, arm) student: rows ``{images, seed, width, arm,
    val_accuracy_pct, test_accuracy_pct, seconds, params, size_bytes, macs}`` (``seconds``: its
    training and evaluation; accuracies on the first ``eval_limit`` images, all by default).
    ``T``, ``alpha``: None takes the ones notebook 05 chooses (``chosen_T_alpha``). ``extra``:
    the teacher (zoo ``cnn``) measured the same way, and the seconds its cached outputs took.
    Resumable: ``done`` rows are kept (``labkit.cache.run``)."""
    from .. import metrics, size, zoo
    from ..train import evaluate
    for a in arms:
        validate.choice(a, ARMS, "arm")
    if T is None or alpha is None:
        chosen = chosen_T_alpha()
        T, alpha = (chosen[0] if T is None else T), (chosen[1] if alpha is None else alpha)
    rows, extra = list(done or []), {"cache_seconds": {}}
    finished = {(r["images"], r["seed"], r["width"], r["arm"]) for r in rows}
    teacher = zoo.load("cnn")
    extra["teacher"] = {"name": "cnn", "params": metrics.count_params(teacher),
                        "size_bytes": size.size_bytes(teacher, "fp32"), "macs": metrics.count_macs(teacher),
                        "val_accuracy_pct": round(_validation(teacher, eval_limit), 2),
                        "test_accuracy_pct": round(evaluate(teacher, limit=eval_limit), 2)}
    sizes = {w: student_size(w) for w in widths}
    for n in images:
        cache = None
        for seed in seeds:
            for w in widths:
                budget = Budget(images=n, samples=max(int(samples), n), width=w)
                for arm in arms:
                    if (n, seed, w, arm) in finished:
                        continue
                    if arm == "kd" and cache is None:
                        t0 = time.perf_counter()
                        cache = teacher_cache(teacher, budget)
                        extra["cache_seconds"][str(n)] = round(time.perf_counter() - t0, 1)
                    t0 = time.perf_counter()
                    model = train_student(seed, cache if arm == "kd" else None, T=T, alpha=alpha, budget=budget,
                                          label_smoothing=label_smoothing if arm == "label smoothing" else 0.0)
                    val = _validation(model, eval_limit) if eval_limit else validation_accuracy(model)
                    row = {"images": n, "seed": seed, "width": w, "arm": arm, "val_accuracy_pct": round(float(val), 2),
                           "test_accuracy_pct": round(float(evaluate(model, limit=eval_limit)), 2),
                           "seconds": round(time.perf_counter() - t0, 2), **sizes[w]}
                    rows.append(row)
                    log("distillation-width", row)
                    if checkpoint is not None:
                        checkpoint(rows)
    params = {"widths": list(widths), "arms": list(arms), "images": list(images), "seeds": list(seeds),
              "samples": int(samples), "kd_T": float(T), "kd_alpha": float(alpha), "label_smoothing": float(label_smoothing),
              "lr": Budget().lr, "batch_size": Budget().batch_size, "eval_limit": eval_limit}
    return rows, params, extra


def view(doc: dict) -> dict:
    """The cached width sweep as notebook 05 reads it: ``{rows, teacher, cache_seconds}``, the
    recipe's params (``T``, ``alpha`` of KD; ``widths``, ``arms``, ``images``, ``seeds``, ``samples``, ``T``, ``alpha``,
    ``label_smoothing``...) and the cache's ``command``, ``labkit``, ``torch``, ``threads``,
    ``created``, ``seconds``."""
    from .. import cache
    p = {k: v for k, v in doc["params"].items() if k not in ("kd_T", "kd_alpha")}
    return {**cache.meta(doc), **p, "T": doc["params"]["kd_T"], "alpha": doc["params"]["kd_alpha"],
            "rows": [dict(r) for r in doc["rows"]],
            "teacher": dict(doc["extra"].get("teacher", {})), "cache_seconds": dict(doc["extra"].get("cache_seconds", {}))}


def sweep(**kwargs) -> dict:
    """Recompute the width sweep now (notebook 05's ``FULL = True``), in the shape of ``load``."""
    from .. import cache
    return view(cache.compute("distillation-width", **kwargs))


def load(path=None) -> dict:
    """The cached width sweep (``python -m labkit sweep distillation-width`` makes it), as ``view``."""
    from .. import cache
    return cache.read("distillation-width", path)


# ---------------------------------------------------------------------------- tables
def _runs(view: dict, images: int, width: int, arm: str, metric: str) -> dict:
    return {r["seed"]: r[metric] for r in view["rows"] if (r["images"], r["width"], r["arm"]) == (images, width, arm)}


def summary(view: dict, metric: str = "test_accuracy_pct") -> list[dict]:
    """One row per (images, width, arm): ``accs`` (per seed), ``mean``, ``std``, ``gain`` and
    ``gain_std`` (paired by seed: this arm - alone; 0 for alone), sizes, median ``seconds``."""
    out = []
    for n in view["images"]:
        for w in view["widths"]:
            alone = _runs(view, n, w, "alone", metric)
            for arm in view["arms"]:
                runs = _runs(view, n, w, arm, metric)
                if not runs:
                    continue
                seeds = sorted(runs)
                m, sd = mean_std([runs[s] for s in seeds])
                paired = [runs[s] - alone[s] for s in seeds if s in alone]
                g, gsd = mean_std(paired) if paired else (float("nan"), float("nan"))
                r0 = next(r for r in view["rows"] if (r["images"], r["width"], r["arm"]) == (n, w, arm))
                secs = [r["seconds"] for r in view["rows"] if (r["images"], r["width"], r["arm"]) == (n, w, arm)]
                out.append({"images": n, "width": w, "arm": arm, "seeds": seeds, "accs": [runs[s] for s in seeds],
                            "mean": m, "std": sd, "gain": g, "gain_std": gsd, "params": r0["params"],
                            "size_bytes": r0["size_bytes"], "macs": r0["macs"], "seconds": statistics.median(secs)})
    return out


def gains(view: dict, a: str = "kd", b: str = "alone", metric: str = "test_accuracy_pct") -> list[dict]:
    """Per (images, width): arm ``a`` - arm ``b`` paired by seed: ``diffs``, ``mean``, ``std``,
    ``min``, ``max`` and ``seed_std`` (the larger seed-to-seed std of the two arms: the noise)."""
    out = []
    for n in view["images"]:
        for w in view["widths"]:
            ra, rb = _runs(view, n, w, a, metric), _runs(view, n, w, b, metric)
            seeds = sorted(set(ra) & set(rb))
            if not seeds:
                continue
            diffs = [ra[s] - rb[s] for s in seeds]
            m, sd = mean_std(diffs)
            noise = max(mean_std([ra[s] for s in seeds])[1], mean_std([rb[s] for s in seeds])[1])
            out.append({"images": n, "width": w, "a": a, "b": b, "diffs": diffs, "mean": m, "std": sd,
                        "min": min(diffs), "max": max(diffs), "seed_std": noise})
    return out


def gains_text(rows: list[dict]) -> str:
    """``gains`` rows as a text table: images, width, per-seed differences, mean +- std, range,
    and the seed-to-seed std of one arm alone (read the difference against it)."""
    from ..ui.plots import text_table
    table = [{"images": r["images"], "width": r["width"], f"{r['a']} - {r['b']} per seed (pt)":
              " ".join(f"{d:+.2f}" for d in r["diffs"]), "mean +- std (pt)": f"{r['mean']:+.2f} +- {r['std']:.2f}",
              "all seeds > 0": "yes" if r["min"] > 0 else "no", "seed std of an arm (pt)": f"{r['seed_std']:.2f}"}
             for r in rows]
    return text_table(table, {k: (",d" if k == "images" else "d" if k == "width" else "s") for k in table[0]})


def live_seconds(view: dict, images: int = 2_000, width: int = 4, arm: str = "kd") -> float:
    """The median seconds one cached run of that setting took (train + evaluate), for a live
    button's label; the sweep's thread count applies (``view["threads"]``)."""
    secs = [r["seconds"] for r in view["rows"] if (r["images"], r["width"], r["arm"]) == (images, width, arm)]
    if not secs:
        raise ValueError(f"the width sweep has no {arm!r} run of width {width} on {images} images: "
                         f"pick one of widths {view['widths']}, images {view['images']}")
    return float(statistics.median(secs))


def summary_text(summary: list[dict]) -> str:
    """``summary`` rows as one text line per (images, width): each arm's mean +- std over seeds,
    the student's parameters, bytes and MACs, and the median seconds of one KD run."""
    from ..ui.plots import text_table
    keys = sorted({(r["images"], r["width"]) for r in summary})
    table = []
    for n, w in keys:
        arms = {r["arm"]: r for r in summary if (r["images"], r["width"]) == (n, w)}
        one = next(iter(arms.values()))
        table.append({"images": n, "width": w, **{f"{a} %": f"{r['mean']:.2f} +- {r['std']:.2f}" for a, r in arms.items()},
                      "params": one["params"], "bytes": one["size_bytes"], "MACs": one["macs"],
                      "s / KD run": arms["kd"]["seconds"] if "kd" in arms else float("nan")})
    fmt = {k: "s" for k in table[0]}
    fmt.update({"images": ",d", "width": "d", "params": ",d", "bytes": ",d", "MACs": ",d", "s / KD run": ".1f"})
    return text_table(table, fmt)
