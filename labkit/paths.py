"""Where the lab keeps things: the repository root, data, results (cached sweeps: ``labkit.cache``)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]          # the repository (editable install)
DATASETS = Path(os.environ.get("LABKIT_DATASETS", ROOT / "datasets"))
NOTEBOOKS = ROOT / "notebooks"
CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"


def results_dir() -> Path:
    """Folder of the results record; ``LABKIT_RESULTS`` overrides (tests write elsewhere)."""
    return Path(os.environ.get("LABKIT_RESULTS", NOTEBOOKS / "results"))
