"""Training and evaluation loops: seeded, CPU or CUDA, with a live progress bar.

``train(model, epochs=...)`` trains on the Fashion-MNIST training split with Adam and a
cosine learning-rate schedule, showing loss and accuracy live (``tqdm.auto``: a widget in
Jupyter, text in a terminal). ``evaluate(model)`` returns test accuracy in %.
Later notebooks pass their own ``loss`` (distillation, regularisers) or ``after_step``
hook (re-applying a pruning mask, projecting weights) instead of writing new loops.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import validate, verify
from .data import loader as make_loader
from .env import current_device, seed_everything


def _default_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    logits = model(x)
    return F.cross_entropy(logits, y), logits


@torch.inference_mode()
def evaluate(model: nn.Module, data: str | Iterable = "test", limit: int | None = None,
             batch_size: int = 1000, device=None) -> float:
    """Top-1 accuracy in % on a split name (``"test"``/``"train"``) or an iterable of (x, y).

    For a model that ``train`` trained in this process the result is a ``verify.Approx``
    number (printed ``≈92.50``): it depends on this CPU's float rounding, so the tests check
    it by value within ``verify.TRAINED``, not as text."""
    validate.module(model)
    device = torch.device(device) if device else current_device()
    batches = make_loader(data, batch_size, shuffle=False, limit=limit, device=device) if isinstance(data, str) else data
    was_training = model.training
    model.eval().to(device)
    correct = total = 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        correct += int((model(x).argmax(1) == y).sum())
        total += len(y)
    model.train(was_training)
    if total == 0:
        raise ValueError("evaluate got no samples: pass a split name or a non-empty loader")
    acc = 100.0 * correct / total
    return verify.approx(acc) if verify.is_trained(model) else acc


def cosine(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The lab's one learning-rate schedule: cosine decay from the optimizer's lr to 0 over
    ``total_steps`` steps (call ``.step()`` once per optimizer step), then held at 0."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))


def train(model: nn.Module, epochs: float = 1, lr: float = 2e-3, batch_size: int = 128,
          weight_decay: float = 0.0, limit: int | None = None, seed: int = 0,
          loss: Callable | None = None, after_step: Callable[[nn.Module], None] | None = None,
          optimizer: torch.optim.Optimizer | None = None, schedule: bool = True,
          device=None, progress: bool = True, desc: str = "train",
          report: Callable[[float, str], None] | None = None) -> list[dict]:
    """Train ``model`` in place on Fashion-MNIST; returns one dict per epoch.

    Args:
        epochs: passes over the data; a fraction (e.g. 0.25) trains on the first part of
            one shuffled epoch, for quick fine-tuning.
        limit: use only the first ``limit`` training images.
        loss: ``loss(model, x, y) -> (loss, logits)``; default cross-entropy.
        after_step: called with the model after every optimiser step (e.g. to re-apply
            a pruning mask).
        optimizer: default Adam(lr, weight_decay) with a cosine decay to 0 over the run.
        report: ``report(fraction_done, text)`` every 20 steps (a widget's progress bar).
    """
    validate.module(model)
    verify.mark_trained(model)      # its accuracy now depends on this CPU's rounding (labkit.verify)
    if epochs <= 0:
        raise ValueError(f"epochs must be > 0, got {epochs}: e.g. epochs=1, or 0.25 for a quarter epoch")
    seed_everything(seed)
    device = torch.device(device) if device else current_device()
    model.to(device).train()
    data = make_loader("train", batch_size, shuffle=True, limit=limit, device=device, seed=seed)
    steps_per_epoch = len(data)
    total_steps = max(1, math.ceil(epochs * steps_per_epoch))
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = cosine(opt, total_steps) if schedule else None
    loss_fn = loss or _default_loss
    history, step = [], 0
    bar = tqdm(total=total_steps, desc=desc, disable=not progress, leave=True)
    for epoch in range(math.ceil(epochs)):
        run_loss = run_correct = run_n = 0
        for x, y in data:
            if step >= total_steps:
                break
            value, logits = loss_fn(model, x, y)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            if sched:
                sched.step()
            if after_step:
                after_step(model)
            step += 1
            run_loss += float(value.detach()) * len(y)
            run_correct += int((logits.argmax(1) == y).sum())
            run_n += len(y)
            bar.update(1)
            if step % 20 == 0 or step == total_steps:
                bar.set_postfix(loss=f"{run_loss / run_n:.3f}", acc=f"{100 * run_correct / run_n:.1f}%")
                if report:
                    report(step / total_steps, f"{desc}: step {step}/{total_steps}, loss {run_loss / run_n:.3f}")
        history.append({"epoch": epoch + 1, "loss": run_loss / max(run_n, 1),
                        "train_accuracy_pct": 100.0 * run_correct / max(run_n, 1)})
    bar.close()
    model.eval()
    return history
