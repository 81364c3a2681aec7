"""Sensitivity tables and greedy budget allocation, shared by every technique.

A technique has per-layer *options* (sparsities, bit widths, ranks), each with a *cost*
(accuracy drop or loss increase, measured one layer at a time: a sensitivity scan) and a
*size* (weights kept, bytes). ``greedy`` picks one option per layer under a budget, moving
the layer whose step costs least per unit of size saved (Han et al. 2015, section 4, for
pruning; the same rule as HAQ's and HAWQ's bit allocation without their learned costs).
"""
from __future__ import annotations

from typing import Callable, Hashable, Sequence


def scan(layers: Sequence[str], options: Sequence, measure: Callable[[str, object], float],
         report: Callable[[float, str], None] | None = None) -> dict[str, list[float]]:
    """``{layer: [measure(layer, option) for option in options]}``: each layer changed alone.

    ``measure(layer, option)`` applies the option to that one layer, measures the model on the
    technique's data and restores the layer (the technique knows how); ``report(fraction, text)``
    follows the progress."""
    table, total, done = {}, len(layers) * len(options), 0
    for name in layers:
        table[name] = []
        for option in options:
            table[name].append(float(measure(name, option)))
            done += 1
            if report:
                report(done / total, f"layer {name}, option {option}")
    return table


def envelope(costs: Sequence[float]) -> list[float]:
    """Running maximum: a step to a more aggressive option never costs less than nothing
    (a negative or noisy drop in a scan is read as no gain)."""
    out, best = [], float("-inf")
    for c in costs:
        best = max(best, c)
        out.append(best)
    return out


def greedy(cost: dict[str, dict[Hashable, float]], size: dict[str, dict[Hashable, float]], budget: float,
           refill: bool = True) -> dict[str, Hashable]:
    """One option per layer whose total ``size`` fits ``budget``, at little total ``cost``.

    Options of a layer are ordered from the largest size to the smallest. Every layer starts
    at its largest option; while over budget, the layer whose next step costs least per unit
    of size saved takes it (ties: the first layer in ``cost``'s order). With ``refill``, the
    budget left over is then spent back on the steps that gain most per unit of size.
    Raises a one-line error when even the smallest options do not fit."""
    if set(cost) != set(size) or any(set(cost[n]) != set(size[n]) for n in cost):
        raise ValueError("cost and size must cover the same layers and options: compute both for the same model")
    opts = {n: sorted(size[n], key=lambda o: -size[n][o]) for n in cost}
    alloc = {n: opts[n][0] for n in cost}

    def total() -> float:
        return sum(size[n][alloc[n]] for n in alloc)

    smallest = sum(size[n][opts[n][-1]] for n in cost)
    if smallest > budget:
        raise ValueError(f"the budget {budget:,.0f} is below the smallest allocation ({smallest:,.0f}, every layer "
                         f"at its smallest option): raise the budget or offer smaller options")
    while total() > budget:                      # 1. take the cheapest step down until it fits
        best = None
        for n in alloc:
            i = opts[n].index(alloc[n])
            if i + 1 == len(opts[n]):
                continue
            lower = opts[n][i + 1]
            per_unit = (cost[n][lower] - cost[n][alloc[n]]) / max(size[n][alloc[n]] - size[n][lower], 1e-12)
            if best is None or per_unit < best[0]:
                best = (per_unit, n, lower)
        alloc[best[1]] = best[2]
    while refill:                                # 2. spend what is left where it gains most per unit
        best = None
        for n in alloc:
            i = opts[n].index(alloc[n])
            if i == 0:
                continue
            higher = opts[n][i - 1]
            extra = size[n][higher] - size[n][alloc[n]]
            gain = (cost[n][alloc[n]] - cost[n][higher]) / max(extra, 1e-12)
            if total() + extra <= budget and gain > 0 and (best is None or gain > best[0]):
                best = (gain, n, higher)
        if best is None:
            break
        alloc[best[1]] = best[2]
    return alloc
