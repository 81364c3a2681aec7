"""``labkit.setup()``: the first call of every notebook.

Seeds Python, NumPy and torch; asks torch for deterministic algorithms; fixes the CPU
thread count from ``$LABKIT_THREADS`` when set (CI sets it so stored outputs reproduce);
picks CUDA when there is one, else the CPU (never asserts a GPU).
"""
from __future__ import annotations

import io
import os
import platform
import random
import warnings

import numpy as np
import torch

_DEVICE = None


def current_device() -> torch.device:
    """The device chosen by ``setup()`` (CUDA if available, else CPU)."""
    return _DEVICE or torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def threads() -> int:
    return torch.get_num_threads()


def setup(seed: int = 0, device: str | None = None, quiet: bool = False) -> torch.device:
    """Seed everything, make torch deterministic, fix threads, pick the device.

    Returns the device and prints one line about the environment.
    """
    global _DEVICE
    seed_everything(seed)
    n = os.environ.get("LABKIT_THREADS")
    if n:
        try:
            torch.set_num_threads(int(n))
        except ValueError:
            raise ValueError(f"LABKIT_THREADS must be a whole number, got {n!r}: e.g. export LABKIT_THREADS=2") from None
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.cuda.is_available():
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    _DEVICE = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    _quiet_known_warnings()
    _inline_figures()
    if not quiet:
        from .version import __version__
        print(f"labkit {__version__} | torch {torch.__version__.split('+')[0]} | device {_DEVICE.type} | "
              f"threads {torch.get_num_threads()} | seed {seed} | python {platform.python_version()}")
    return _DEVICE


def figure_png(fig, dpi: int = 100) -> bytes:
    """A ``matplotlib.figure.Figure`` as PNG bytes (touches no global pyplot state; imports
    nothing: the figure renders itself). ``labkit.ui.plots.figure_png`` is this function."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _inline_figures() -> None:
    """In Jupyter, show a ``matplotlib.figure.Figure`` (what labkit.ui.plots returns) as a PNG
    when it is a cell's value, without pyplot's global state."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is not None and hasattr(ip, "display_formatter"):
        from matplotlib.figure import Figure
        ip.display_formatter.formatters["image/png"].for_type(Figure, lambda fig: figure_png(fig, dpi=100))


def _quiet_known_warnings() -> None:
    """Silence warnings we know about at their source, so notebook outputs stay clean."""
    warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*deprecated.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="torch.ao.quantization")
