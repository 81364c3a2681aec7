"""pytest settings shared by the unit tests and nbval (kernels inherit this environment)."""
import os
from pathlib import Path

# Stored notebook outputs were produced at this thread count: use the same when checking.
os.environ.setdefault("LABKIT_THREADS", "2")
# Test runs write their results records here, leaving the committed notebooks/results alone.
os.environ.setdefault("LABKIT_RESULTS", str(Path(__file__).parent / "build" / "test-results"))
# ... and every row they add is checked against the committed record (labkit.verify): the
# same points, accuracies within their tolerance, bytes and MACs exact. This is how numbers
# that come out of training (printed with a leading "≈", masked in sanitize.cfg) are tested.
os.environ.setdefault("LABKIT_REFERENCE", str(Path(__file__).parent / "notebooks" / "results"))
# `make test` runs two workers (two notebook kernels at once) on 2 cores: idle OpenMP threads
# must sleep, not spin, or each process burns the cores the other one needs (measured: a
# many-fold slowdown). Set before any test or kernel imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The timing protocol adds rounds until a table's A/A noise floor is narrow (labkit.timing): that
# precision is for the committed outputs (make notebooks, on a quiet machine). Under the tests,
# where two notebooks share the 2 cores and timings are masked, each table keeps its minimum rounds.
os.environ.setdefault("LABKIT_TIMING_EXTEND", "0")
