"""labkit.distill: the losses against references, the teacher cache, students, recovery, sweeps."""
import json

import pytest
import torch
from torch import nn

from labkit import cache, data, models
from labkit import distillation as distill
from labkit.checks.distillation import reference_grad, reference_kd_loss


def logits(seed, b=8, c=10, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, generator=g) * scale


# ---------------------------------------------------------------- the math
def test_soft_targets_is_a_softened_softmax():
    z = logits(0)
    assert torch.allclose(distill.soft_targets(z, 1), torch.softmax(z, 1))
    p = distill.soft_targets(z, 1000.0)
    assert torch.allclose(p.sum(1), torch.ones(8)) and torch.allclose(p, torch.full_like(p, 0.1), atol=1e-3)
    assert (distill.soft_targets(z, 4).max(1).values < torch.softmax(z, 1).max(1).values).all()


@pytest.mark.parametrize("T, alpha", [(1.0, 0.9), (4.0, 0.5), (20.0, 1.0), (2.0, 0.0), (100.0, 0.7)])
def test_kd_loss_matches_the_reference_value_and_gradient(T, alpha):
    s, t = logits(1).requires_grad_(True), logits(2)
    y = torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(3))
    loss = distill.kd_loss(s, t, y, T, alpha)
    assert loss.item() == pytest.approx(reference_kd_loss(s.detach(), t, y, T, alpha).item(), rel=1e-4, abs=1e-5)
    (g,) = torch.autograd.grad(loss, s)
    assert torch.allclose(g.double(), reference_grad(s.detach(), t, y, T, alpha), atol=1e-6)


def test_t_squared_keeps_the_soft_gradient_scale():
    s, t = logits(4).requires_grad_(True), logits(5)
    norms = [torch.autograd.grad(distill.kd_loss(s, t, None, T, 1.0), s)[0].norm().item() for T in (5.0, 50.0, 500.0)]
    assert norms[2] == pytest.approx(norms[1], rel=0.05) and norms[1] == pytest.approx(norms[0], rel=0.3)


def test_teacher_gets_no_gradient_and_equal_logits_cost_nothing():
    s, t = logits(6).requires_grad_(True), logits(6).requires_grad_(True)
    distill.kd_loss(s, t, None, 4.0, 1.0).backward()
    assert t.grad is None
    assert distill.kd_loss(logits(6), logits(6), None, 4.0, 1.0).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("call, fix", [
    (lambda: distill.kd_loss(logits(0), logits(1), None, 0.0, 0.5), "T must be > 0"),
    (lambda: distill.kd_loss(logits(0), logits(1), None, "hot", 0.5), "e.g. T=4"),
    (lambda: distill.kd_loss(logits(0), logits(1), None, 4.0, 1.5), "alpha must be in [0, 1]"),
    (lambda: distill.kd_loss(logits(0), logits(1), None, 4.0, 0.5), "needs the labels y"),
    (lambda: distill.kd_loss(logits(0), logits(1, c=5), None, 4.0, 1.0), "must be (batch, classes)"),
    (lambda: distill.attention_map(torch.zeros(2, 3)), "(batch, channels, H, W)"),
    (lambda: distill.Budget(images=55_000), "validation set"),
    (lambda: distill.prune_copy(models.lenet5(), 90), "did you mean 0.9"),
])
def test_bad_input_is_one_line_with_the_fix(call, fix):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert fix in str(err.value) and "\n" not in str(err.value)


def test_attention_maps():
    f = torch.randn(4, 6, 7, 7)
    a = distill.attention_map(f)
    assert a.shape == (4, 49) and torch.allclose(a.norm(dim=1), torch.ones(4))
    assert torch.allclose(distill.attention_map(3 * f), a, atol=1e-6)                  # scale-free
    assert torch.allclose(distill.attention_map(torch.cat([f, f], 1)), a, atol=1e-6)   # channel-count-free
    assert distill.attention_loss([a], [a]).item() == 0
    big = distill.attention_map(torch.randn(4, 6, 14, 14))
    assert distill.attention_loss([a], [big]).item() > 0                                # pooled to 7x7


# ---------------------------------------------------------------- the teacher cache
@pytest.fixture(scope="module")
def tiny_teacher():
    torch.manual_seed(0)
    return models.baseline_cnn(width=2).eval()


def test_teacher_cache_finds_outputs_whatever_the_order(tiny_teacher):
    images = data.arrays("train")[0][:300]
    cache = distill.TeacherCache(tiny_teacher, images, stages=(3, 7))
    assert len(cache) == 300 and [m.shape[1] for m in cache.maps] == [196, 49]
    for x, _ in data.loader("train", 64, shuffle=True, limit=300, seed=5, device="cpu"):
        got, maps = cache.lookup(x)
        with torch.no_grad():
            assert torch.allclose(got, tiny_teacher(x), atol=1e-5)
        assert maps[1].shape == (len(x), 49)
    with pytest.raises(KeyError, match="not in the teacher cache"):
        cache.lookup(data.normalize(data.arrays("train")[0][300:302]))
    with pytest.raises(TypeError, match="uint8"):
        distill.TeacherCache(tiny_teacher, data.normalize(images[:4]))


def test_kd_students_train_reproducibly_and_differ_from_plain(tiny_teacher):
    b = distill.Budget(images=128, samples=256)
    cache = distill.teacher_cache(tiny_teacher, b, stages=distill.CNN_STAGES[:2])
    x = data.normalize(data.arrays("test")[0][:64])
    runs = [distill.train_student(0, cache, T=4, alpha=0.9, budget=b) for _ in range(2)]
    plain = distill.train_student(0, None, budget=b)
    at = distill.train_student(0, cache, T=4, alpha=0.5, beta=1000, budget=b)
    with torch.no_grad():
        outs = [m(x) for m in (*runs, plain, at)]
    assert torch.equal(outs[0], outs[1])
    assert not torch.allclose(outs[0], outs[2]) and not torch.allclose(outs[0], outs[3])
    assert not any(m._forward_hooks for m in at.modules())                 # the taps were removed


def test_validation_images_are_the_last_10000():
    xs = list(distill.validation_batches(batch_size=4000, device="cpu"))
    assert sum(len(y) for _, y in xs) == 10_000
    assert torch.equal(xs[0][1][:5], data.arrays("train")[1][50_000:50_005])


# ---------------------------------------------------------------- recovery
def test_prune_copy_is_exact_and_training_keeps_the_zeros(tiny_teacher):
    pruned = distill.prune_copy(tiny_teacher, 0.8)
    weights = [m.weight for m in pruned.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    zeros = sum(int((w == 0).sum()) for w in weights)
    total = sum(w.numel() for w in weights)
    assert zeros == round(0.8 * total)
    assert all(int((m.weight == 0).sum()) == 0 for m in tiny_teacher.modules() if isinstance(m, nn.Conv2d))
    out = distill.recover_(pruned, tiny_teacher, "kd+features", images=128, samples=256)
    weights = [m.weight for m in out.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert sum(int((w == 0).sum()) for w in weights) >= zeros
    assert all(isinstance(w, nn.Parameter) for w in weights)            # masks made permanent
    assert not any(m._forward_hooks for m in tiny_teacher.modules())
    with pytest.raises(ValueError, match="unknown recovery method"):
        distill.recover_(distill.prune_copy(tiny_teacher, 0.5), tiny_teacher, "magic")


# ---------------------------------------------------------------- sweeps
def test_sweep_rows_gain_against_the_same_seeds(fake_sweeps):
    s = fake_sweeps
    t = distill.sweep_rows(s, "temperature")
    assert [r["value"] for r in t] == [1, 4] and t[1]["gain"] == pytest.approx(3.5) and t[1]["std"] == pytest.approx(2 ** 0.5)
    assert distill.best(t)["value"] == 4
    (b,) = distill.sweep_rows(s, "budget")
    assert b["gain"] == pytest.approx(4.0) and b["setting"] == {"images": 500, "T": 4, "alpha": 0.9}
    f = distill.sweep_rows(s, "feature")
    assert [r["value"] for r in f] == ["AT beta=1000", "AT beta=1000 + KD"]
    assert distill.sweep_rows(s, "teacher")[0]["name"] == "cnn-w8 (82k, 90.91 %)"
    with pytest.raises(ValueError, match="unknown sweep in the cache 'recover'"):
        distill.sweep_rows(s, "recover")


def test_mean_std():
    assert distill.mean_std([1.0, 3.0]) == (2.0, pytest.approx(2 ** 0.5))
    assert distill.mean_std([5.0]) == (5.0, 0.0)


def test_load_sweeps_names_the_command(tmp_path, fake_sweeps):
    with pytest.raises(FileNotFoundError, match="python -m labkit sweep distillation"):
        distill.load_sweeps(tmp_path / "missing.json")
    (tmp_path / "old.json").write_text(json.dumps(fake_sweeps))             # the 0.1 layout is stale
    with pytest.raises(ValueError, match="stale .* remake it with `python -m labkit sweep distillation`"):
        distill.load_sweeps(tmp_path / "old.json")
    sweeps = fake_sweeps["sweeps"]
    rows = [{"kind": kind, **e} for kind, entries in sweeps.items() for e in entries]
    params = {"seeds": [0, 1], "budget": {"images": 2000, "samples": 80000}, "T": 4.0, "alpha": 0.9}
    cache.write(cache.document("distillation", (rows, params, {"seconds": {"alpha": 7}})), tmp_path / "s.json")
    s = distill.load_sweeps(tmp_path / "s.json")
    assert s["sweeps"] == sweeps and s["sweeps"]["alpha"][0]["alpha"] == 0.0 and s["seconds"] == {"alpha": 7}
    assert (s["seeds"], s["T"], s["alpha"], s["command"]) == ([0, 1], 4.0, 0.9, "python -m labkit sweep distillation")
    assert [r["value"] for r in distill.sweep_rows(s, "temperature")] == [1, 4]


def test_shipped_cache_has_every_sweep_and_three_seeds():
    from labkit.distillation.sweep import SWEEP_KINDS, SWEEP_PARAM
    s = distill.load_sweeps()
    assert set(s["sweeps"]) == set(SWEEP_KINDS) and len(s["seeds"]) >= 3
    assert set(s["seconds"]) == set(SWEEP_KINDS) and s["budget"]["images"] == 2000
    for kind in SWEEP_PARAM:
        for r in distill.sweep_rows(s, kind):
            assert len(r["accs"]) == len(s["seeds"]) and 0 < r["mean"] <= 100


def test_sweep_text_aligns_the_rows(fake_sweeps):
    text = distill.sweep_text(distill.sweep_rows(fake_sweeps, "temperature"))
    lines = text.splitlines()
    assert lines[0].split() == ["setting", "val", "%", "alone", "%", "gain", "(pt)"]
    assert lines[3].split() == ["T=4", "84.00", "+-", "1.41", "80.50", "+3.50"]
    assert len({len(line) for line in lines}) == 1
