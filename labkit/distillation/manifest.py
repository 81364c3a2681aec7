"""What distillation registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("05_distillation",)
FAMILY = "distill"
TECHNIQUES = ("kd", "kd-feature", "kd-recover")
SWEEPS = (
    {
        "name": "distillation",
        "file": "05_distillation_sweeps.json",
        "notebook": "05_distillation",
        "recipe": "labkit.distillation.sweep:recipe",
        "tiny": {
            "seeds": [100],
            "budget": {"images": 200, "samples": 400},
            "temperatures": [4.0],
            "alphas": [0.0, 0.9],
            "teachers": ["lenet5"],
            "budgets": [200],
            "betas": [0.0, 100.0],
            "recover_images": [200],
            "recover_samples": 200,
            "eval_limit": 200,
        },
        "view": "labkit.distillation.sweep:view",
        "about": "knowledge-distillation sweeps over seeds (rows carry their kind)",
    },
    {
        "name": "distillation-width",
        "file": "05_distillation_widths.json",
        "notebook": "05_distillation",
        "recipe": "labkit.distillation.widths:recipe",
        "tiny": {
            "widths": [4],
            "images": [200],
            "seeds": [100],
            "samples": 400,
            "T": 4.0,
            "alpha": 0.75,
            "eval_limit": 200,
        },
        "view": "labkit.distillation.widths:view",
        "about": "students of several widths alone / label smoothing / KD, on 2,000 and 50,000 images, over seeds",
    },
)
WIDGETS = {
    "05 temperature": "labkit.distillation.widgets:bench_temperature",
    "05 distillation sweeps": "labkit.distillation.widgets:bench_sweeps",
}
ZOO = {
    "cnn-w8": {"model": "cnn", "kwargs": {"width": 8}, "epochs": 6, "batch_size": 128},
    "cnn-w16": {"model": "cnn", "kwargs": {"width": 16}, "epochs": 6, "batch_size": 128},
}
