"""Notebook 07's figures (``matplotlib.figure.Figure``, no pyplot state)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def error_histogram(errors: dict[str, np.ndarray], title: str = "held-out architectures") -> Figure:
    """Histogram of relative latency errors (%) of each predictor, ±10 % shaded."""
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    allv = np.concatenate([100 * np.asarray(e) for e in errors.values()])
    bins = np.linspace(max(-100, allv.min() - 5), min(200, allv.max() + 5), 40)
    for name, e in errors.items():
        ax.hist(np.clip(100 * np.asarray(e), bins[0], bins[-1]), bins=bins, alpha=0.55, label=name)
    ax.axvspan(-10, 10, color="green", alpha=0.12, label="±10 %")
    ax.set_xlabel("(predicted - measured) / measured, %")
    ax.set_ylabel("architectures")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    return fig


def proxy_cost_figure(report: dict, seconds: dict, noise_tau: float | None = None) -> Figure:
    """Kendall tau (with its 95 % interval) against the proxy's CPU seconds per architecture."""
    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for name, r in report.items():
        s = max(seconds[name], 1e-5)
        ax.errorbar([s], [r["tau"]], yerr=[[r["tau"] - r["ci"][0]], [r["ci"][1] - r["tau"]]], fmt="o", capsize=3)
        ax.annotate(name, (s, r["tau"]), xytext=(5, 4), textcoords="offset points", fontsize=8)
    if noise_tau is not None:
        ax.axhline(noise_tau, color="grey", ls="--", lw=1, label="seed 0 vs seed 1 (the noise ceiling)")
        ax.legend(fontsize=8, loc="lower right")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("CPU seconds per architecture (log)")
    ax.set_ylabel("Kendall τ vs ground truth")
    ax.set_title("proxy cost vs rank correlation", fontsize=11)
    return fig


def search_figure(trials: dict[str, list[dict]], budget_ms: float) -> Figure:
    """Every trial of each sampler: score (convergence proxy) vs LUT latency, the budget marked."""
    fig = Figure(figsize=(7.5, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for (name, ts), marker in zip(trials.items(), "o^sv"):
        ax.scatter([t["latency_ms"] for t in ts], [t["score"] for t in ts], marker=marker, alpha=0.6, label=name)
    ax.axvline(budget_ms, color="crimson", ls="--", lw=1, label="latency budget")
    ax.set_xlabel("LUT latency (ms)")
    ax.set_ylabel("convergence proxy (higher: better)")
    ax.legend(fontsize=8)
    ax.set_title("search trials", fontsize=11)
    return fig


def supernet_figure(subnets: list[dict], tau: float, ci: tuple[float, float], picks: dict | None = None) -> Figure:
    """Each subnet's inherited accuracy (extracted from the supernet, BN recalibrated) against its
    standalone accuracy (trained alone; the bar spans its two seeds), Kendall tau in the title."""
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    inh = np.array([r["inherited_pct"] for r in subnets])
    seeds = np.array([list(r["standalone"].values()) for r in subnets])
    mean = seeds.mean(1)
    ax.errorbar(inh, mean, yerr=[mean - seeds.min(1), seeds.max(1) - mean], fmt="o", capsize=3,
                label="subnet (bar: the two seeds)")
    for r in subnets:
        ax.annotate(str(r["config"]["index"]), (r["inherited_pct"], r["standalone_pct"]), xytext=(4, 3),
                    textcoords="offset points", fontsize=7, color="grey")
    ax.set_xlabel("inherited accuracy, % (supernet weights, BN recalibrated; val)")
    ax.set_ylabel("standalone accuracy, % (trained alone; val)")
    ax.set_title(f"{len(subnets)} subnets: Kendall τ = {tau:.2f} (95 % CI {ci[0]:.2f} to {ci[1]:.2f})", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig
