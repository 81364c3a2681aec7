"""Benchmarks that are reported, not asserted: ``python -m labkit.tools.bench`` (``make bench``).

1. Loading both Fashion-MNIST splits from disk, cold (first in a process) and warm.
2. One LeNet-5 training epoch through labkit's in-memory loader vs torchvision's
   ``FashionMNIST`` + ``DataLoader`` pipeline (PIL images, ``ToTensor`` + ``Normalize``),
   measured in the same run, same model init, same optimiser; the ratio is the speedup.
3. Every widget of the lab (``labkit.ui.catalogue.WIDGETS``, one entry per widget: see there
   how to add one): the time to build it, then 20 slider moves (median, worst, and the worst
   first visit of a value), kernel-side, from ``select`` to the new PNG assigned to the output;
   and the time from a click on its live button to the first progress shown. Goal: median
   <= 0.2 s on 2 cores (issue 19); reported, not asserted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch


def bench_load(repeats: int = 5) -> dict:
    from .. import data
    data._CACHE.clear()
    t0 = time.perf_counter()
    data.arrays("train"), data.arrays("test")
    first = time.perf_counter() - t0
    fresh = []
    for _ in range(repeats):
        data._CACHE.clear()
        t0 = time.perf_counter()
        data.arrays("train"), data.arrays("test")
        fresh.append(time.perf_counter() - t0)
    return {"first_s": first, "reload_median_s": statistics.median(fresh), "source": str(data.locate())}


def _torchvision_loader(batch_size: int):
    """torchvision's pipeline on the same verified files (copied to its raw/ layout)."""
    from torchvision import transforms
    from torchvision.datasets import FashionMNIST as TV
    from .. import data
    root = Path(tempfile.mkdtemp(prefix="labkit-tv-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    src = data.locate()
    for img, lab, _ in data.SPLITS.values():
        for name in (img, lab):
            (raw / name).write_bytes(data.read_verified(data._file_in(src, name)))
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((data.MEAN,), (data.STD,))])
    ds = TV(str(root), train=True, transform=tf, download=False)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(0))


def _epoch(loader) -> float:
    from ..models import lenet5
    torch.manual_seed(0)
    model = lenet5()
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    t0 = time.perf_counter()
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def bench_epoch(batch_size: int = 128) -> dict:
    from ..data import loader
    ours = loader("train", batch_size, device="cpu")
    theirs = _torchvision_loader(batch_size)
    t_ours, t_theirs = _epoch(ours), _epoch(theirs)
    return {"labkit_epoch_s": t_ours, "torchvision_epoch_s": t_theirs, "speedup": t_theirs / t_ours,
            "batch_size": batch_size, "threads": torch.get_num_threads()}


def _feedback_s(widget) -> float | None:
    """Seconds from a click on ``widget.button`` to the first progress it shows (its label or bar
    changes), with the live computation replaced by one that stops at once; None if no button."""
    button = getattr(widget, "button", None)
    if button is None or button.disabled:
        return None
    seen = []
    note = lambda _change: seen.append(time.perf_counter()) if not seen else None  # noqa: E731
    widget.label.observe(note, names="value")
    widget.progress.observe(note, names="value")
    t0 = time.perf_counter()
    button.click()
    thread = getattr(widget, "_thread", None)
    if thread is not None:
        thread.join()
    widget.label.unobserve(note, names="value")
    widget.progress.unobserve(note, names="value")
    return seen[0] - t0 if seen else None


def bench_widgets(names=None, moves: int = 20) -> list[dict]:
    """One row per widget of ``labkit.ui.catalogue.WIDGETS`` (all by default): seconds to build
    the widget (its data prepared before, not counted), then ``moves`` moves cycling through the
    builder's list; median, worst and worst first visit of a value."""
    from ..ui import catalogue
    rows = []
    for name in names or catalogue.WIDGETS:
        for label, (make, selections) in catalogue.build(name).items():
            t0 = time.perf_counter()
            widget = make()
            build_s = time.perf_counter() - t0
            times, first = [], []
            seen = set()          # first visits (the start value counts too: conservative)
            for i in range(moves):
                sel = selections[(i + 1) % len(selections)]     # +1: the first move leaves the start
                t0 = time.perf_counter()
                catalogue.move(widget, sel)
                times.append(time.perf_counter() - t0)
                if repr(sel) not in seen:
                    seen.add(repr(sel))
                    first.append(times[-1])
            rows.append({"widget": f"{name}: {label}" if label else name, "build_s": build_s,
                         "median_s": statistics.median(times), "worst_s": max(times),
                         "first_visit_worst_s": max(first) if first else None, "moves": moves,
                         "feedback_s": _feedback_s(widget)})
    return rows


def widget_table(rows) -> str:
    from ..ui.plots import text_table
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return text_table(rows, {"widget": "s", "build_s": fmt, "median_s": fmt, "worst_s": fmt,
                             "first_visit_worst_s": fmt, "feedback_s": fmt})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--widgets", nargs="*", metavar="NAME",
                        help="only the widget benchmark (of these catalogue entries; all if none given)")
    args = parser.parse_args(argv)
    from ..env import setup
    setup()
    if args.widgets is not None:
        rows = bench_widgets(args.widgets or None)
        print(f"widget moves, {torch.get_num_threads()} threads, seconds (goal: median <= 0.2):")
        print(widget_table(rows))
        return 0
    r = bench_load()
    print(f"load both splits: first {r['first_s']:.3f} s, reload median {r['reload_median_s']:.3f} s ({r['source']})")
    e = bench_epoch()
    print(f"LeNet-5, one epoch, batch {e['batch_size']}, {e['threads']} threads: labkit loader {e['labkit_epoch_s']:.1f} s, "
          f"torchvision FashionMNIST+DataLoader {e['torchvision_epoch_s']:.1f} s -> {e['speedup']:.2f}x")
    rows = bench_widgets()
    print(f"widget moves, {torch.get_num_threads()} threads, seconds (goal: median <= 0.2):")
    print(widget_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
