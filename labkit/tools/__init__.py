"""Tools around the lab: ``student`` (the student edition), ``slides`` (slide metadata and decks),
``bench`` (data loading and widget benchmark), ``baselines`` (the fp32 forms side by side),
``drift`` (timing drift), ``imports`` (labkit's import graph: ``python -m labkit.tools.imports``)."""
