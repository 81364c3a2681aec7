"""One lazy-import helper: a topic's widgets and figures load on first use, so importing the topic (a
sweep recipe, a CLI, a test) never pulls in ipywidgets or matplotlib.

In a topic's ``__init__.py``::

    __getattr__ = lazy.attributes(__name__, widgets=("dashboard",), figures=("waterfall_figure",))

``topic.dashboard`` then imports ``topic.widgets`` the first time it is asked for.
"""
from __future__ import annotations

import importlib
from typing import Callable


def attributes(package: str, **modules: tuple[str, ...]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``package.<module>`` when one of the
    names listed for it is first used; any other name raises the usual AttributeError."""
    where: dict[str, str] = {}
    for module, names in modules.items():
        if isinstance(names, str):
            raise TypeError(f"{module}= takes a tuple of names, got the string {names!r}: write ({names!r},)")
        for name in names:
            if name in where:
                raise ValueError(f"{name!r} is listed for both {where[name]!r} and {module!r}")
            where[name] = module

    def __getattr__(name: str):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    __getattr__.lazy_names = tuple(where)       # what the topic offers on first use (for docs and tests)
    return __getattr__
