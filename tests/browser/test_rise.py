"""(d) RISE inside JupyterLab (``jupyterlab-rise``): a notebook opens as a live slideshow from
its slide metadata (``python -m labkit.tools.slides``), and moving forward shows its next slides."""
import json
import shutil

from pagekit import ROOT, SHOTS, free_port, serve, stop

NOTEBOOK = "09_explorer.ipynb"
# the slide on screen (innermost present section) and its text
CURRENT = """() => { const p = [...document.querySelectorAll('.reveal section.present')]
  .filter(s => !s.querySelector('section.present')); return p.length ? p[0].innerText : null; }"""


def test_rise_presents_a_notebook_as_slides(browser, tmp_path):
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / NOTEBOOK)
    nb = json.loads((tmp_path / NOTEBOOK).read_text())
    kinds = [c["metadata"].get("slideshow", {}).get("slide_type", "-") for c in nb["cells"]]
    title = "".join(nb["cells"][0]["source"]).splitlines()[0].lstrip("# ").strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(["jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1", "--allow-root",
                  "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={tmp_path}",
                  "--LabApp.news_url=None"], f"{base}/api/status", SHOTS / "rise.log")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/rise/{NOTEBOOK}", timeout=120_000)
        page.wait_for_selector(".reveal .slides section.present", timeout=120_000)
        page.wait_for_function(f"() => ({CURRENT})() && ({CURRENT})().includes({json.dumps(title[:20])})",
                               timeout=60_000)
        page.screenshot(path=str(SHOTS / "rise-title.png"))
        n_slides = page.evaluate("() => [...document.querySelectorAll('.reveal .slides section')]"
                                 ".filter(s => !s.querySelector('section')).length")
        # every cell marked "slide" starts one (the first cell too); "subslide" cells add vertical ones
        assert kinds.count("slide") + kinds.count("subslide") <= n_slides, (n_slides, kinds)
        seen = [page.evaluate(CURRENT)]
        for _ in range(3):
            page.keyboard.press("Space")
            page.wait_for_timeout(400)
            seen.append(page.evaluate(CURRENT))
        page.screenshot(path=str(SHOTS / "rise-forward.png"))
        assert len(set(seen)) > 1, "the slideshow did not move forward"
        assert not errors, errors
        print(f"RISE in JupyterLab: {n_slides} slides; {kinds.count('slide')} cells start a slide")
    finally:
        stop(proc)
