"""Text formatting for tables and labels: pure strings, no plotting (the core's tables use it).

- ``text_table(rows, columns)``: rows as an aligned text table.
- ``fmt_bytes``, ``fmt_count``, ``fmt_ratio``: numbers as a person reads them.
- ``point_name(point)``: a short name for a sweep point.
"""
from __future__ import annotations


def fmt_ratio(v: float) -> str:
    """A ratio as a tick label: ``0.25x``, ``1x``, ``4x``, ``16x``."""
    return f"{v:g}x" if v >= 0.01 else f"{v:.1g}x"


def fmt_bytes(n, digits: int = 2) -> str:
    """``512 B``, ``1.50 KiB``, ``2.25 MiB``, ``1.00 GiB``."""
    n = float(n)
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {unit}"
    return f"{n:.0f} B"


def fmt_count(n) -> str:
    """``950``, ``12.3 k``, ``2.1 M``, ``1.5 G`` (for MACs and parameter counts)."""
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f}"


def point_name(p, limit: int = 48) -> str:
    """A short name for a point: its label and its scalar config (``live: width=0.5``), cut at
    ``limit`` characters (nested config values such as a per-layer table are left out)."""
    cfg = ", ".join(f"{k}={v}" for k, v in p["config"].items() if not isinstance(v, (dict, list, tuple)))
    name = f"{p['label']}: {cfg}" if p.get("label") else cfg
    return name if len(name) <= limit else name[:limit - 1] + "…"


def text_table(rows: list[dict], columns: dict[str, str]) -> str:
    """Rows as an aligned text table; ``columns`` maps a row key to a format spec or a
    callable, e.g. ``{"model": "s", "accuracy_pct": ".2f", "size_bytes": fmt_bytes}``."""
    def cell(row, key, spec):
        v = row.get(key, "")
        return spec(v) if callable(spec) else format(v, spec)
    cells = [[cell(r, k, s) for k, s in columns.items()] for r in rows]
    head = list(columns)
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
