"""Real-browser tests: Debian's chromium driven by Playwright (no browser download).

Skipped, with one line saying how to get them, where chromium or playwright is missing;
``.ci/run`` installs chromium (apt), the requirements install playwright. Servers are started
on 127.0.0.1 with a free port and stopped after their test file. Screenshots go to
``build/browser/``: look at them.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pagekit import CHROMIUM, ARGS, HOW, SHOTS


_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test in this folder carries the ``browser`` marker (``-m "not browser"``: the unit tier)."""
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"chromium not found: {HOW}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"playwright not installed: {HOW}"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


