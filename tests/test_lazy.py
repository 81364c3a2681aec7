"""The one lazy-import helper (labkit.lazy) and the topics that use it."""
import importlib
import subprocess
import sys

import pytest

from labkit import lazy

TOPICS = ("binarization", "compact", "distillation", "explorer", "harm", "joint", "lowrank", "nas", "pruning")


def test_a_listed_name_imports_its_module_on_first_use():
    get = lazy.attributes("labkit", text=("text_table",))
    from labkit.text import text_table
    assert get("text_table") is text_table
    assert get.lazy_names == ("text_table",)


def test_an_unlisted_name_is_the_usual_attribute_error():
    get = lazy.attributes("labkit", text=("text_table",))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        get("nope")


def test_bad_listings_are_refused():
    with pytest.raises(TypeError, match="tuple of names"):
        lazy.attributes("labkit", text="text_table")
    with pytest.raises(ValueError, match="listed for both"):
        lazy.attributes("labkit", text=("x",), plan=("x",))


@pytest.mark.parametrize("topic", TOPICS)
def test_every_lazy_name_of_a_topic_resolves(topic):
    mod = importlib.import_module(f"labkit.{topic}")
    names = mod.__getattr__.lazy_names
    assert names, topic
    for name in names:
        assert getattr(mod, name) is not None


def test_importing_the_topics_loads_no_widgets():
    code = ("import sys; import " + ", ".join(f"labkit.{t}" for t in TOPICS) +
            "; print(sorted(m for m in sys.modules if m == 'ipywidgets' or (m.startswith('labkit.') and m.endswith('.widgets'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
