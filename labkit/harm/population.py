"""Notebook 10's compressed population: the zoo CNN compressed by every topic's own functions,
over seeds, and each model's test predictions kept compactly so that the notebook computes
per-class damage, exemplars, calibration and robustness live from the cache in seconds.

``python -m labkit sweep harm-population`` runs ``recipe`` (about 30 minutes on one thread of a shared machine).
Each row is one model and seed: a ``labkit.points.make`` point plus ``pred`` (predicted class of
each of the 10,000 test images, uint8, base64) and ``conf`` (its softmax probability, float16,
base64), and ``corruption_acc`` / ``corruption_ece`` ({kind: [by severity]}) on the first
``CORRUPT_IMAGES`` test images corrupted by ``labkit.harm.corrupt`` (seed 0, the same images for
every model).

The members (``MEMBERS``), every one a short fine-tune (``EPOCHS``, ``LR``) of the shipped
``cnn`` with seed ``s``, so that the dense population and the compressed ones had the same
training budget and differ by the compression only:

- ``dense``: the CNN fine-tuned as the others are (the dense population: Hooker et al. 2019);
- ``prune-50``, ``prune-80``, ``prune-90``: global magnitude pruning (``labkit.pruning``), fine-tuned with the mask held;
- ``int8``, ``w4``: post-training quantization of each ``dense`` seed (``labkit.quantization``):
  8-bit weights and activations, 4-bit per-channel weights;
- ``svd``: the FC layer factorized at rank 32 (``labkit.lowrank``), fine-tuned;
- ``kd-w16``: the zoo's width-16 CNN (2.2x fewer parameters) fine-tuned with Hinton's KD from the CNN (``labkit.distillation``);
- ``bwn``: binary weights in the inner layers (``labkit.binarization``), trained ``BWN_EPOCHS`` (twice the others: it has more to relearn);
- ``prune-80+int8``: each ``prune-80`` seed quantized to int8 too (joint compression).
"""
from __future__ import annotations

import base64
import copy
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .. import points
from .corrupt import KINDS, corrupted_batches

SEEDS = (0, 1)           # two seeds per member: what a ~30-minute sweep on a shared 2-core machine allows
EPOCHS = 0.25            # fine-tuning of every trained member (of one epoch of 60,000 images)
LR = 5e-4                # Adam, cosine to 0: a quarter of training's, from trained weights
BWN_EPOCHS = 0.5
KD_T, KD_ALPHA = 4.0, 0.9
CORRUPT_IMAGES = 1000
CORRUPT_SEVERITIES = (1, 3, 5)
MEMBERS = ("dense", "prune-50", "prune-80", "int8", "w4", "svd", "kd-w16", "bwn", "prune-80+int8")
OPTIONAL = ("prune-90",)     # known to the recipe, left out of the cached sweep (time)
TECHNIQUE = {"dense": "harm-dense", "prune-50": "harm-prune", "prune-80": "harm-prune", "prune-90": "harm-prune",
             "int8": "harm-quant", "w4": "harm-quant", "svd": "harm-lowrank", "kd-w16": "harm-distill",
             "bwn": "harm-binary", "prune-80+int8": "harm-joint"}
DERIVED = {"int8": "dense", "w4": "dense", "prune-80+int8": "prune-80"}     # quantized copies of another member
ABOUT = {"dense": "CNN fine-tuned (no compression)", "prune-50": "50 % magnitude pruning + fine-tune",
         "prune-80": "80 % magnitude pruning + fine-tune", "prune-90": "90 % magnitude pruning + fine-tune",
         "int8": "int8 weights + activations (PTQ)", "w4": "4-bit weights (PTQ, per channel)",
         "svd": "FC layer SVD rank 32 + fine-tune", "kd-w16": "width-16 CNN distilled from the CNN",
         "bwn": "binary weights, inner layers", "prune-80+int8": "80 % pruning + int8 PTQ"}


# ---------------------------------------------------------------------------- building the members
def prune(base: nn.Module, sparsity: float, seed: int, epochs: float = EPOCHS, lr: float = LR,
          limit: int | None = None) -> nn.Module:
    """A copy of ``base`` with global magnitude masks at ``sparsity``, fine-tuned with the masks held."""
    from ..pruning import apply_masks_, finetune_, global_magnitude_masks
    m = copy.deepcopy(base)
    masks = global_magnitude_masks(m, sparsity)
    apply_masks_(m, masks)
    return finetune_(m, epochs, masks, lr=lr, seed=seed, limit=limit, desc=f"prune {sparsity} seed {seed}")


def finetuned(base: nn.Module, seed: int, epochs: float = EPOCHS, lr: float = LR, limit: int | None = None,
              progress: bool = False) -> nn.Module:
    """The dense member: a copy of ``base`` fine-tuned like the compressed ones."""
    from ..train import train
    m = copy.deepcopy(base)
    train(m, epochs=epochs, lr=lr, seed=seed, limit=limit, progress=progress, desc=f"dense seed {seed}")
    return m


def quantized(model: nn.Module, member: str) -> nn.Module:
    """``int8`` (8-bit weights and activations, min/max ranges) or ``w4`` (4-bit weights)."""
    from ..quantization import quantize_model
    return quantize_model(model, bits=8, act_bits=8) if member in ("int8", "prune-80+int8") else quantize_model(model, bits=4)


def svd(base: nn.Module, seed: int, epochs: float = EPOCHS, lr: float = LR, limit: int | None = None) -> nn.Module:
    from ..lowrank import FC_RANK, factorize
    from ..train import train
    m = factorize(base, {"13": FC_RANK})
    train(m, epochs=epochs, lr=lr, seed=seed, limit=limit, progress=False, desc=f"svd seed {seed}")
    return m


def distilled(teacher: nn.Module, seed: int, epochs: float = EPOCHS, lr: float = LR, limit: int | None = None) -> nn.Module:
    """The zoo's ``cnn-w16`` fine-tuned with Hinton's KD loss from ``teacher`` (T, alpha: ``KD_T``, ``KD_ALPHA``)."""
    from .. import zoo
    from ..distillation import kd_loss
    from ..train import train
    student = zoo.load("cnn-w16", device="cpu")
    teacher = teacher.eval()

    def loss(model, x, y):
        with torch.no_grad():
            t = teacher(x)
        logits = model(x)
        return kd_loss(logits, t, y, KD_T, KD_ALPHA), logits
    train(student, epochs=epochs, lr=lr, seed=seed, limit=limit, loss=loss, progress=False, desc=f"kd seed {seed}")
    return student


def binary(base: nn.Module, seed: int, epochs: float = BWN_EPOCHS, limit: int | None = None) -> nn.Module:
    from ..binarization import train_binarized
    return train_binarized("bwn", base, epochs=epochs, seed=seed, limit=limit, progress=False)


def build(member: str, seed: int, base: nn.Module, parent: nn.Module | None = None, epochs: float = EPOCHS,
          limit: int | None = None) -> nn.Module:
    """Member ``member`` with seed ``seed`` from ``base`` (the zoo CNN); a derived member
    (``DERIVED``) quantizes ``parent`` (that seed's model of ``DERIVED[member]``)."""
    if member in DERIVED:
        if parent is None:
            raise ValueError(f"{member} quantizes a {DERIVED[member]} model: pass parent=")
        return quantized(parent, member)
    if member == "dense":
        return finetuned(base, seed, epochs, limit=limit)
    if member.startswith("prune-"):
        return prune(base, int(member[6:]) / 100, seed, epochs, limit=limit)
    if member == "svd":
        return svd(base, seed, epochs, limit=limit)
    if member == "kd-w16":
        return distilled(base, seed, epochs, limit=limit)
    if member == "bwn":
        return binary(base, seed, epochs * BWN_EPOCHS / EPOCHS, limit=limit)
    raise ValueError(f"unknown member {member!r}: use one of {', '.join(MEMBERS + OPTIONAL)}")


def storage_bytes(member: str, model: nn.Module) -> int:
    """Bytes a deployment stores: CSR for pruned weights, packed codes for quantized and binary ones."""
    from .. import size
    from ..binarization import size_bytes as binary_bytes
    from ..quantization.ptq import size_bytes as quant_bytes
    if member.startswith("prune-") and "+" not in member:
        return size.size_bytes(model, "sparse-csr")
    if member in DERIVED:
        return quant_bytes(model)
    if member == "bwn":
        return binary_bytes(model)
    return size.size_bytes(model, "fp32")


# ---------------------------------------------------------------------------- predictions, compactly
def encode(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def decode(text: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


@torch.inference_mode()
def predict(model: nn.Module, batches) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted class, its softmax probability) of every image of ``batches``, in order."""
    model.eval()
    preds, confs = [], []
    for x, _ in batches:
        p = torch.softmax(model(x).float(), dim=1)
        c, k = p.max(1)
        preds.append(k.cpu())
        confs.append(c.cpu())
    return torch.cat(preds), torch.cat(confs)


def test_batches(limit: int | None = None, batch_size: int = 1000) -> list:
    from ..data import arrays, normalize
    images, labels = arrays("test")
    n = len(labels) if limit is None else min(limit, len(labels))
    return [(normalize(images[i:min(i + batch_size, n)]), labels[i:min(i + batch_size, n)]) for i in range(0, n, batch_size)]


def corruption_sets(images: int = CORRUPT_IMAGES, severities: Sequence[int] = CORRUPT_SEVERITIES,
                    kinds: Sequence[str] = KINDS, seed: int = 0) -> dict:
    """``{(kind, severity): batches}`` of the first ``images`` test images, corrupted with ``seed``."""
    from ..data import arrays
    x, y = arrays("test")
    return {(k, s): corrupted_batches(x[:images], k, s, y[:images], seed=seed) for k in kinds for s in severities}


def evaluate_member(model: nn.Module, test: list, corrupted: dict) -> dict:
    """Accuracy, compact predictions and the corruption results of one model."""
    from .calibration import ece
    labels = torch.cat([y for _, y in test])
    pred, conf = predict(model, test)
    acc = 100.0 * float((pred == labels).float().mean())
    out = {"accuracy": round(acc, 4), "pred": encode(pred.numpy().astype(np.uint8)),
           "conf": encode(conf.numpy().astype(np.float16)), "corruption_acc": {}, "corruption_ece": {}}
    for (kind, sev), batches in corrupted.items():
        p, c = predict(model, batches)
        y = torch.cat([b for _, b in batches])
        out["corruption_acc"].setdefault(kind, []).append(round(100.0 * float((p == y).float().mean()), 2))
        out["corruption_ece"].setdefault(kind, []).append(round(100.0 * ece(c, p == y), 2))
    return out


def row(member: str, seed, model: nn.Module, result: dict, epochs: float) -> dict:
    from .. import metrics
    config = {"member": member, "seed": seed, "epochs": 0.0 if member in DERIVED else epochs}
    return points.make(config, accuracy=result["accuracy"], size_bytes=storage_bytes(member, model),
                       macs=metrics.count_macs(model), technique=TECHNIQUE[member],
                       **{k: result[k] for k in ("pred", "conf", "corruption_acc", "corruption_ece")})


# ---------------------------------------------------------------------------- the cached sweep
def recipe(members: Sequence[str] = MEMBERS, seeds: Sequence[int] = SEEDS, epochs: float = EPOCHS,
           limit: int | None = None, eval_limit: int | None = None, corrupt_images: int = CORRUPT_IMAGES,
           done: list | None = None, checkpoint=None, log=print):
    """Every member of ``members`` over ``seeds`` (the first ``limit`` training images; the
    first ``eval_limit`` test images), plus the shipped CNN itself (``member="cnn"``).
    Resumable: ``done`` rows are kept, ``checkpoint(rows)`` is called after each model."""
    from .. import metrics, zoo
    base = zoo.load("cnn", device="cpu")
    test = test_batches(eval_limit)
    corrupted = corruption_sets(corrupt_images)
    rows = list(done or [])
    have = {(r["config"]["member"], r["config"]["seed"]) for r in rows}
    if ("cnn", None) not in have:
        res = evaluate_member(base, test, corrupted)
        rows.append(points.make({"member": "cnn", "seed": None, "epochs": 0.0}, accuracy=res["accuracy"],
                                size_bytes=storage_bytes("cnn", base), macs=metrics.count_macs(base),
                                technique="baseline", **{k: res[k] for k in ("pred", "conf", "corruption_acc", "corruption_ece")}))
        checkpoint and checkpoint(rows)
    trained = [m for m in members if m not in DERIVED]
    for seed in seeds:                        # seed-major: every member's first seed before any second one
        for member in trained:
            children = [d for d in members if DERIVED.get(d) == member]
            if all((m, seed) in have for m in [member, *children]):
                continue
            model = build(member, seed, base, epochs=epochs, limit=limit)
            for m, net in [(member, model), *((c, build(c, seed, base, parent=model)) for c in children)]:
                if (m, seed) in have:
                    continue
                res = evaluate_member(net, test, corrupted)
                rows.append(row(m, seed, net, res, epochs))
                have.add((m, seed))
                log(m, seed, res["accuracy"], flush=True)
                checkpoint and checkpoint(rows)
    params = {"members": list(members), "seeds": list(seeds), "epochs": epochs, "lr": LR, "bwn_epochs": BWN_EPOCHS,
              "kd_T": KD_T, "kd_alpha": KD_ALPHA, "limit": limit, "eval_limit": eval_limit,
              "corrupt_images": corrupt_images, "corrupt_severities": list(CORRUPT_SEVERITIES), "kinds": list(KINDS)}
    return rows, params, {"about": dict(ABOUT)}


# ---------------------------------------------------------------------------- reading it
def view(doc: dict) -> dict:
    """The cache as the notebook reads it: ``members`` ({member: [rows by seed]}, each row with
    ``pred`` (uint8) and ``conf`` (float32) decoded as tensors), ``params``, ``about`` and the
    cache's metadata."""
    from .. import cache
    members: dict = {}
    for r in doc["rows"]:
        r = dict(r)
        r["pred"] = torch.from_numpy(decode(r["pred"], np.uint8).astype(np.int64))
        r["conf"] = torch.from_numpy(decode(r["conf"], np.float16).astype(np.float32))
        members.setdefault(r["config"]["member"], []).append(r)
    return {**cache.meta(doc), "members": members, "params": doc["params"], "about": doc["extra"].get("about", {})}


def load_population(path=None) -> dict:
    """The cached population (``python -m labkit sweep harm-population`` makes it) in the shape of ``view``."""
    from .. import cache
    return cache.read("harm-population", path)


def population_sweep(**kwargs) -> dict:
    """Recompute the population now (the notebook's ``FULL = True``), in the shape of ``load_population``."""
    from .. import cache
    return view(cache.compute("harm-population", **kwargs))
