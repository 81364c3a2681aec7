"""Knowledge distillation: a small student learns from a teacher's outputs.

Pure tensor functions first:

- ``soft_targets(logits, T)``: the softened softmax ``softmax(z / T)`` (Hinton et al., 2015).
- ``kd_loss(student_logits, teacher_logits, y, T, alpha)``: Hinton, Vinyals & Dean,
  "Distilling the Knowledge in a Neural Network" (arXiv:1503.02531, 2015):
  ``alpha * T**2 * KL(p_teacher^T || p_student^T) + (1 - alpha) * CE(student, y)``.
  The ``T**2`` keeps the soft term's gradient on the same scale as the hard term's when T
  changes (its gradient shrinks as ``1 / T**2``).
- ``attention_map`` / ``attention_loss``: attention transfer (Zagoruyko & Komodakis,
  "Paying More Attention to Attention", ICLR 2017): the student matches the teacher's
  normalised spatial maps ``sum_c A_c**2`` at a few stages.

Then the parts that run models:

- ``TeacherCache``: the teacher's outputs (logits, attention maps) computed once for a set
  of images and looked up by the images' *content*, so any loader, order or batch size
  finds them; KD then costs what plain training costs.
- ``kd_objective`` / ``attention_objective``: ``loss(model, x, y) -> (loss, logits)`` for
  ``labkit.train.train(model, loss=...)``: no new training loop.
- ``make_student``, ``train_student``: a seeded student trained alone, with KD or with
  attention transfer, on a data budget.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import validate, verify


# ---------------------------------------------------------------------------- tensors
def _temperature(T) -> float:
    try:
        t = float(T)
    except (TypeError, ValueError):
        raise TypeError(f"temperature T must be a number > 0, got {T!r}: e.g. T=4") from None
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"temperature T must be > 0, got {T!r}: e.g. T=4 (T=1 is the ordinary softmax)")
    return t


def _alpha(alpha) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a number in [0, 1], got {alpha!r}: the weight of the distillation term, e.g. 0.9") from None
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}: the weight of the distillation term "
                         f"(0: labels only, 1: teacher only), e.g. 0.9")
    return a


def soft_targets(logits: Tensor, T: float = 1.0) -> Tensor:
    """``softmax(logits / T)`` over the last dimension: T > 1 spreads the probability mass
    onto the classes the model finds *almost* right (Hinton et al., 2015, eq. 1)."""
    return torch.softmax(logits / _temperature(T), dim=-1)


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, y: Tensor | None = None,
            T: float = 4.0, alpha: float = 0.9) -> Tensor:
    """Hinton et al.'s distillation loss, averaged over the batch.

    ``alpha * T**2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)``, with
    the KL divergence summed over classes and averaged over samples (``batchmean``). With
    ``alpha=1`` the labels ``y`` may be ``None``. The teacher's logits get no gradient.
    """
    T, alpha = _temperature(T), _alpha(alpha)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} differ: both must be (batch, classes)")
    log_p_s = F.log_softmax(student_logits / T, dim=-1)
    log_p_t = F.log_softmax(teacher_logits.detach() / T, dim=-1)
    soft = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * T * T
    if alpha == 1.0:
        return soft
    if y is None:
        raise ValueError("kd_loss needs the labels y when alpha < 1 (the hard-label term): pass y, or alpha=1")
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, y)


def attention_map(features: Tensor) -> Tensor:
    """Zagoruyko & Komodakis (2017): ``normalize(mean_c A_c**2)`` flattened, (batch, H*W).

    Which positions a layer "looks at", independent of its channel count, so a thin student
    can be compared with a wide teacher at the same resolution."""
    if features.dim() != 4:
        raise ValueError(f"attention_map needs (batch, channels, H, W) features, got shape {tuple(features.shape)}")
    return F.normalize(features.pow(2).mean(1).flatten(1), dim=1)


def attention_loss(student_maps: Sequence[Tensor], teacher_maps: Sequence[Tensor]) -> Tensor:
    """Sum over stages of the mean squared distance between normalised attention maps
    (both (batch, H*W)); a teacher map of another resolution is average-pooled to the student's."""
    if len(student_maps) != len(teacher_maps):
        raise ValueError(f"{len(student_maps)} student stages vs {len(teacher_maps)} teacher stages: pair them one to one")
    total = 0.0
    for s, t in zip(student_maps, teacher_maps):
        if s.shape != t.shape:
            hs, ht = math.isqrt(s.shape[1]), math.isqrt(t.shape[1])
            t = F.normalize(F.adaptive_avg_pool2d(t.reshape(-1, 1, ht, ht), hs).flatten(1), dim=1)
        total = total + (s - t.detach()).pow(2).mean()
    return total


# ---------------------------------------------------------------------------- models
class FeatureTaps:
    """Forward hooks that keep the outputs of some layers of a model (``taps.features``)."""

    def __init__(self, model: nn.Module, layers: Sequence[int | str]):
        validate.module(model)
        named = dict(model.named_modules())
        self.features: list[Tensor] = []
        self._hooks = []
        for layer in layers:
            key = str(layer)
            if key not in named:
                raise ValueError(f"layer {layer!r} is not in the model: use module names such as "
                                 f"{[n for n in named if n][:6]}")
            self._hooks.append(named[key].register_forward_hook(lambda _m, _i, out: self.features.append(out)))

    def pop(self) -> list[Tensor]:
        out, self.features = self.features, []
        return out

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []


# Stages of labkit.models.baseline_cnn (any width): outputs of the three max-pool layers,
# (w, 14, 14), (2w, 7, 7), (4w, 3, 3).
CNN_STAGES = (3, 7, 11)
_KEY_RANGE = 2 ** 40          # key = sum(pixel * w), w < 2**40: no int64 overflow (784 * 255 * 2**40 < 2**63)


class TeacherCache:
    """A teacher's outputs for a fixed set of images, looked up by image content.

    ``TeacherCache(teacher, images_uint8)`` runs the teacher once (eval mode, no grad) on
    every image and stores its logits (and the attention maps of ``stages`` if given).
    ``cache.lookup(x)`` takes a batch of *normalised* images (as ``labkit.data`` yields
    them) and returns the stored rows: the outputs depend only on the image, so the key is
    the image itself (an exact integer hash of its 784 pixels). An image not in the cache
    raises a one-line error.
    """

    def __init__(self, teacher: nn.Module, images: Tensor, stages: Sequence[int] = (), batch_size: int = 500,
                 progress: Callable[[float, str], None] | None = None):
        from .data import normalize
        validate.module(teacher, "teacher")
        if images.dtype != torch.uint8 or images.dim() != 3:
            raise TypeError(f"images must be uint8 (N, 28, 28) as labkit.data.arrays gives, got {images.dtype} {tuple(images.shape)}")
        device = next(teacher.parameters()).device
        teacher.eval()
        g = torch.Generator().manual_seed(0)
        self._w = torch.randint(0, _KEY_RANGE, (images[0].numel(),), generator=g, dtype=torch.int64)
        keys = self._keys_uint8(images)
        self.keys, order = keys.sort()
        dup = self.keys[1:] == self.keys[:-1]
        same_img = (images[order[1:]] == images[order[:-1]]).flatten(1).all(1)
        if bool((dup & ~same_img).any()):     # two different images with one key: astronomically rare
            raise RuntimeError("TeacherCache key collision: change the generator seed in labkit/distill.py")
        taps = FeatureTaps(teacher, stages) if stages else None
        logits, maps = [], [[] for _ in stages]
        try:
            with torch.inference_mode():
                for start in range(0, len(images), batch_size):
                    x = normalize(images[start:start + batch_size]).to(device)
                    logits.append(teacher(x).float().cpu())
                    if taps:
                        for i, f in enumerate(taps.pop()):
                            maps[i].append(attention_map(f).cpu())
                    if progress:
                        progress(min(start + batch_size, len(images)) / len(images), "teacher outputs")
        finally:
            if taps:
                taps.remove()
        self.logits = torch.cat(logits)[order]
        self.maps = [torch.cat(m)[order] for m in maps]
        self.num_images = len(images)

    def _keys_uint8(self, images: Tensor) -> Tensor:
        return images.reshape(len(images), -1).to(torch.int64) @ self._w

    def _index(self, x: Tensor) -> Tensor:
        from .data import MEAN, STD
        pixels = torch.round((x.detach().float().cpu() * STD + MEAN) * 255).clamp(0, 255)
        keys = pixels.reshape(len(x), -1).to(torch.int64) @ self._w
        idx = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        if not bool((self.keys[idx] == keys).all()):
            raise KeyError("an image of this batch is not in the teacher cache: build the cache on the images "
                           "you train on (e.g. limit=N uses the first N training images)")
        return idx

    def lookup(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(teacher logits, [teacher attention maps]) for a batch of normalised images."""
        idx = self._index(x)
        return self.logits[idx].to(x.device), [m[idx].to(x.device) for m in self.maps]

    def __len__(self) -> int:
        return self.num_images


def kd_objective(cache: TeacherCache, T: float = 4.0, alpha: float = 0.9) -> Callable:
    """``loss(model, x, y) -> (loss, logits)``: Hinton's KD loss against the cached teacher,
    for ``labkit.train.train(model, loss=...)``."""
    T, alpha = _temperature(T), _alpha(alpha)

    def loss(model, x, y):
        logits = model(x)
        t_logits, _ = cache.lookup(x)
        return kd_loss(logits, t_logits, y, T, alpha), logits
    return loss


def attention_objective(cache: TeacherCache, taps: FeatureTaps, beta: float = 1000.0, T: float = 4.0,
                        alpha: float = 0.0) -> Callable:
    """``loss(model, x, y)``: ``kd_loss(T, alpha) + beta / 2 * attention_loss`` with the
    student's stages read by ``taps`` (alpha=0: hard labels plus attention transfer alone;
    Zagoruyko & Komodakis use beta=1000)."""
    T, alpha = _temperature(T), _alpha(alpha)
    if len(taps._hooks) != len(cache.maps):
        raise ValueError(f"the student has {len(taps._hooks)} tapped stages but the cache holds {len(cache.maps)} "
                         f"teacher maps: build TeacherCache(..., stages=...) with as many stages")

    def loss(model, x, y):
        taps.pop()
        logits = model(x)
        s_maps = [attention_map(f) for f in taps.pop()]
        t_logits, t_maps = cache.lookup(x)
        return kd_loss(logits, t_logits, y, T, alpha) + beta / 2 * attention_loss(s_maps, t_maps), logits
    return loss


# ---------------------------------------------------------------------------- the student's protocol
VAL_START = 50_000        # training images 50,000-59,999: validation, never in a student's budget


@dataclass(frozen=True)
class Budget:
    """What the student may use: the first ``images`` labelled training images, seen
    ``samples`` times in all (``epochs = samples / images``), and its architecture."""
    images: int = 2_000        # labelled images (the scenario: little labelled data, a good teacher)
    samples: int = 80_000      # images seen in training: same compute whatever ``images`` is
    width: int = 4             # student = baseline_cnn(width=4): 41k params, 43x fewer MACs than the teacher
    lr: float = 2e-3           # Adam, cosine decay to 0 (labkit.train defaults)
    batch_size: int = 128

    def __post_init__(self):
        if not 1 <= int(self.images) <= VAL_START:
            raise ValueError(f"images must be in [1, {VAL_START}], got {self.images}: the last 10,000 training images "
                             f"are the validation set")
        if self.samples < self.images:
            raise ValueError(f"samples ({self.samples}) must be >= images ({self.images}): at least one epoch")

    @property
    def epochs(self) -> float:
        return self.samples / self.images


def make_student(width: int = 4, seed: int = 0) -> nn.Module:
    """The student: ``labkit.models.baseline_cnn(width=...)``, initialised from ``seed``
    (the teacher ``cnn`` is the same architecture at width 32)."""
    from .models import baseline_cnn
    from .runtime import seed_everything
    seed_everything(seed)
    return baseline_cnn(width=width)


def validation_batches(batch_size: int = 1000, device=None):
    """(x, y) batches of training images 50,000-59,999: the set on which T, alpha, ... are chosen."""
    from .data import arrays, normalize
    from .runtime import current_device
    device = device or current_device()
    images, labels = arrays("train")
    for start in range(VAL_START, len(labels), batch_size):
        yield normalize(images[start:start + batch_size]).to(device), labels[start:start + batch_size].to(device)


def validation_accuracy(model: nn.Module) -> float:
    """Accuracy in % on the validation images (training images 50,000-59,999)."""
    from .train import evaluate
    return evaluate(model, validation_batches())


def teacher_cache(teacher: nn.Module, budget: Budget = Budget(), stages: Sequence[int] = (),
                  progress=None) -> TeacherCache:
    """The teacher's outputs on the student's ``budget.images`` training images."""
    from .data import arrays
    return TeacherCache(teacher, arrays("train")[0][:budget.images], stages=stages, progress=progress)


def train_student(seed: int = 0, cache: TeacherCache | None = None, T: float = 4.0, alpha: float = 0.9,
                  beta: float = 0.0, budget: Budget = Budget(), stages: Sequence[int] = CNN_STAGES[:2],
                  progress: bool = False, report=None, desc: str = "student") -> nn.Module:
    """A student trained on ``budget``: alone (``cache=None``), with Hinton's KD (``T``,
    ``alpha``), or with attention transfer at ``stages`` too (``beta > 0``; the cache must
    hold the teacher's maps of as many stages). Same seed: same initial weights and data order."""
    from .train import train
    model = make_student(budget.width, seed)
    taps, loss = None, None
    if cache is not None:
        if beta > 0:
            taps = FeatureTaps(model, stages)
            loss = attention_objective(cache, taps, beta, T, alpha)
        else:
            loss = kd_objective(cache, T, alpha)
    try:
        train(model, epochs=budget.epochs, lr=budget.lr, batch_size=budget.batch_size, limit=budget.images,
              seed=seed, loss=loss, progress=progress, report=report, desc=desc)
    finally:
        if taps is not None:
            taps.remove()
    return model


# ---------------------------------------------------------------------------- recovering a compressed copy
def prune_copy(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` with the ``sparsity`` fraction of smallest-magnitude weights of all
    its Conv2d/Linear layers set to zero, globally (``torch.nn.utils.prune.global_unstructured``,
    L1; Han et al., "Learning both Weights and Connections", NeurIPS 2015). The masks stay
    attached (``weight = weight_orig * weight_mask``) so training keeps the zeros;
    ``remove_masks`` makes them permanent. ``model`` is not changed."""
    import copy
    from torch.nn.utils import prune
    s = validate.sparsity(sparsity)
    pruned = copy.deepcopy(validate.module(model))
    layers = [(m, "weight") for m in pruned.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=s)
    with torch.no_grad():          # refresh .weight outside autograd, so the copy can be copied again
        for m, _ in layers:
            m.weight = m.weight_orig * m.weight_mask
    return pruned


def remove_masks(model: nn.Module) -> nn.Module:
    """Make the pruning masks of ``prune_copy`` permanent (plain weights with zeros), in place."""
    from torch.nn.utils import prune
    for m in model.modules():
        if prune.is_pruned(m) and hasattr(m, "weight_mask"):
            prune.remove(m, "weight")
    return model


RECOVER_METHODS = ("fine-tune", "kd", "kd+features")


def recover(model: nn.Module, teacher: nn.Module, method: str = "kd+features", seed: int = 0, images: int = 200,
            samples: int = 2_000, lr: float = 3e-3, T: float = 1.0, gamma: float = 1.0,
            stages: Sequence[int] = CNN_STAGES, progress: bool = False, report=None) -> nn.Module:
    """Train a compressed copy of ``teacher`` (e.g. from ``prune_copy``) in place, on the first
    ``images`` training images seen ``samples`` times, and make its masks permanent.

    - ``"fine-tune"``: cross-entropy on the labels.
    - ``"kd"``: match the original's softened outputs (``kd_loss`` with ``alpha=1``: no labels used).
    - ``"kd+features"``: also match the original's feature maps at ``stages`` (mean squared error,
      weight ``gamma``; FitNets' hints, Romero et al., ICLR 2015, without a regressor since the
      copy has the original's shapes). No labels used either.
    """
    from .train import train
    validate.choice(method, RECOVER_METHODS, "recovery method")
    loss, taps = None, []
    if method != "fine-tune":
        teacher.eval()
        if method == "kd+features":
            taps = [FeatureTaps(model, stages), FeatureTaps(teacher, stages)]

        def loss(m, x, y):
            for t in taps:
                t.pop()
            logits = m(x)
            with torch.no_grad():
                t_logits = teacher(x)
            value = kd_loss(logits, t_logits, None, T, 1.0)
            if taps:
                s_f, t_f = taps[0].pop(), taps[1].pop()
                value = value + gamma * sum(F.mse_loss(a, b.detach()) for a, b in zip(s_f, t_f))
            return value, logits
    try:
        train(model, epochs=samples / images, lr=lr, limit=images, seed=seed, loss=loss, progress=progress,
              report=report, desc=method)
    finally:
        for t in taps:
            t.remove()
    return remove_masks(model.eval())


# ---------------------------------------------------------------------------- sweeps (cached)
SWEEP_SEEDS = (100, 101, 102)       # not the seeds of the notebook's headline runs (0, 1, 2)
TEMPERATURES = (1, 2, 4, 8, 16)
ALPHAS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
TEACHERS = ("lenet5", "cnn-w8", "cnn-w16", "cnn", "compact-w0.25", "compact-w1.0")
BUDGETS = (500, 2_000, 10_000)
FEATURE_BETAS = (0.0, 100.0, 1000.0)
RECOVER_IMAGES = (200, 2_000)
RECOVER_SPARSITY = 0.95
SWEEP_KINDS = ("temperature", "alpha", "feature", "budget", "teacher", "recover")
SWEEP_FILE = "05_distillation_sweeps.json"


def sweep_path():
    from .paths import cache_dir
    return cache_dir() / SWEEP_FILE


_RUNS: dict = {}          # (teacher, images, T, alpha, beta, seed) -> (val %, test %): one process reuses runs


def _student_run(teacher: str, budget: Budget, T: float, alpha: float, beta: float, seed: int,
                 caches: dict) -> tuple[float, float]:
    """Validation and test accuracy of one student (memoised: sweeps share their common points)."""
    from . import zoo
    from .train import evaluate
    alone = alpha == 0 and beta == 0
    key = (None if alone else teacher, budget, None if alone else float(T), float(alpha), float(beta), seed)
    if key not in _RUNS:
        cache = None
        if not alone:
            stages = CNN_STAGES[:2] if beta > 0 else ()
            ck = (teacher, budget.images, stages)
            if ck not in caches:
                caches[ck] = teacher_cache(zoo.load(teacher), budget, stages=stages)
            cache = caches[ck]
        model = train_student(seed, cache, T=T, alpha=alpha, beta=beta, budget=budget)
        _RUNS[key] = (round(validation_accuracy(model), 2), round(evaluate(model), 2))
    return _RUNS[key]


def run_sweep(kind: str, seeds: Sequence[int] = SWEEP_SEEDS, budget: Budget = Budget(), T: float = 4.0,
              alpha: float = 0.9, log=print) -> list[dict]:
    """One sweep: a list of entries ``{<setting>..., "val_accuracy_pct": [per seed], "test_accuracy_pct": [...]}``.

    ``temperature`` (T at ``alpha``), ``alpha`` (at ``T``; 0 is the student alone), ``teacher``
    (zoo teachers of several sizes, at ``T``, ``alpha``), ``budget`` (labelled images, alone vs KD),
    ``feature`` (attention transfer weight beta, without and with logit KD), ``recover`` (a pruned
    copy of ``cnn`` recovered by fine-tuning or distillation). Choose settings on validation
    accuracy; test accuracy is reported alongside for reading, not for choosing.
    """
    from . import zoo
    from .train import evaluate
    validate.choice(kind, SWEEP_KINDS, "sweep")
    out, caches = [], {}

    def entry(config, teacher="cnn", b=budget, t=T, a=alpha, beta=0.0):
        runs = [_student_run(teacher, b, t, a, beta, s, caches) for s in seeds]
        out.append({**config, "val_accuracy_pct": [r[0] for r in runs], "test_accuracy_pct": [r[1] for r in runs]})
        log(kind, out[-1])

    if kind == "temperature":
        for t in TEMPERATURES:
            entry({"T": t, "alpha": alpha}, t=t)
    elif kind == "alpha":
        for a in ALPHAS:
            entry({"T": T, "alpha": a}, a=a)
    elif kind == "teacher":
        from .metrics import count_macs, count_params
        for name in [n for n in TEACHERS if n in zoo.RECIPES and n in zoo.manifest()]:
            t_model = zoo.load(name)
            entry({"teacher": name, "teacher_params": count_params(t_model), "teacher_macs": count_macs(t_model),
                   "teacher_test_accuracy_pct": round(evaluate(t_model), 2), "T": T, "alpha": alpha}, teacher=name)
    elif kind == "budget":
        for n in BUDGETS:
            b = Budget(images=n, samples=budget.samples, width=budget.width, lr=budget.lr, batch_size=budget.batch_size)
            for a in (0.0, alpha):
                entry({"images": n, "T": T, "alpha": a}, b=b, a=a)
    elif kind == "feature":
        for a in (0.0, alpha):
            for beta in FEATURE_BETAS:
                entry({"beta": beta, "T": T, "alpha": a}, a=a, beta=beta)
    else:  # recover
        teacher = zoo.load("cnn")
        pruned = prune_copy(teacher, RECOVER_SPARSITY)
        out.append({"method": "pruned", "images": 0, "sparsity": RECOVER_SPARSITY,
                    "test_accuracy_pct": [round(evaluate(pruned), 2)]})
        log(kind, out[-1])
        for n in RECOVER_IMAGES:
            for method in RECOVER_METHODS:
                accs = [round(evaluate(recover(prune_copy(teacher, RECOVER_SPARSITY), teacher, method, seed=s,
                                               images=n)), 2) for s in seeds]
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
                             f"re-run `python -m labkit.distill sweep alpha`")
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
    from .plots import text_table
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
    from . import zoo
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


def load_sweeps(path=None) -> dict:
    """The cached sweeps (``python -m labkit.distill sweep`` writes them)."""
    from .paths import read_cache
    return read_cache(path or sweep_path(), "python -m labkit.distill sweep")


def write_sweeps(kinds: Sequence[str] = SWEEP_KINDS, seeds: Sequence[int] = SWEEP_SEEDS, path=None, log=print) -> dict:
    """Run ``kinds`` and merge them into the cache file (other kinds already there are kept)."""
    import json
    import time
    from .paths import write_json
    p = path or sweep_path()
    data = json.loads(p.read_text()) if p.exists() else {}
    b = Budget()
    data.setdefault("sweeps", {})
    for kind in kinds:
        t0 = time.perf_counter()
        data["sweeps"][kind] = run_sweep(kind, seeds, b, log=log)
        data.setdefault("seconds", {})[kind] = round(time.perf_counter() - t0)
        data.update({"command": "python -m labkit.distill sweep", "seeds": list(seeds),
                     "budget": {**b.__dict__, "epochs": b.epochs}, "T": 4.0, "alpha": 0.9,
                     "threads": torch.get_num_threads(), "torch": torch.__version__.split("+")[0]})
        write_json(data, p)
    return data


def main(argv=None) -> int:
    import argparse
    from .runtime import setup
    ap = argparse.ArgumentParser(prog="python -m labkit.distill", description="Knowledge-distillation sweeps for notebook 05.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep", help=f"run the sweeps and write notebooks/cache/{SWEEP_FILE}")
    s.add_argument("kinds", nargs="*", default=list(SWEEP_KINDS), help=f"some of {', '.join(SWEEP_KINDS)} (default: all)")
    args = ap.parse_args(argv)
    for k in args.kinds:
        validate.choice(k, SWEEP_KINDS, "sweep")
    setup(quiet=True)
    write_sweeps(args.kinds, log=lambda *a: print(*a, flush=True))
    print(f"wrote {sweep_path()}")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
