"""Tools around the lab: ``student`` (the student edition) and ``bench`` (data-loading benchmark)."""
