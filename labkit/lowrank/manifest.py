"""What lowrank registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("06_lowrank",)
FAMILY = "lowrank"
TECHNIQUES = ("lowrank-svd", "lowrank-tucker", "lowrank-cp", "thin-baseline")
SWEEPS = (
    {
        "name": "lowrank",
        "file": "06_lowrank_sweep.json",
        "notebook": "06_lowrank",
        "recipe": "labkit.lowrank.sweep:recipe",
        "tiny": {
            "seeds": [0],
            "epochs": 0.02,
            "kinds": ["baseline", "svd", "svd+tucker", "thin"],
            "limit": 256,
            "eval_limit": 200,
            "repeats": 2,
            "progress": False,
        },
        "view": "labkit.lowrank.sweep:view",
        "about": "SVD / Tucker-2 / CP factorized CNNs fine-tuned over seeds, and the thin baseline",
    },
)
WIDGETS = {"06 low rank": "labkit.lowrank.widgets:bench_widgets"}
