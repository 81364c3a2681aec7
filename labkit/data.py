"""Fashion-MNIST, offline and verified, with a fast in-memory loader.

``fashion_mnist("train")`` / ``fashion_mnist("test")`` return a torch ``Dataset`` (60,000 /
10,000 images of 28x28). ``loader(split)`` batches the whole split held as one uint8
tensor, normalising on the fly: no PIL, no worker processes.

Where the four original files are looked for, in order:
1. the folder in ``$LABKIT_DATA``;
2. ``datasets/fashion-mnist/`` in this repository;
3. ``/usr/share/datasets/fashion-mnist/`` (Debian's package ``dataset-fashion-mnist``);
4. ``datasets/FashionMNIST/raw/`` (where torchvision's downloader puts them).
``python -m labkit.data`` makes sure the data is there (apt as root, else torchvision).

Every file is verified by MD5 (and a decompressed copy is kept in ``datasets/cache/`` so a
warm load reads without gunzip, verified the same way): a ``.gz`` by the MD5 of its decompressed content (Debian
re-compresses the upstream archives, so their ``.gz`` sums differ, while the content is
byte-identical), a raw idx file by its own MD5. A file that fails is refused, never used.
Reference: Xiao, Rasul & Vollgraf, "Fashion-MNIST", arXiv:1708.07747 (2017).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from . import validate
from .paths import DATASETS

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000)}
# MD5 of the decompressed idx files (upstream README and torchvision agree on these).
RAW_MD5 = {"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
           "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
           "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
           "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"}
MEAN, STD = 0.2860, 0.3530           # of the training images scaled to [0, 1]
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FIX = ("install Debian's package (`apt-get install dataset-fashion-mnist`) or download it "
       "with `python -m labkit.data --download` (uses torchvision's downloader)")


class DataError(RuntimeError):
    """Missing or corrupt data; the message names the file and the fix."""


def candidate_dirs() -> list[Path]:
    dirs = [Path(os.environ["LABKIT_DATA"])] if os.environ.get("LABKIT_DATA") else []
    return dirs + [DATASETS / "fashion-mnist", DEBIAN_DIR, DATASETS / "FashionMNIST" / "raw"]


def _file_in(folder: Path, name: str) -> Path | None:
    for p in (folder / name, folder / f"{name}.gz"):
        if p.is_file():
            return p
    return None


def locate() -> Path:
    """The first folder that holds all four files (raw or ``.gz``)."""
    names = [n for img, lab, _ in SPLITS.values() for n in (img, lab)]
    for folder in candidate_dirs():
        if all(_file_in(folder, n) for n in names):
            return folder
    looked = ", ".join(str(d) for d in candidate_dirs())
    raise DataError(f"Fashion-MNIST not found (looked in {looked}): {FIX}")


def read_verified(path: Path) -> bytes:
    """The decompressed bytes of one idx file, refused unless its MD5 matches."""
    name = path.name.removesuffix(".gz")
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path} is unreadable ({e}): delete it and {FIX}") from None
    if hashlib.md5(data).hexdigest() != RAW_MD5[name]:
        raise DataError(f"{path} is corrupt or truncated (MD5 mismatch): delete it and {FIX}")
    return data


def _parse_idx(data: bytes) -> np.ndarray:
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


_CACHE: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
RAW_CACHE = DATASETS / "cache" / "fashion-mnist"   # decompressed, verified copies (git-ignored)


def _read(folder: Path, name: str) -> bytes:
    """Verified bytes of one file: from the decompressed cache of that source folder when it
    is there and intact (no gunzip: a warm load is a read and an MD5), else from the source,
    caching it. Raw (uncompressed) sources are read directly."""
    source = _file_in(folder, name)
    if source.suffix != ".gz":
        return read_verified(source)
    key = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:10]
    cached = RAW_CACHE / key / name
    if cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime:
        try:
            return read_verified(cached)
        except DataError:
            cached.unlink(missing_ok=True)          # a damaged cache is rebuilt, never used
    blob = read_verified(source)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_bytes(blob)
        tmp.replace(cached)
    except OSError:
        pass                                        # read-only checkout: no cache, still correct
    return blob


def arrays(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 [N, 28, 28], labels int64 [N]) of a split, verified, memoised."""
    validate.choice(split, SPLITS, "split")
    if split not in _CACHE:
        folder = locate()
        img_name, lab_name, n = SPLITS[split]
        images = _parse_idx(_read(folder, img_name))
        labels = _parse_idx(_read(folder, lab_name))
        assert images.shape == (n, 28, 28) and labels.shape == (n,)
        _CACHE[split] = (torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))
    return _CACHE[split]


def normalize(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [..., 28, 28] -> float32 [..., 1, 28, 28], standardised with the train mean/std."""
    x = images_uint8.to(torch.float32).div_(255.0).sub_(MEAN).div_(STD)
    return x.unsqueeze(-3)


class FashionMNIST(Dataset):
    """A split as a map-style Dataset: ``ds[i] -> (float image [1, 28, 28], label)``."""

    classes = CLASSES

    def __init__(self, split: str = "train"):
        self.split = split
        self.images, self.labels = arrays(split)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return normalize(self.images[i]), int(self.labels[i])

    def __repr__(self) -> str:
        return f"FashionMNIST(split={self.split!r}, n={len(self)}, source={locate()})"


def fashion_mnist(split: str = "train") -> FashionMNIST:
    """The ``"train"`` (60,000) or ``"test"`` (10,000) split of Fashion-MNIST."""
    return FashionMNIST(split)


class Loader:
    """Batches of a split held in memory: ``for x, y in loader`` with x normalised float32.

    Shuffling uses its own generator seeded with ``seed + epoch``, so every epoch's order
    is reproducible and independent of other random draws.
    """

    def __init__(self, split: str, batch_size: int = 256, shuffle: bool | None = None,
                 limit: int | None = None, device: str | torch.device = "cpu", seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.images, self.labels = arrays(split)
        if limit is not None:
            self.images, self.labels = self.images[:limit], self.labels[:limit]
        self.batch_size, self.device, self.seed = batch_size, torch.device(device), seed
        self.shuffle = (split == "train") if shuffle is None else shuffle
        self.epoch = 0

    def __len__(self) -> int:
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def __iter__(self):
        n = len(self.labels)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = None
        self.epoch += 1
        for start in range(0, n, self.batch_size):
            idx = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]
            x = normalize(self.images[idx]).to(self.device, non_blocking=True)
            yield x, self.labels[idx].to(self.device, non_blocking=True)


# Named, disjoint parts of the 60,000 training images, each with one job (the 10,000 test
# images only ever report). ``calibration`` and ``sensitivity`` are training images the model
# has seen, which is what PTQ calibration and sensitivity scans should look at; ``val`` is
# held out of every student's training budget (notebook 05 chooses T, alpha, ... on it).
SUBSETS = {
    "calibration": (0, 512),          # PTQ activation ranges; ONNX Runtime's static int8 calibration
    "sensitivity": (512, 2_512),      # per-layer sensitivity scans (pruning, mixed precision, ...)
    "train": (0, 50_000),             # what a student may train on (its budget is a prefix)
    "val": (50_000, 60_000),          # model selection: never trained on by a student
}


def subset(name: str, batch_size: int = 500, device=None, limit: int | None = None) -> list:
    """A named part of the training images (``SUBSETS``) as a list of (x, y) batches, in order;
    ``limit`` keeps its first images only (a quick run)."""
    from .env import current_device
    validate.choice(name, SUBSETS, "subset")
    start, stop = SUBSETS[name]
    stop = stop if limit is None else min(stop, start + int(limit))
    images, labels = arrays("train")
    device = device or current_device()
    return [(normalize(images[i:min(i + batch_size, stop)]).to(device), labels[i:min(i + batch_size, stop)].to(device))
            for i in range(start, stop, batch_size)]


def loader(split: str = "train", batch_size: int = 256, shuffle: bool | None = None,
           limit: int | None = None, device=None, seed: int = 0) -> Loader:
    """A fast loader over a split (shuffled for ``"train"``); ``limit`` keeps the first N."""
    from .env import current_device
    return Loader(split, batch_size, shuffle, limit, device or current_device(), seed)


def download(root: Path = DATASETS) -> Path:
    """Fetch the four files with torchvision's downloader into ``datasets/FashionMNIST/raw``."""
    from torchvision.datasets import FashionMNIST as TVFashionMNIST
    for train in (True, False):
        TVFashionMNIST(root=str(root), train=train, download=True)
    return root / "FashionMNIST" / "raw"


def ensure(allow_apt: bool = True, allow_download: bool = True) -> Path:
    """Make sure the data is present and verified; returns the folder used."""
    try:
        folder = locate()
    except DataError:
        folder = None
        if allow_apt and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
            print("labkit.data: installing Debian's dataset-fashion-mnist ...", flush=True)
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            ok = subprocess.run(["apt-get", "install", "-y", "-q", "dataset-fashion-mnist"], env=env).returncode == 0
            if not ok:  # the package lists may be missing on a fresh machine
                subprocess.run(["apt-get", "update", "-q"], env=env)
                subprocess.run(["apt-get", "install", "-y", "-q", "dataset-fashion-mnist"], env=env)
        if not _has_all(DEBIAN_DIR) and allow_download:
            try:
                print("labkit.data: downloading with torchvision ...", flush=True)
                download()
            except Exception as e:  # no network: fall through to the one clear error
                print(f"labkit.data: download failed ({e})", file=sys.stderr)
        folder = locate()
    for split in SPLITS:   # verify every file now, not in the middle of a lesson
        arrays(split)
    return folder


def _has_all(folder: Path) -> bool:
    return all(_file_in(folder, n) for img, lab, _ in SPLITS.values() for n in (img, lab))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.data", description="Make sure Fashion-MNIST is present and verified.")
    p.add_argument("--download", action="store_true", help="use torchvision's downloader only (no apt)")
    p.add_argument("--no-apt", action="store_true", help="never call apt-get")
    args = p.parse_args(argv)
    try:
        folder = ensure(allow_apt=not (args.no_apt or args.download))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"Fashion-MNIST OK: {folder} (train 60,000, test 10,000, MD5 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
