"""Pruning a generative model: the zoo's VAE (``labkit.models.VAE``), its generator (the decoder)
pruned, quantized and recovered by distillation, and how its quality is measured.

Quality: a Fréchet distance between the features of real test images and of generated ones, in
the feature space of the lab's own CNN (``FEATURES``: the zoo ``cnn``'s 256-dimensional
penultimate layer). It is the Fashion-MNIST analogue of FID (Heusel et al., NeurIPS 2017), **not
FID**: FID uses an ImageNet Inception-v3, and numbers in these two spaces are not comparable.
Lower is better; two halves of the real test set give its noise floor (``real_floor``).
Also: reconstruction error (binary cross-entropy per image, summed over pixels, nats) of test
images through the dense encoder and the compressed decoder.

``python -m labkit sweep harm-generator`` caches ``recipe`` (about two minutes).
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate

FEATURES = "cnn"            # the classifier whose penultimate layer is the feature space
SAMPLES = 5000              # generated and real images per Fréchet distance
SPARSITIES = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
RECOVER_SPARSITIES = (0.8, 0.9)
RECOVER_STEPS = 400
RECOVER_SEEDS = (0, 1, 2)
QUANT_BITS = (8, 4)


# ---------------------------------------------------------------------------- training (the zoo recipe)
def images01(split: str, limit: int | None = None) -> torch.Tensor:
    """Images of a split as float (N, 784) in [0, 1]."""
    from ..data import arrays
    x = arrays(split)[0]
    x = x if limit is None else x[:limit]
    return x.reshape(len(x), -1).float() / 255.0


def vae_loss(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(negative ELBO, reconstruction BCE, KL), each per image (summed over pixels / latents)."""
    logits, mu, logvar = model(x)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
    return bce + kl, bce, kl


def train_vae(model: nn.Module, recipe, progress: bool = True, limit: int | None = None) -> dict:
    """The zoo's trainer for ``vae``: Adam with a cosine schedule on the training images (seeded
    shuffles), ``recipe.epochs`` x ``recipe.batch_size`` x ``recipe.lr``; returns the test metrics
    the manifest stores (``test_bce_per_image``, ``test_kl_per_image``)."""
    from tqdm.auto import tqdm
    from ..env import seed_everything
    from ..verify import mark_trained
    seed_everything(recipe.seed)
    mark_trained(model)
    x = images01("train", limit)
    steps_per_epoch = math.ceil(len(x) / recipe.batch_size)
    total = math.ceil(recipe.epochs * steps_per_epoch)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    from ..train import cosine
    sched = cosine(opt, total)
    g = torch.Generator().manual_seed(recipe.seed)
    model.train()
    bar = tqdm(total=total, desc="vae", disable=not progress)
    step = 0
    while step < total:
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), recipe.batch_size):
            if step >= total:
                break
            loss, bce, kl = vae_loss(model, x[order[i:i + recipe.batch_size]])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            if step % 100 == 0:
                bar.set_postfix(bce=f"{float(bce):.1f}", kl=f"{float(kl):.1f}")
    bar.close()
    model.eval()
    return {"test_bce_per_image": round(reconstruction_error(model), 3)}


# ---------------------------------------------------------------------------- quality
@torch.inference_mode()
def reconstruction_error(vae: nn.Module, limit: int | None = 2000, decoder: nn.Module | None = None) -> float:
    """Binary cross-entropy per test image (nats, summed over 784 pixels) of the first ``limit``
    test images encoded by ``vae``'s encoder (its mean) and decoded by ``decoder`` (default its own)."""
    vae.eval()
    x = images01("test", limit)
    mu, _ = vae.encode(x)
    logits = (decoder or vae.decoder)(mu)
    return float(F.binary_cross_entropy_with_logits(logits.float(), x, reduction="sum")) / len(x)


@torch.inference_mode()
def generate(decoder: nn.Module, n: int = 64, seed: int = 0, latent: int = 16) -> torch.Tensor:
    """``n`` images (n, 28, 28) in [0, 1]: the decoder's pixel means at z ~ N(0, I) drawn with ``seed``."""
    decoder.eval()
    z = torch.randn(n, latent, generator=torch.Generator().manual_seed(int(seed)))
    return torch.sigmoid(decoder(z).float()).reshape(n, 28, 28)


@torch.inference_mode()
def features(images: torch.Tensor, classifier: nn.Module | None = None, batch_size: int = 1000) -> torch.Tensor:
    """The ``FEATURES`` CNN's penultimate activations (N, 256), float64, of images in [0, 1]
    ((N, 28, 28) or (N, 784)), standardised as the CNN was trained."""
    from .. import zoo
    from ..data import MEAN, STD
    net = classifier if classifier is not None else zoo.load(FEATURES, device="cpu")
    body = net[:-1]                                   # everything but the last Linear: (N, 256) after ReLU
    x = (images.reshape(len(images), 1, 28, 28).float() - MEAN) / STD
    return torch.cat([body(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).double()


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` and ``b`` (N, d):
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The trace of the matrix square root is
    ``sum(sqrt(eig(A S_b A)))`` with ``A = S_a^(1/2)`` (symmetric, so ``eigh`` suffices: no SciPy)."""
    a, b = a.double(), b.double()
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (N, d) with the same d, got {tuple(a.shape)} and {tuple(b.shape)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = torch.cov(a.T), torch.cov(b.T)
    w, v = torch.linalg.eigh(s_a)
    root_a = (v * w.clamp(min=0).sqrt()) @ v.T
    m = root_a @ s_b @ root_a
    tr_root = torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + torch.trace(s_a) + torch.trace(s_b) - 2 * tr_root)


class Judge:
    """The real test images' features, computed once; ``fd(decoder)`` scores a generator."""

    def __init__(self, samples: int = SAMPLES, classifier: nn.Module | None = None):
        from .. import zoo
        self.classifier = classifier if classifier is not None else zoo.load(FEATURES, device="cpu")
        self.samples = samples
        self.real = features(images01("test", samples), self.classifier)

    def fd(self, decoder: nn.Module, seed: int = 0) -> float:
        return frechet_distance(self.real, features(generate(decoder, self.samples, seed), self.classifier))

    def real_floor(self) -> float:
        """The Fréchet distance between two disjoint halves of the real test set (its noise floor at half the samples)."""
        other = features(images01("test", 2 * self.samples)[self.samples:], self.classifier)
        half = self.samples // 2
        return frechet_distance(self.real[:half], other[:half])


# ---------------------------------------------------------------------------- compressing the generator
def pruned_decoder(vae: nn.Module, sparsity: float) -> tuple[nn.Module, dict]:
    """A copy of ``vae.decoder`` with global magnitude masks at ``sparsity`` (``labkit.pruning``),
    and the masks."""
    from ..pruning import apply_masks_, global_magnitude_masks
    s = validate.sparsity(sparsity) if sparsity > 0 else 0.0
    dec = copy.deepcopy(vae.decoder)
    masks = global_magnitude_masks(dec, s) if s > 0 else {}
    return apply_masks_(dec, masks) if masks else dec, masks


def quantized_decoder(vae: nn.Module, bits: int) -> nn.Module:
    """``vae.decoder`` with ``bits``-bit per-channel weights (``labkit.quantization``'s PTQ)."""
    from ..quantization import quantize_model
    return quantize_model(vae.decoder, bits=bits)


def recover_(decoder: nn.Module, masks: dict, teacher: nn.Module, method: str = "kd", steps: int = RECOVER_STEPS,
            seed: int = 0, batch_size: int = 256, lr: float = 1e-3, vae: nn.Module | None = None) -> nn.Module:
    """Train a pruned ``decoder`` in place with its ``masks`` held, ``steps`` Adam steps:

    - ``"kd"``: data-free distillation: at z ~ N(0, I), match the dense ``teacher`` decoder's pixel
      probabilities (binary cross-entropy with its soft targets; no image is used);
    - ``"fine-tune"``: the ELBO on training images through the dense ``vae``'s encoder (frozen).
    """
    from ..env import seed_everything
    from ..pruning import apply_masks_
    from ..verify import mark_trained
    validate.choice(method, ("kd", "fine-tune"), "recovery method")
    seed_everything(seed)
    mark_trained(decoder)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(decoder.parameters(), lr=lr)
    x_train = images01("train") if method == "fine-tune" else None
    latent = teacher[0].in_features
    decoder.train()
    for _ in range(steps):
        if method == "kd":
            z = torch.randn(batch_size, latent, generator=g)
            with torch.no_grad():
                target = torch.sigmoid(teacher(z))
            loss = F.binary_cross_entropy_with_logits(decoder(z), target, reduction="sum") / batch_size
        else:
            x = x_train[torch.randint(0, len(x_train), (batch_size,), generator=g)]
            with torch.no_grad():
                mu, logvar = vae.encode(x)
                z = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * logvar)
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / batch_size
            loss = F.binary_cross_entropy_with_logits(decoder(z), x, reduction="sum") / batch_size + kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        apply_masks_(decoder, masks)
    return decoder.eval()


# ---------------------------------------------------------------------------- the classifier beside it
@torch.inference_mode()
def classifier_oneshot(name: str, sparsities: Sequence[float], limit: int | None = None) -> list[float]:
    """Test accuracy (%) of the zoo classifier ``name`` pruned one-shot (global magnitude, no
    fine-tuning) at each sparsity: the classifier's curve beside the generator's."""
    from .. import zoo
    from ..pruning import apply_masks_, global_magnitude_masks
    from ..train import evaluate
    base = zoo.load(name, device="cpu")
    out = []
    for s in sparsities:
        m = copy.deepcopy(base)
        if s > 0:
            apply_masks_(m, global_magnitude_masks(m, s))
        out.append(round(float(evaluate(m, limit=limit, device="cpu")), 2))
    return out


# ---------------------------------------------------------------------------- the cached sweep
def recipe(sparsities: Sequence[float] = SPARSITIES, recover_sparsities: Sequence[float] = RECOVER_SPARSITIES,
           seeds: Sequence[int] = RECOVER_SEEDS, steps: int = RECOVER_STEPS, samples: int = SAMPLES,
           bits: Sequence[int] = QUANT_BITS, classifiers: Sequence[str] = ("cnn", "cnn-w16"),
           eval_limit: int | None = None, log=print):
    """The generator pruned one-shot at ``sparsities`` and quantized at ``bits`` (Fréchet distance,
    reconstruction error), recovered at ``recover_sparsities`` by KD and by fine-tuning over ``seeds``,
    and the ``classifiers`` pruned one-shot at the same sparsities."""
    from .. import metrics, zoo
    vae = zoo.load("vae", device="cpu")
    judge = Judge(samples)
    rows = []

    def add(kind, config, decoder, **extra):
        rows.append({"config": {"kind": kind, **config}, "fd": round(judge.fd(decoder), 3),
                     "recon_bce": round(reconstruction_error(vae, decoder=decoder), 3),
                     "nonzero": metrics.count_params(decoder, nonzero=True),
                     "params": metrics.count_params(decoder), **extra})
        log(kind, config, rows[-1]["fd"], rows[-1]["recon_bce"], flush=True)

    for s in sparsities:
        add("prune", {"sparsity": s}, pruned_decoder(vae, s)[0])
    for b in bits:
        add("quant", {"bits": b}, quantized_decoder(vae, b))
    for s in recover_sparsities:
        for method in ("kd", "fine-tune"):
            for seed in seeds:
                dec, masks = pruned_decoder(vae, s)
                recover_(dec, masks, vae.decoder, method, steps, seed, vae=vae)
                add("recover", {"sparsity": s, "method": method, "steps": steps, "seed": seed}, dec)
    for name in classifiers:
        for s, acc in zip(sparsities, classifier_oneshot(name, sparsities, eval_limit)):
            rows.append({"config": {"kind": "classifier", "model": name, "sparsity": s}, "accuracy_pct": acc,
                         "params": zoo.info(name)["params"]})
    params = {"sparsities": list(sparsities), "recover_sparsities": list(recover_sparsities), "seeds": list(seeds),
              "steps": steps, "samples": samples, "bits": list(bits), "classifiers": list(classifiers),
              "features": FEATURES, "eval_limit": eval_limit}
    return rows, params, {"real_floor_fd": round(judge.real_floor(), 3)}


def view(doc: dict) -> dict:
    """``{prune, quant, recover, classifier: [rows]}``, ``real_floor_fd``, ``params`` and the cache's metadata."""
    from .. import cache
    out: dict = {"prune": [], "quant": [], "recover": [], "classifier": []}
    for r in doc["rows"]:
        out[r["config"]["kind"]].append(r)
    return {**cache.meta(doc), **out, "real_floor_fd": doc["extra"]["real_floor_fd"], "params": doc["params"]}


def load_generator_sweep(path=None) -> dict:
    """The cached generator sweep (``python -m labkit sweep harm-generator``) in the shape of ``view``."""
    from .. import cache
    return cache.read("harm-generator", path)


def generator_sweep(**kwargs) -> dict:
    """Recompute it now (``FULL = True``), in the shape of ``load_generator_sweep``."""
    from .. import cache
    return view(cache.compute("harm-generator", **kwargs))
