"""Each topic's registrations live in its own data-only manifest.py (issue 28): the shared tables
(sweeps, techniques, widgets, zoo recipes) are built from them without importing topic code, every
"module:function" they name lies in the topic that registers it, and a manifest that computes,
imports or misspells anything fails with one line naming the file."""
import importlib
import json
import subprocess
import sys

import pytest

from labkit import cache, manifests, record, zoo
from labkit.tools import imports
from labkit.ui import catalogue


def _targets(topic: str, m: dict) -> list[str]:
    """Every "module:function" a manifest names."""
    out = [s[k] for s in m.get("SWEEPS", ()) for k in ("recipe", "view") if s.get(k)]
    out += list(m.get("WIDGETS", {}).values())
    out += [r["trainer"] for r in m.get("ZOO", {}).values() if r.get("trainer")]
    return out


def test_every_topic_has_a_manifest_and_it_reads():
    topics = [t for t, _ in manifests.read()]
    assert sorted(topics) == sorted(imports.TOPICS)                  # every topic folder, none else
    firsts = [min(m["NOTEBOOKS"]) for _, m in manifests.read()]
    assert firsts == sorted(firsts)                                   # the tables follow the notebooks' order


@pytest.mark.parametrize("topic", imports.TOPICS)
def test_a_manifest_names_only_its_own_topic_and_every_name_resolves(topic):
    m = dict(manifests.read())[topic]
    targets = _targets(topic, m)
    for t in targets:
        module, _, function = t.partition(":")
        assert module.startswith(f"labkit.{topic}."), f"{topic}/manifest.py names {t}, outside its folder"
        assert callable(getattr(importlib.import_module(module), function)), t
    for s in m.get("SWEEPS", ()):
        assert s["notebook"] in m["NOTEBOOKS"], (topic, s["name"])


def test_the_shared_tables_are_built_from_the_manifests():
    listed = {k: [n for _, n, _ in manifests.collect(k)] for k in ("SWEEPS", "TECHNIQUES", "WIDGETS", "ZOO")}
    assert list(cache.REGISTRY) == listed["SWEEPS"] and len(listed["SWEEPS"]) == 20
    assert list(record.TECHNIQUES) == [*record.CORE_TECHNIQUES, *listed["TECHNIQUES"]]
    assert list(catalogue.WIDGETS) == listed["WIDGETS"] and len(listed["WIDGETS"]) == 12
    assert set(listed["ZOO"]) <= set(zoo.RECIPES) and "vae" in listed["ZOO"]
    assert zoo.RECIPES["vae"].trainer == "labkit.harm.generative:train_vae"
    assert record.family("prune-2:4") == "prune" and record.family("kd-recover") == "distill"
    assert record.FAMILIES[:3] == ("baseline", "reference", "deploy") and "harm" in record.FAMILIES


def test_reading_the_tables_imports_no_topic():
    code = ("import json, sys\nimport labkit.cache, labkit.record, labkit.zoo, labkit.ui.catalogue\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    topics = [m for m in loaded if m.split(".")[:2][-1] in imports.TOPICS and m.startswith("labkit.")]
    assert "labkit.manifests" in loaded and not topics, topics


@pytest.mark.parametrize("text, says", [
    ('NOTEBOOKS = ("02_pruning",)\nimport os\n', "only `KEY = literal` lines"),
    ('NOTEBOOKS = ("02_pruning",)\nWIDGETS = dict(a="b")\n', "WIDGETS must be a literal"),
    ('NOTEBOOKS = ("02_pruning",)\nWIDGET = {}\n', "unknown key 'WIDGET'"),
    ('NOTEBOOKS = ("02_pruning",)\nTECHNIQUES = ["prune-x"]\n', "TECHNIQUES must be a tuple, got list"),
    ('FAMILY = "prune"\n', "NOTEBOOKS is missing"),
    ('NOTEBOOKS = (\n', "not valid Python"),
])
def test_a_bad_manifest_fails_with_one_line_naming_the_file(tmp_path, text, says):
    path = tmp_path / "mytopic" / "manifest.py"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(manifests.ManifestError) as e:
        manifests.parse(path)
    assert str(e.value).startswith("mytopic/manifest.py") and says in str(e.value) and "\n" not in str(e.value)


def test_a_name_registered_by_two_topics_is_refused(monkeypatch):
    both = (("a", {"NOTEBOOKS": ("01",), "WIDGETS": {"w": "labkit.a.x:f"}}),
            ("b", {"NOTEBOOKS": ("02",), "WIDGETS": {"w": "labkit.b.x:f"}}))
    monkeypatch.setattr(manifests, "read", lambda: both)
    with pytest.raises(manifests.ManifestError, match="WIDGETS entry 'w' is registered by both a and b"):
        manifests.collect("WIDGETS")
    assert json.dumps([n for _, n, _ in manifests.collect("NOTEBOOKS")]) == '["01", "02"]'
