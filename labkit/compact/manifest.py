"""What compact registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("00_welcome", "01_compact_networks")
FAMILY = "compact"
TECHNIQUES = ("compact-width", "compact-block")
SWEEPS = (
    {
        "name": "trend-latency",
        "file": "trend_latency.json",
        "notebook": "01_compact_networks",
        "recipe": "labkit.compact.trend:latency_recipe",
        "tiny": {"models": ["mobilenet_v3_small"], "batch_sizes": [1], "repeats": 2, "warmup": 1},
        "view": "labkit.compact.trend:latency_view",
        "about": "CPU latency of torchvision reference models at 224x224 (random weights)",
    },
    {
        "name": "compact",
        "file": "compact_sweep.json",
        "notebook": "01_compact_networks",
        "recipe": "labkit.compact.sweep:recipe",
        "tiny": {"blocks": ["ds"], "widths": [0.5], "resolutions": [14], "limit": 256, "eval_limit": 200},
        "view": "labkit.compact.sweep:view",
        "about": "compact nets: block x width x input resolution, each trained briefly",
    },
)
WIDGETS = {
    "00 compact width": "labkit.compact.widgets:bench_width",
    "01 compact explorer": "labkit.compact.widgets:bench_explorer",
}
