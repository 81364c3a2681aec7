"""Helpers of the browser tests: servers on 127.0.0.1, the explorer's figure, timed moves."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import socket
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "browser"
CHROMIUM = os.environ.get("LABKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
HOW = "apt-get install -y chromium && pip install playwright (no browser download: Debian's chromium is used)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(argv: list[str], url: str, log: Path, timeout: float = 90.0, cwd=ROOT):
    """Start a server (``python -m ...``) and wait until ``url`` answers; returns the process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LABKIT_THREADS": os.environ.get("LABKIT_THREADS", "2")}
    env.pop("LABKIT_RESULTS", None)       # the notebooks under test write no record into build/
    env.pop("LABKIT_REFERENCE", None)
    proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=cwd, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: see {log}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc
        except urllib.error.HTTPError:         # it answers (e.g. 403/404): up
            return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s: see {log}")


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def figure_src(page) -> str:
    return page.eval_on_selector(".labkit-explorer-figure img", "e => e.src")


def move_and_time(page, moves, record: list, timeout_ms: int = 15000):
    """Apply each move (a callable on the page) and time it until the figure's image changes."""
    for move in moves:
        before = figure_src(page)
        t = time.perf_counter()
        move()
        page.wait_for_function("prev => { const i = document.querySelector('.labkit-explorer-figure img');"
                               " return i && i.src !== prev; }", arg=before, timeout=timeout_ms, polling="raf")
        record.append(time.perf_counter() - t)


def axis_moves(page, n: int = 20):
    """``n`` moves of the explorer: the x axis dropdown through its four choices, in turn."""
    labels = page.eval_on_selector_all(".labkit-explorer-axis select option", "os => os.map(o => o.textContent)")
    current = page.eval_on_selector(".labkit-explorer-axis select", "s => s.options[s.selectedIndex].textContent")
    order = labels[labels.index(current) + 1:] + labels[:labels.index(current) + 1]
    seq = [order[i % len(order)] for i in range(n)]
    return [lambda lab=lab: page.select_option(".labkit-explorer-axis select", label=lab) for lab in seq]
