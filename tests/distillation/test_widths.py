"""labkit.distillation: the label-smoothing control and the width sweep (its recipe, rows and tables)."""
import pytest
import torch
import torch.nn.functional as F

from labkit import cache, data, models
from labkit import distillation as distill
from labkit.distillation import widths


@pytest.fixture(scope="module")
def tiny_teacher():
    torch.manual_seed(0)
    return models.baseline_cnn(width=2).eval()


# ---------------------------------------------------------------- label smoothing
def test_smoothing_objective_is_cross_entropy_on_smoothed_targets():
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(5, 10)
    x, y = torch.randn(16, 5, generator=g), torch.randint(0, 10, (16,), generator=g)
    for eps in (0.0, 0.1, 0.5):
        loss, logits = distill.smoothing_objective(eps)(model, x, y)
        target = torch.full((16, 10), eps / 10) + (1 - eps) * F.one_hot(y, 10)      # written out by hand
        manual = -(target * F.log_softmax(logits, 1)).sum(1).mean()
        assert loss.item() == pytest.approx(manual.item(), rel=1e-6)
    assert distill.smoothing_objective(0.0)(model, x, y)[0].item() == pytest.approx(F.cross_entropy(model(x), y).item())


@pytest.mark.parametrize("eps, error", [(1.0, ValueError), (-0.1, ValueError), ("a", TypeError)])
def test_bad_label_smoothing_is_one_line_with_the_fix(eps, error):
    with pytest.raises(error, match="e.g. 0.1") as e:
        distill.smoothing_objective(eps)
    assert "\n" not in str(e.value)


def test_label_smoothing_trains_a_student_alone_and_refuses_a_teacher(tiny_teacher):
    b = distill.Budget(images=128, samples=256, width=2)
    x = data.normalize(data.arrays("test")[0][:64])
    plain, smooth, again = (distill.train_student(0, None, budget=b, label_smoothing=e) for e in (0.0, 0.1, 0.1))
    with torch.no_grad():
        assert torch.equal(smooth(x), again(x)) and not torch.allclose(plain(x), smooth(x))
    with pytest.raises(ValueError, match="cache=None"):
        distill.train_student(0, distill.teacher_cache(tiny_teacher, b), budget=b, label_smoothing=0.1)


# ---------------------------------------------------------------- the recipe, tiny
def test_tiny_recipe_gives_one_row_per_run_with_sizes_and_resumes():
    kw = dict(widths=[2, 4], images=[128], seeds=[100, 101], samples=128, T=4.0, alpha=0.75, eval_limit=100)
    logged = []
    rows, params, extra = widths.recipe(**kw, log=lambda *a: logged.append(a))
    assert len(rows) == 2 * 3 * 2 == len(logged)
    assert {(r["seed"], r["width"], r["arm"]) for r in rows} == {(s, w, a) for s in (100, 101) for w in (2, 4)
                                                                 for a in widths.ARMS}
    for r in rows:
        assert {k: r[k] for k in ("params", "size_bytes", "macs")} == widths.student_size(r["width"])
        assert 0 <= r["test_accuracy_pct"] <= 100 and r["seconds"] > 0 and r["images"] == 128
    assert params["kd_T"] == 4.0 and params["kd_alpha"] == 0.75 and params["label_smoothing"] == widths.LABEL_SMOOTHING
    assert extra["teacher"]["name"] == "cnn" and extra["teacher"]["macs"] > rows[-1]["macs"]
    # resuming: finished rows are kept as they are, only the rest is trained
    logged.clear()
    again, _, _ = widths.recipe(**kw, done=rows[:5], log=lambda *a: logged.append(a))
    assert again[:5] == rows[:5] and len(again) == len(rows) and len(logged) == len(rows) - 5
    assert [r["test_accuracy_pct"] for r in again] == [r["test_accuracy_pct"] for r in rows]   # same seeds, same runs


def test_recipe_defaults_take_the_notebooks_chosen_T_and_alpha():
    T, alpha = widths.chosen_T_alpha()
    sweeps = distill.load_sweeps()
    assert T == distill.best(distill.sweep_rows(sweeps, "temperature"))["value"]
    assert alpha == distill.best(distill.sweep_rows(sweeps, "alpha"))["value"]


# ---------------------------------------------------------------- tables on a made-up view
@pytest.fixture
def fake_view():
    rows = []
    acc = {"alone": 80.0, "label smoothing": 80.5, "kd": 82.0}
    for n in (2000, 50000):
        for seed in (100, 101, 102):
            for w in (2, 4):
                for arm in widths.ARMS:
                    rows.append({"images": n, "seed": seed, "width": w, "arm": arm,
                                 "val_accuracy_pct": acc[arm] + w + (n > 2000) * 5 + (seed - 100) * 0.5,
                                 "test_accuracy_pct": acc[arm] + w + (n > 2000) * 5 + (seed - 100) * 0.5 - 0.2,
                                 "seconds": 1.0 + seed - 100, "params": w * 1000, "size_bytes": w * 4000,
                                 "macs": w * w * 10})
    return {"rows": rows, "widths": [2, 4], "arms": list(widths.ARMS), "images": [2000, 50000],
            "seeds": [100, 101, 102], "threads": 1}


def test_summary_pairs_each_arm_with_alone_of_the_same_seed(fake_view):
    s = widths.summary(fake_view)
    assert len(s) == 2 * 2 * 3
    kd = next(r for r in s if (r["images"], r["width"], r["arm"]) == (50000, 4, "kd"))
    assert kd["mean"] == pytest.approx(82.0 + 4 + 5 + 0.5 - 0.2) and kd["std"] == pytest.approx(0.5)
    assert kd["gain"] == pytest.approx(2.0) and kd["gain_std"] == pytest.approx(0.0)
    assert kd["seconds"] == 2.0 and kd["size_bytes"] == 16000
    assert all(r["gain"] == 0 for r in s if r["arm"] == "alone")


def test_gains_are_paired_differences_with_the_seed_noise_beside(fake_view):
    g = widths.gains(fake_view, "kd", "label smoothing")
    assert len(g) == 4 and all(r["mean"] == pytest.approx(1.5) and r["min"] > 0 for r in g)
    assert all(r["seed_std"] == pytest.approx(0.5) for r in g)
    text = widths.gains_text(g)
    assert "+1.50 +- 0.00" in text and "50,000" in text


def test_live_seconds_is_the_median_of_the_cached_runs(fake_view):
    assert widths.live_seconds(fake_view, 2000, 2, "kd") == 2.0
    with pytest.raises(ValueError, match="pick one of widths"):
        widths.live_seconds(fake_view, 2000, 32, "kd")


def test_the_committed_width_sweep_is_complete():
    v = widths.load()
    assert v["command"] == "python -m labkit sweep distillation-width" and len(v["seeds"]) >= 2
    assert len(v["rows"]) == len(v["widths"]) * len(v["arms"]) * len(v["images"]) * len(v["seeds"])
    assert max(v["images"]) == data.SUBSETS["val"][0] and (v["T"], v["alpha"]) == widths.chosen_T_alpha()
    assert cache.entry("distillation-width").notebook == "05_distillation"


def test_figures_draw_every_arm_and_the_teacher(fake_view):
    from labkit.distillation import figures
    fig = figures.width_seed_figure(fake_view)
    assert len(fig.axes) == 2 and "50,000 labelled images" in fig.axes[1].get_title()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(widths.ARMS)
    s = widths.summary(fake_view)
    fig = figures.width_pareto_figure(s, {2: 0.1, 4: 0.2, "teacher": 1.0}, {"size_bytes": 10 ** 6,
                                                                        "test_accuracy_pct": 91.0})
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(labels) == 2 * 3 + 1 and "kd, 50,000 images" in labels and labels[0].startswith("teacher")
    assert fig.axes[0].get_xscale() == fig.axes[1].get_xscale() == "log"


def test_full_path_runs_the_recipe_in_the_shape_of_the_cache(monkeypatch):
    seen = []
    monkeypatch.setattr(cache, "compute", lambda n, **kw: seen.append((n, kw)) or cache.load(n))
    assert widths.sweep(samples=400) == widths.load()
    assert seen == [("distillation-width", {"samples": 400})]
