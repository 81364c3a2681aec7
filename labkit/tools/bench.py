"""Benchmarks that are reported, not asserted: ``python -m labkit.tools.bench`` (``make bench``).

1. Loading both Fashion-MNIST splits from disk, cold (first in a process) and warm.
2. One LeNet-5 training epoch through labkit's in-memory loader vs torchvision's
   ``FashionMNIST`` + ``DataLoader`` pipeline (PIL images, ``ToTensor`` + ``Normalize``),
   measured in the same run, same model init, same optimiser; the ratio is the speedup.
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


def main(argv=None) -> int:
    argparse.ArgumentParser(prog="python -m labkit.tools.bench", description=__doc__.splitlines()[0]).parse_args(argv)
    from ..env import setup
    setup()
    r = bench_load()
    print(f"load both splits: first {r['first_s']:.3f} s, reload median {r['reload_median_s']:.3f} s ({r['source']})")
    e = bench_epoch()
    print(f"LeNet-5, one epoch, batch {e['batch_size']}, {e['threads']} threads: labkit loader {e['labkit_epoch_s']:.1f} s, "
          f"torchvision FashionMNIST+DataLoader {e['torchvision_epoch_s']:.1f} s -> {e['speedup']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
