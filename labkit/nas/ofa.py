"""Once-for-All, small: one elastic supernet trained once, subnets extracted without retraining.

Cai et al., "Once-for-All: Train One Network and Specialize it for Efficient Deployment", ICLR 2020
(arXiv:1908.09791). The supernet here covers a sub-space of ``labkit.nas.space`` with ONE op per
stage, the inverted residual ``ir`` at expansion ``EXPAND`` (MobileNetV2's block, OFA's too), and
three elastic dimensions per stage:

==========  ==========================================================================
width       output channels, one of the stage's ``space.WIDTHS``: the subnet keeps the
            *first* channels of every weight (channel slicing; the hidden width is
            ``in_channels * EXPAND``, also a prefix)
depth       repeats, one of ``space.DEPTHS``: the subnet keeps the *first* d blocks of a stage
kernel      depthwise kernel, one of ``space.KERNELS``: a k x k subnet kernel is the *centre*
            k x k of the supernet's 5 x 5 (OFA's centre crop, without its transform matrix)
==========  ==========================================================================

A subnet is an architecture of the space (a config table whose every op is ``("ir", EXPAND)``),
so ``extract(supernet, arch)`` returns a plain ``CompactNet`` of that table (the stem and head are
fixed, as in the space) with the sliced weights copied in: its bytes, MACs and LUT latency
(``labkit.nas.latency.predict``) are those of the subnet, nothing of the supernet is left in it.

Training uses the **sandwich rule** (Yu & Huang, "Universally Slimmable Networks", ICCV 2019;
BigNAS, Yu et al. ECCV 2020): each step accumulates the gradients of the largest subnet, the
smallest and ``RANDOM`` random ones, the largest on the labels and the others by **in-place
distillation** from the largest's (detached) predictions. The BatchNorm running statistics are
shared by all subnets during training and so fit none of them: ``recalibrate_bn`` resets them and
re-estimates them on ``CALIBRATION_BATCHES`` training batches for each extracted subnet (OFA does
the same on 2,000 images).

``python -m labkit sweep nas-supernet`` caches the supernet (its fp16 weights, base64 with their
sha256, in the cache itself), its subnets' inherited accuracy
and their standalone accuracy (``truth.train_arch``, two seeds: with the ground truth's budget, and
with ``MATCHED``, the data the supernet saw).
"""
from __future__ import annotations

import hashlib
import io
import math
import random
import time
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import InvertedResidual, conv_bn_act
from ..models import NUM_CLASSES
from . import space

BLOCK, EXPAND = "ir", 4
STEM, HEAD = 16, 128                       # CompactNet's fixed stem and head (the LUT's keys assume them)
MAX_KERNEL = max(space.KERNELS)
RANDOM = 2                                 # random subnets per sandwich step, besides the largest and smallest
CALIBRATION_BATCHES, CALIBRATION_BATCH = 8, 64    # BN recalibration: 8 x 64 = 512 training images
TRAIN = {"images": 8000, "epochs": 2, "batch_size": 64, "lr": 4e-3, "distill": True, "seed": 0}
N_SUBNETS, N_CANDIDATES = 12, 60
# the second standalone budget: the data the supernet saw (its images and epochs), where the ground
# truth's shorter budget leaves the larger subnets undertrained
MATCHED = {"images": TRAIN["images"], "epochs": TRAIN["epochs"]}


# ---------------------------------------------------------------- the sub-space
def choices(stage: int) -> dict[str, tuple]:
    """The elastic options of ``stage``: widths, depths, kernels (the op is fixed)."""
    c = space.choices(stage)
    return {"width": c["width"], "depth": c["depth"], "kernel": c["kernel"]}


def size() -> int:
    """How many subnets the supernet holds: the product over stages of widths x depths x kernels."""
    return math.prod(math.prod(len(v) for v in choices(s).values()) for s in range(len(space.STRIDES)))


def subnet(widths: Sequence[int], depths: Sequence[int], kernels: Sequence[int]) -> tuple:
    """The architecture (a config table of the space) of one subnet."""
    return space.canonical(tuple(space.row(s, (BLOCK, EXPAND), w, d, k)
                                 for s, (w, d, k) in enumerate(zip(widths, depths, kernels))))


def check(arch) -> tuple:
    """``arch`` canonical, or a one-line error if it is not a subnet of the supernet."""
    a = space.canonical(arch)
    bad = [s for s, r in enumerate(a) if (r[0], r[1]) != (BLOCK, EXPAND)]
    if bad:
        raise ValueError(f"stage {bad[0]} has op {space.op_name(*a[bad[0]][:2])}: a subnet of the supernet uses "
                         f"{space.op_name(BLOCK, EXPAND)} in every stage (build it with ofa.subnet(widths, depths, kernels))")
    return a


def largest() -> tuple:
    n = len(space.STRIDES)
    return subnet([max(choices(s)["width"]) for s in range(n)], [max(space.DEPTHS)] * n, [MAX_KERNEL] * n)


def smallest() -> tuple:
    n = len(space.STRIDES)
    return subnet([min(choices(s)["width"]) for s in range(n)], [min(space.DEPTHS)] * n, [min(space.KERNELS)] * n)


def sample(rng: random.Random) -> tuple:
    """A uniformly random subnet."""
    c = [choices(s) for s in range(len(space.STRIDES))]
    return subnet([rng.choice(x["width"]) for x in c], [rng.choice(x["depth"]) for x in c],
                  [rng.choice(x["kernel"]) for x in c])


def spanning(n: int, seed: int = 0) -> list[tuple]:
    """``n`` distinct subnets spanning the sub-space: each stage's widths, depths and kernels cycle
    through their options in shuffled order (as ``space.spanning``), the largest and the smallest
    subnet first."""
    rng = random.Random(seed)
    out = [largest(), smallest()]
    cols = space.cycled_options(choices, n, rng)
    i = 0
    while len(out) < n:
        stages = range(len(space.STRIDES))
        a = subnet([cols[(s, "width")][i % n] for s in stages], [cols[(s, "depth")][i % n] for s in stages],
                   [cols[(s, "kernel")][i % n] for s in stages]) if i < n else sample(rng)
        if a not in out:
            out.append(a)
        i += 1
    return out


# ---------------------------------------------------------------- the supernet
def _crop(t: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """The leading ``shape`` slice of ``t`` along every dimension except a conv weight's two
    spatial ones, which are centre-cropped (a k x k kernel is the centre of the larger one)."""
    idx = []
    for d, (have, want) in enumerate(zip(t.shape, shape)):
        if want > have:
            raise ValueError(f"cannot slice {tuple(t.shape)} to {tuple(shape)}: the supernet is smaller than the subnet")
        start = (have - want) // 2 if (t.dim() == 4 and d >= 2) else 0
        idx.append(slice(start, start + want))
    return t[tuple(idx)]


def _conv_bn(seq: nn.Sequential, x: torch.Tensor, out_c: int, kernel: int = 1, stride: int = 1,
             depthwise: bool = False) -> torch.Tensor:
    """``conv_bn_act`` ``seq`` run at ``x.shape[1]`` input and ``out_c`` output channels (depthwise:
    ``out_c`` is the input's) and a ``kernel`` centre crop, with sliced weights and BN statistics."""
    conv, bn = seq[0], seq[1]
    in_c = x.shape[1]
    w = _crop(conv.weight, (in_c, 1, kernel, kernel) if depthwise else (out_c, in_c, kernel, kernel))
    c = w.shape[0]
    y = F.conv2d(x, w, None, stride, kernel // 2, 1, in_c if depthwise else 1)
    y = F.batch_norm(y, bn.running_mean[:c], bn.running_var[:c], bn.weight[:c], bn.bias[:c],
                     bn.training, bn.momentum if bn.momentum is not None else 0.0, bn.eps)
    return seq[2](y) if len(seq) > 2 else y


class Supernet(nn.Module):
    """The elastic supernet: CompactNet's stem and head, and per stage ``max(DEPTHS)`` inverted
    residuals at the stage's largest width and the largest kernel. ``forward(x, arch)`` runs the
    subnet ``arch`` (default: the active one, ``set_active``) by slicing its weights."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.stem = conv_bn_act(1, STEM, 3, 2)
        stages, c = [], STEM
        for s, stride in enumerate(space.STRIDES):
            w = max(choices(s)["width"])
            stages.append(nn.ModuleList(InvertedResidual(c if i == 0 else w, w, stride if i == 0 else 1, EXPAND, MAX_KERNEL)
                                        for i in range(max(space.DEPTHS))))
            c = w
        self.stages = nn.ModuleList(stages)
        self.head = conv_bn_act(c, HEAD, 1)
        self.classifier = nn.Linear(HEAD, num_classes)
        self.active = largest()

    def set_active(self, arch) -> None:
        self.active = check(arch)

    def forward(self, x, arch=None):
        arch = self.active if arch is None else check(arch)
        x = _conv_bn(self.stem, x, STEM, 3, 2)
        for blocks, (_, expand, width, depth, stride, kernel) in zip(self.stages, arch):
            for i in range(depth):
                s = stride if i == 0 else 1
                body = blocks[i].body
                in_c = x.shape[1]
                y = _conv_bn(body[0], x, in_c * expand)
                y = _conv_bn(body[1], y, y.shape[1], kernel, s, depthwise=True)
                y = _conv_bn(body[2], y, width)
                x = x + y if (s == 1 and in_c == width) else y
        x = _conv_bn(self.head, x, HEAD)
        return self.classifier(x.mean((2, 3)))


def extract(supernet: Supernet, arch) -> nn.Module:
    """A standalone ``CompactNet`` of ``arch`` with the supernet's weights (sliced: first channels,
    first blocks, centre kernels) and BN statistics copied in; in eval mode."""
    arch = check(arch)
    model = space.build(arch)
    layers = list(model.features)
    pairs = [(layers[0], supernet.stem)]
    i = 1
    for blocks, row in zip(supernet.stages, arch):
        for j in range(row[3]):
            pairs.append((layers[i], blocks[j]))
            i += 1
    pairs += [(layers[i], supernet.head), (model.classifier, supernet.classifier)]
    with torch.no_grad():
        for small, big in pairs:
            source = dict(big.state_dict(keep_vars=False))
            for name, t in small.state_dict(keep_vars=False).items():
                t.copy_(_crop(source[name], t.shape))
    from .. import verify
    if verify.is_trained(supernet):
        verify.mark_trained(model)           # its accuracy depends on this CPU's rounding, as the supernet's
    return model.eval()


def bn_layers(model: nn.Module) -> list[nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def recalibrate_bn(model: nn.Module, batches) -> nn.Module:
    """Reset every BatchNorm's running mean and variance and re-estimate them as the exact average
    over ``batches`` (an iterable of ``(x, y)`` or of ``x``; momentum None), with no gradient and no
    other state touched; ``model`` is returned in eval mode."""
    layers = bn_layers(model)
    if not layers:
        raise ValueError("the model has no BatchNorm layer to recalibrate")
    saved = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None                    # cumulative moving average: the plain mean over the batches
    model.train()
    n = 0
    with torch.no_grad():
        for b in batches:
            model(b[0] if isinstance(b, (tuple, list)) else b)
            n += 1
    for m, mom in zip(layers, saved):
        m.momentum = mom
    if n == 0:
        raise ValueError("recalibrate_bn got no batch: pass e.g. ofa.calibration_batches()")
    return model.eval()


def calibration_batches(batches: int = CALIBRATION_BATCHES, batch_size: int = CALIBRATION_BATCH, device="cpu") -> list:
    """The BN-recalibration data: the first ``batches * batch_size`` training images, in order."""
    from ..data import subset
    return subset("train", batch_size=batch_size, limit=batches * batch_size, device=device)[:batches]


def inherited(supernet: Supernet, arch, calibration: list, val: list) -> tuple[nn.Module, float]:
    """``(model, val accuracy %)`` of ``arch`` extracted from ``supernet``, BN recalibrated."""
    from ..train import evaluate
    model = recalibrate_bn(extract(supernet, arch), calibration)
    return model, float(evaluate(model, val))


# ---------------------------------------------------------------- picking under a latency budget
def lut_ms(lut: dict, arch, overhead: float = 0.0) -> float:
    """The LUT's latency of a subnet in ms (``latency.predict``), plus the network ``overhead``."""
    from .latency import predict
    return predict(lut, check(arch)) + overhead


def subspace_budget(lut: dict, q: float, n: int = 2000, seed: int = 7, overhead: float = 0.0) -> float:
    """A latency budget: the ``q`` quantile of the LUT latency (+ ``overhead``) of ``n`` random subnets."""
    import numpy as np
    rng = random.Random(seed)
    return float(np.quantile([lut_ms(lut, sample(rng), overhead) for _ in range(n)], q))


def pick(rows: Sequence[dict], lut: dict, budget_ms: float, overhead: float = 0.0, score: str = "inherited_pct") -> dict | None:
    """The row (a subnet with its ``score``, e.g. inherited accuracy) of highest score whose LUT latency
    (+ ``overhead``) fits ``budget_ms``, with ``"lut_ms"`` added; None if none fits. No training."""
    fits = [{**r, "lut_ms": lut_ms(lut, r["arch"], overhead)} for r in rows]
    fits = [r for r in fits if r["lut_ms"] <= budget_ms]
    return max(fits, key=lambda r: r[score]) if fits else None


# ---------------------------------------------------------------- training
def train_supernet(supernet: Supernet, images: int = TRAIN["images"], epochs: float = TRAIN["epochs"],
                   batch_size: int = TRAIN["batch_size"], lr: float = TRAIN["lr"], distill: bool = TRAIN["distill"],
                   seed: int = TRAIN["seed"], n_random: int = RANDOM, log=None) -> list[float]:
    """Sandwich-rule training: per step the largest subnet on the labels, then the smallest and
    ``n_random`` random subnets (on the largest's detached soft predictions when ``distill``, else on
    the labels), gradients accumulated, one Adam step, cosine decay. Returns the largest's losses."""
    from .. import verify
    from ..data import loader
    from ..env import seed_everything
    verify.mark_trained(supernet)
    seed_everything(seed)
    rng = random.Random(seed)
    data = loader("train", batch_size, shuffle=True, limit=images, device="cpu", seed=seed)
    total = max(1, math.ceil(epochs * len(data)))
    opt = torch.optim.Adam(supernet.parameters(), lr=lr)
    from ..train import cosine
    sched = cosine(opt, total)
    supernet.train()
    losses, step = [], 0
    for _ in range(math.ceil(epochs)):
        for x, y in data:
            if step >= total:
                break
            opt.zero_grad(set_to_none=True)
            logits = supernet(x, largest())
            loss = F.cross_entropy(logits, y)
            loss.backward()
            losses.append(float(loss.detach()))
            soft = F.softmax(logits.detach(), 1)
            for arch in [smallest()] + [sample(rng) for _ in range(n_random)]:
                out = supernet(x, arch)
                (F.cross_entropy(out, soft) if distill else F.cross_entropy(out, y)).backward()
            opt.step()
            sched.step()
            step += 1
            if log and (step % 25 == 0 or step == total):
                log(f"supernet step {step}/{total}: largest's loss {sum(losses[-25:]) / len(losses[-25:]):.3f}")
    return losses


def to_fp16_(supernet: Supernet) -> Supernet:
    """Round every float weight and buffer to fp16 and back (what the stored file keeps), in place."""
    with torch.no_grad():
        for t in supernet.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())
    return supernet


def encode_weights(supernet: Supernet) -> dict:
    """The fp16 state dict as a JSON-able entry of the cache: ``{"dtype", "bytes", "sha256", "data"
    (base64 of the torch.save file)}``."""
    import base64
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in supernet.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    return {"dtype": "float16", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "data": base64.b64encode(data).decode("ascii")}


def decode_weights(entry: dict) -> Supernet:
    """The supernet of an ``encode_weights`` entry (fp16 stored, fp32 in memory), sha256-checked, in eval mode."""
    import base64
    from .. import verify
    data = base64.b64decode(entry["data"])
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ValueError("the cached supernet weights do not match their sha256: rerun python -m labkit sweep nas-supernet")
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    net = Supernet()
    net.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in state.items()})
    verify.mark_trained(net)
    return net.eval()


# ---------------------------------------------------------------- the cached sweep
def recipe(n: int = N_SUBNETS, candidates: int = N_CANDIDATES, seeds: Sequence[int] = (0, 1), train: dict = TRAIN,
           budget: dict | None = None, calibration: int = CALIBRATION_BATCHES, seed: int = 0,
           matched: dict | bool | None = None, log=print):
    """Train the supernet (``train``, sandwich rule), keep it fp16 in the cache (``extra["weights"]``)
    and evaluate with the stored weights: ``n`` subnets spanning
    the sub-space (``spanning``) with inherited accuracy (BN recalibrated on ``calibration`` batches)
    and standalone accuracy (``truth.train_arch``, ``budget``, each seed; again with ``matched``
    overriding the budget: None means ``MATCHED``, False none), and ``candidates`` random
    other subnets with inherited accuracy only (what a budgeted pick searches, no training)."""
    from .. import metrics
    from ..data import subset
    from . import truth
    t = {**TRAIN, **(train or {})}
    b = {**truth.BUDGET, **(budget or {})}
    m = MATCHED if matched is None else matched
    bm = {**b, **m} if m else None
    torch.manual_seed(t["seed"])
    net = Supernet()
    t0 = time.perf_counter()
    train_supernet(net, t["images"], t["epochs"], t["batch_size"], t["lr"], t["distill"], t["seed"], log=log)
    train_s = time.perf_counter() - t0
    log(f"supernet trained in {train_s:.0f} s")
    weights = encode_weights(net)
    net = to_fp16_(net).eval()                 # evaluate exactly what the file holds
    cal = calibration_batches(calibration)
    val = subset("val", limit=b["eval_images"], batch_size=1000, device="cpu")
    rows = []
    archs = spanning(n, seed)
    rng = random.Random(seed + 1)
    extra = []
    while len(extra) < candidates:
        a = sample(rng)
        if a not in archs and a not in extra:
            extra.append(a)
    for i, arch in enumerate(archs + extra):
        model, acc = inherited(net, arch, cal, val)
        row = {"config": {"index": i, "arch_name": space.describe(arch), "role": "subnet" if i < n else "candidate"},
               "arch": [list(r) for r in arch], "inherited_pct": round(acc, 4),
               "macs": metrics.count_macs(model), "params": metrics.count_params(model)}
        if i < n:
            for s in seeds:
                _, sacc, _, secs = truth.train_arch(arch, s, b)
                row[f"standalone_seed{s}_pct"] = round(float(sacc), 4)
                row[f"standalone_seed{s}_seconds"] = round(secs, 2)
            for s in seeds if bm else ():
                _, sacc, _, secs = truth.train_arch(arch, s, bm)
                row[f"matched_seed{s}_pct"] = round(float(sacc), 4)
                row[f"matched_seed{s}_seconds"] = round(secs, 2)
            log(f"{i:3d}: inherited {acc:.2f} %, standalone {[row[f'standalone_seed{s}_pct'] for s in seeds]}, "
                f"matched {[row.get(f'matched_seed{s}_pct') for s in seeds]}  {space.describe(arch)}")
        rows.append(row)
    params = {"n": n, "candidates": candidates, "seeds": list(seeds), "train": t, "budget": b, "matched": bm,
              "calibration_images": calibration * CALIBRATION_BATCH, "subspace_size": size(), "block": BLOCK,
              "expand": EXPAND, "random_per_step": RANDOM, "seed": seed}
    return rows, params, {"weights": weights, "train_seconds": round(train_s, 1)}


def view(doc: dict) -> dict:
    """``{"subnets": rows with "arch" (a tuple), "inherited_pct", "standalone_pct" (mean of seeds),
    "standalone": {seed: %}, and with a matched budget "matched_pct", "matched": {seed: %};
    "candidates": rows, "params", "weights", "train_seconds", ...metadata}``."""
    from .. import cache
    seeds = doc["params"]["seeds"]
    rows = []
    for r in doc["rows"]:
        r = {**r, "arch": check(r["arch"])}
        if r["config"]["role"] == "subnet":
            r["standalone"] = {s: r[f"standalone_seed{s}_pct"] for s in seeds}
            r["standalone_pct"] = sum(r["standalone"].values()) / len(seeds)
            if doc["params"].get("matched"):
                r["matched"] = {s: r[f"matched_seed{s}_pct"] for s in seeds}
                r["matched_pct"] = sum(r["matched"].values()) / len(seeds)
        rows.append(r)
    return {**cache.meta(doc), "params": doc["params"], "weights": doc["extra"]["weights"],
            "train_seconds": doc["extra"]["train_seconds"],
            "subnets": [r for r in rows if r["config"]["role"] == "subnet"],
            "candidates": [r for r in rows if r["config"]["role"] == "candidate"]}


def load_sweep(path=None) -> dict:
    """The cached supernet sweep (``python -m labkit sweep nas-supernet``) in the shape of ``view``."""
    from .. import cache
    return cache.read("nas-supernet", path)


def load_supernet(sweep: dict) -> Supernet:
    """The supernet the cached sweep holds (fp16, sha256-checked)."""
    return decode_weights(sweep["weights"])
