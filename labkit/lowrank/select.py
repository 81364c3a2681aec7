"""Choosing ranks three ways: by energy, by a sensitivity scan (``labkit.allocate``), and by
measured latency (each layer timed alone, dense vs factorized, side by side on this CPU).

A factorized layer does fewer MACs but runs two to four kernels and writes the intermediate
activations to memory in between, so it can be slower than the dense layer it replaces. The
*latency break-even rank* of a layer is the largest rank at which its factorized chain is
still measured faster; choosing ranks from FLOPs alone ignores it.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .. import allocate, metrics, speedups
from ..layers import get_layer, weighted_layers
from . import factor
from .layers import factored, factorize, params_factored, ranks_of

FRACTIONS = (0.75, 0.5, 0.375, 0.25, 0.125)      # ranks as fractions of the layer's dimensions


def energy_ranks(model: nn.Module, keep: float, names: Sequence[str] | None = None) -> dict:
    """Per layer, the smallest rank(s) keeping ``keep`` of the energy: a Linear's singular values,
    a Conv2d's two mode unfoldings (Tucker-2: ``(r_out, r_in)``)."""
    out = {}
    for name, layer in weighted_layers(model).items():
        if names is not None and name not in names:
            continue
        if isinstance(layer, nn.Linear):
            out[name] = factor.rank_for_energy(layer.weight, keep)
        else:
            K = layer.weight.detach().double()
            out[name] = (factor.rank_for_energy(factor.unfold(K, 0), keep),
                         factor.rank_for_energy(factor.unfold(K, 1), keep))
    return out


def layer_inputs(model: nn.Module, input_size=metrics.MNIST_INPUT) -> dict[str, tuple]:
    """The input shape (batch 1) of every Conv2d/Linear, from one forward pass."""
    shapes, hooks = {}, []
    for name, layer in weighted_layers(model).items():
        hooks.append(layer.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(i[0].shape))))
    device = next(model.parameters()).device
    try:
        with torch.inference_mode():
            model.eval()(torch.zeros(*input_size, device=device))
    finally:
        for h in hooks:
            h.remove()
    return shapes


def _layer_macs(layer: nn.Module, shape: tuple) -> int:
    return metrics.count_macs(layer, (1, *shape[1:]))


def layer_scan(model: nn.Module, ranks: dict[str, Sequence], batch_sizes: Sequence[int] = (1, 256),
               repeats: int = 15, report=None) -> list[dict]:
    """Each layer alone, dense and factorized at each of ``ranks[name]`` (ranks as ``factored``
    takes them), timed interleaved at each batch size (random weights would do: the time does
    not depend on them), by the lab's timing protocol (``dense`` the A/A control). Rows ``{layer,
    rank, batch_size, dense_ms, factored_ms, speedup, speedup_lo, speedup_hi, within_noise,
    noise_floor, floor_line, verdict, macs_ratio, slower}``: ``speedup`` the median of the paired
    per-round ratios ``t_dense / t_factored`` with its 95 % interval (``labkit.speedups.fields``),
    ``verdict`` "faster" / "slower" / "within noise"; ``slower``: fewer MACs, yet measured slower
    (the interval lies below 1, outside the noise)."""
    shapes, rows = layer_inputs(model), []
    total, done = len(ranks) * len(batch_sizes), 0
    for name, options in ranks.items():
        options = list(dict.fromkeys(options))          # ranks_of clamps: equal ranks are timed once
        layer = get_layer(model, name)
        variants = {"dense": layer, **{repr(r): factored(layer, r) for r in options}}
        macs = {k: _layer_macs(m, shapes[name]) for k, m in variants.items()}
        for b in batch_sizes:
            times = metrics.compare_latency(variants, (b, *shapes[name][1:]), repeats=repeats, control="dense",
                                            table=f"layer {name}, batch {b}")
            for r in options:
                ratio = macs["dense"] / macs[repr(r)]
                row = {"layer": name, "rank": list(r) if isinstance(r, tuple) else r, "batch_size": b,
                       "dense_ms": times["dense"].median_ms, "factored_ms": times[repr(r)].median_ms,
                       **speedups.fields(times, repr(r), "dense"), "macs_ratio": ratio}
                row["verdict"] = speedups.verdict(row)
                row["slower"] = ratio > 1 and row["verdict"] == "slower"
                rows.append(row)
            done += 1
            if report:
                report(done / total, f"layer {name}, batch {b}")
    return rows


def scan_table(rows: list[dict]) -> str:
    """``layer_scan`` rows as text: the MACs ratio beside the measured speedup (its 95 % interval, or
    "≈1 (within noise)"), a flag on a layer with fewer MACs measured slower; under the table, each
    timing run's A/A noise floor (one run per layer and batch size)."""
    from ..text import text_table
    table = [{"layer": r["layer"], "rank": str(r["rank"]), "batch": r["batch_size"], "MACs ratio": r["macs_ratio"],
              "dense": f"{r['dense_ms']:.3f} ms", "factorized": f"{r['factored_ms']:.3f} ms",
              "speedup": speedups.cell(r), "flag": "FEWER MACs, SLOWER" if r["slower"] else ""} for r in rows]
    out = text_table(table, {"layer": "s", "rank": "s", "batch": "d", "MACs ratio": ".2f", "dense": "s",
                             "factorized": "s", "speedup": "s", "flag": "s"})
    return "\n".join([out, "speedup: median of paired per-round ratios [95 % bootstrap interval]",
                      *speedups.floor_lines(rows, lambda r: f"layer {r['layer']}, batch {r['batch_size']}")])


def break_even(rows: list[dict]) -> dict[tuple[str, int], object]:
    """``{(layer, batch_size): rank}``: the largest scanned rank still measured faster than the dense
    layer, its interval above 1 and outside the noise (None: no scanned rank is)."""
    out: dict = {}
    for r in rows:
        key = (r["layer"], r["batch_size"])
        out.setdefault(key, None)
        size = lambda k: k if isinstance(k, int) else k[0] * k[1]       # noqa: E731
        if speedups.verdict(r) == "faster" and (out[key] is None or size(r["rank"]) > size(out[key])):
            out[key] = r["rank"]
    return out


def latency_ranks(candidates: dict, rows: list[dict], batch_size: int) -> dict:
    """``candidates`` (e.g. ``energy_ranks``) with every layer whose factorized chain at that rank
    was *not* measured faster than the dense layer at ``batch_size`` (its interval above 1, outside
    the noise) left dense (None): the
    latency-aware choice. ``rows`` must hold those exact ranks (``layer_scan``)."""
    out = {}
    for name, rank in candidates.items():
        want = list(rank) if isinstance(rank, tuple) else rank
        hit = [r for r in rows if r["layer"] == name and r["batch_size"] == batch_size and r["rank"] == want]
        if not hit:
            raise ValueError(f"layer {name!r} at rank {rank} was not timed at batch {batch_size}: "
                             f"pass its rank to layer_scan first")
        out[name] = rank if speedups.verdict(hit[0]) == "faster" else None
    return out


def sensitivity_ranks(model: nn.Module, names: Sequence[str], budget: float, data,
                      fractions: Sequence[float] = (1.0, *FRACTIONS), report=None) -> tuple[dict, dict]:
    """Ranks by a sensitivity scan (``labkit.allocate.scan``): each layer factorized alone at each
    fraction of its dimensions, its accuracy drop measured on ``data`` (batches, e.g. the
    ``sensitivity`` subset, no fine-tuning); then ``allocate.greedy`` picks one fraction per layer
    with at most ``budget`` weights in those layers, among the fractions that store fewer weights
    than the dense layer. Returns ``(ranks, table)`` (fraction 1.0: dense; ``table["weights"]``:
    the options offered)."""
    from ..train import evaluate
    base = evaluate(model, data)
    layers = {n: get_layer(model, n) for n in names}

    def measure(name, fraction):
        if fraction == 1.0:
            return 0.0
        return base - evaluate(factorize(model, {name: ranks_of(layers[name], fraction)}), data)

    table = allocate.scan(list(names), list(fractions), measure, report)
    weights = {n: {f: (layers[n].weight.numel() if f == 1.0 else params_factored(layers[n], ranks_of(layers[n], f)))
                   for f in fractions} for n in names}
    # a factorization that stores more weights than the dense layer is never an option (e.g. a conv with 1 input)
    size = {n: {f: w for f, w in weights[n].items() if f == 1.0 or w < weights[n][1.0]} for n in names}
    cost = {n: {f: c for f, c in zip(fractions, allocate.envelope(table[n])) if f in size[n]} for n in names}
    choice = allocate.greedy(cost, size, budget)
    ranks = {n: (None if f == 1.0 else ranks_of(layers[n], f)) for n, f in choice.items()}
    return ranks, {"drop_pt": table, "fractions": list(fractions), "choice": choice, "weights": size}
