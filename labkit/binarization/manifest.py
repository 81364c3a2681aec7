"""What binarization registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("04_binarization",)
FAMILY = "binary"
TECHNIQUES = ("binary-weight", "ternary-weight", "binary-xnor")
SWEEPS = (
    {
        "name": "binary",
        "file": "04_binarization_sweep.json",
        "notebook": "04_binarization",
        "recipe": "labkit.binarization.sweep:recipe",
        "tiny": {
            "runs": ["lenet5/bwn/inner/0/0.01ep", "lenet5/xnor/inner/0/0.01ep"],
            "limit": 256,
            "eval_limit": 200,
        },
        "view": "labkit.binarization.sweep:view",
        "device": "cpu",
        "about": "BWN, ternary and XNOR models trained from the zoo's checkpoints over seeds",
    },
)
WIDGETS = {"04 binarization": "labkit.binarization.widgets:bench_widgets"}
