"""What pruning registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("02_pruning",)
FAMILY = "prune"
TECHNIQUES = ("prune-fine", "prune-channel", "prune-2:4", "prune-joint", "prune-oneshot", "prune-finetune")
SWEEPS = (
    {
        "name": "pruning",
        "file": "02_pruning_sweep.json",
        "notebook": "02_pruning",
        "recipe": "labkit.pruning.sweep:recipe",
        "tiny": {
            "fine": [0.5],
            "channel": [0.3],
            "joint": [0.5],
            "joint_ratio": 0.3,
            "limit": 256,
            "eval_limit": 200,
            "scan_images": 200,
            "scan_sparsities": [0.5, 0.9],
            "repeats": 3,
            "progress": False,
        },
        "view": "labkit.pruning.sweep:view",
        "about": "fine-grained, channel and joint pruning, fine-tuned, with a baseline row",
    },
    {
        "name": "pruning-lottery",
        "file": "02_lottery_sweep.json",
        "notebook": "02_pruning",
        "recipe": "labkit.pruning.lottery:recipe",
        "tiny": {
            "sparsities": [0.9],
            "seeds": [0],
            "epochs": 1,
            "retrain_epochs": 0.5,
            "rewind_steps": 2,
            "limit": 512,
            "eval_limit": 200,
        },
        "view": "labkit.pruning.lottery:view",
        "about": "lottery tickets on LeNet-5: fine-tune vs rewind vs original init vs random re-init, equal budget",
    },
    {
        "name": "pruning-criteria",
        "file": "02_criteria_sweep.json",
        "notebook": "02_pruning",
        "recipe": "labkit.pruning.criteria:recipe",
        "tiny": {"seeds": [0], "epochs": 0.05, "limit": 512, "eval_limit": 200},
        "view": "labkit.pruning.criteria:view",
        "about": "channel pruning criteria (L1, BatchNorm scale, Taylor, random) before and after fine-tuning",
    },
)
WIDGETS = {"02 pruning": "labkit.pruning.widgets:bench_widgets"}
