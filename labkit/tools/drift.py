"""How far the same model's latency moves between runs, and how far a ratio within one run does:
``python -m labkit.tools.drift [--runs 6] [--model cnn]``.

Each run is a fresh Python process that times ``model`` against ``lenet5`` with the lab's protocol
(``labkit.timing.compare``: shuffled rounds, the A/A control). It prints, per run, the model's median,
the run's A/A noise floor and the within-run speedup of LeNet-5 with its interval; then the spread of
the medians across runs (the drift: why absolute latencies from different runs are never compared)
next to the spread of the within-run ratios (why ratios measured side by side are). The README's
Measuring section quotes its output; run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys
import torch
from labkit import env, timing, zoo
env.setup(quiet=True)
name = sys.argv[1]
t = timing.compare({name: zoo.load(name), "lenet5": zoo.load("lenet5")}, (1, 1, 28, 28), quiet=True)
r = t.ratio("lenet5")
print(json.dumps({"median_ms": t[name].median_ms, "floor": t.floor, "rounds": t.rounds,
                  "ratio": [r.value, r.lo, r.hi], "machine": t.machine}))
"""


def runs(n: int = 6, model: str = "cnn") -> list[dict]:
    """``n`` fresh processes, one after the other, each one protocol run (see the module docstring)."""
    out = []
    env = {**os.environ, "LABKIT_THREADS": os.environ.get("LABKIT_THREADS", "2")}
    for _ in range(n):
        res = subprocess.run([sys.executable, "-c", CHILD, model], capture_output=True, text=True, env=env, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return out


def report(rows: list[dict], model: str = "cnn") -> str:
    meds = [r["median_ms"] for r in rows]
    ratios = [r["ratio"][0] for r in rows]
    lines = [f"{len(rows)} fresh processes, {rows[0]['machine']['threads']} threads, {rows[0]['machine']['cpu']}"]
    for i, r in enumerate(rows, 1):
        lines.append(f"run {i}: {model} {r['median_ms']:.3f} ms, A/A floor ±{100 * r['floor']:.1f} % ({r['rounds']} rounds), "
                     f"lenet5 vs {model} {r['ratio'][0]:.2f}x [{r['ratio'][1]:.2f}-{r['ratio'][2]:.2f}]")
    lines.append(f"across runs: {model} median {min(meds):.3f}-{max(meds):.3f} ms ({max(meds) / min(meds):.2f}x apart); "
                 f"the within-run ratio {min(ratios):.2f}-{max(ratios):.2f} ({max(ratios) / min(ratios):.2f}x apart); "
                 f"widest A/A floor ±{100 * max(r['floor'] for r in rows):.1f} %")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.tools.drift", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--model", default="cnn", help="a zoo model (python -m labkit.zoo list)")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2: the drift is the spread between runs")
    print(report(runs(args.runs, args.model), args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
