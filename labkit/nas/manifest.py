"""What nas registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("07_nas",)
FAMILY = "nas"
TECHNIQUES = ("nas-random", "nas-evolution", "nas-ofa-subnet")
SWEEPS = (
    {
        "name": "nas-ground-truth",
        "file": "07_nas_ground_truth.json",
        "notebook": "07_nas",
        "recipe": "labkit.nas.truth:recipe",
        "tiny": {"n": 2, "seeds": [0], "budget": {"images": 256, "eval_images": 200}},
        "view": "labkit.nas.truth:view",
        "device": "cpu",
        "about": "NAS ground truth: architectures spanning the space, each trained briefly over two seeds",
    },
    {
        "name": "nas-latency",
        "file": "07_nas_latency.json",
        "notebook": "07_nas",
        "recipe": "labkit.nas.latency:recipe",
        "tiny": {"n_fit": 2, "n_test": 2, "repeats": 2, "lut_repeats": 1, "whole_space": False, "progress": False},
        "view": "labkit.nas.latency:view",
        "device": "cpu",
        "about": "NAS latency LUT: every block of the space timed on this CPU, validated end to end vs a FLOPs fit",
    },
    {
        "name": "nas-search",
        "file": "07_nas_search.json",
        "notebook": "07_nas",
        "recipe": "labkit.nas.search:recipe",
        "tiny": {
            "n_trials": 3,
            "k": 2,
            "quantile": 0.99,
            "seeds": [0, 1],
            "zoo_names": ["compact-w0.25"],
            "test_limit": 200,
            "shortlist": 2,
            "retrain_seeds": [0],
            "budget": {"images": 256, "eval_images": 200},
        },
        "view": "labkit.nas.search:view",
        "device": "cpu",
        "about": "NAS search: random vs NSGA-II (Optuna) under a LUT latency budget; found and zoo nets retrained",
    },
    {
        "name": "nas-supernet",
        "file": "07_nas_supernet.json",
        "notebook": "07_nas",
        "recipe": "labkit.nas.ofa:recipe",
        "tiny": {
            "n": 2,
            "candidates": 1,
            "train": {"images": 128, "epochs": 1},
            "budget": {"images": 128, "eval_images": 100},
            "calibration": 1,
            "matched": {"images": 192},
        },
        "view": "labkit.nas.ofa:view",
        "device": "cpu",
        "about": "Once-for-All: an elastic supernet (sandwich rule), subnets' inherited vs standalone accuracy",
    },
)
WIDGETS = {"07 nas": "labkit.nas.widgets:bench_widgets"}
