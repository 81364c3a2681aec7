"""(c) An exported slide deck renders with the network blocked (every non-file URL aborted)."""
import json
import shutil

import pytest

from labkit.tools import slides

from pagekit import ROOT, SHOTS


# the slide on screen is the innermost present section; true if it shows a loaded image
CURRENT_IMG = """() => { const p = [...document.querySelectorAll('section.present')].filter(s => !s.querySelector('section.present'));
  const i = p.length && p[0].querySelector('img'); return !!i && i.naturalWidth > 0; }"""


def test_slide_deck_renders_offline(browser):
    if shutil.which("npm") is None and not (ROOT / "build" / "browser" / "slides" / "_static" / ".installed").exists():
        pytest.skip("npm not found (make slides fetches reveal.js with it once): apt-get install -y npm")
    out = ROOT / "build" / "browser" / "slides"
    (deck,) = slides.export(out, [ROOT / "notebooks" / "09_explorer.ipynb"])
    html = deck.read_text()
    # widgets render as the figure they carry (ui.widgets.StaticView), not as a CDN widget manager
    nb = json.loads((ROOT / "notebooks" / "09_explorer.ipynb").read_text())
    widget_pngs = [o["data"]["image/png"] for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]
                   if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget_pngs and all(f'src="data:image/png;base64,{p.strip()}' in html for p in widget_pngs)
    assert "application/vnd.jupyter.widget-view+json" not in html
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    blocked, errors = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    page.goto(deck.as_uri())
    page.wait_for_selector(".reveal.ready", timeout=30_000)                          # reveal.js initialised
    slides_n = page.evaluate("() => [...document.querySelectorAll('.reveal .slides section')]"
                             ".filter(s => !s.querySelector('section')).length")
    assert slides_n > 10
    page.wait_for_selector(".MathJax_CHTML", state="attached", timeout=30_000)       # the formulas typeset offline
    page.screenshot(path=str(SHOTS / "slides-title.png"))
    for _ in range(60):                 # forward (space: every slide in order) to the first slide with a figure
        if page.evaluate(CURRENT_IMG):
            break
        page.keyboard.press("Space")
        page.wait_for_timeout(150)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / "slides-figure.png"))
    assert page.evaluate(CURRENT_IMG), "no figure reached, or it did not load"
    assert not any(u for u in blocked if "reveal" in u or "mathjax" in u.lower() or "require" in u), blocked
    assert not errors, errors
    print(f"slides offline: {slides_n} slides; requests blocked (not needed to render): {blocked}")
