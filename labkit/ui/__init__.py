"""The lab's user interface: ``plots`` (matplotlib figures, text tables, formats) and
``widgets`` (ipywidgets dashboards). Only this layer and the topics' ``widgets.py`` import
ipywidgets, so every sweep and CLI runs without the UI stack."""
