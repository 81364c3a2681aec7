"""What joint registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("08_joint",)
FAMILY = "joint"
TECHNIQUES = ("joint-deep-compression", "joint-admm", "joint-multilevel")
SWEEPS = (
    {
        "name": "joint-deep-compression",
        "file": "08_joint_deep_compression.json",
        "notebook": "08_joint",
        "recipe": "labkit.joint.sweep:dc_recipe",
        "tiny": {
            "models": ["lenet5"],
            "ratios": {"lenet5": [20]},
            "prune_epochs": 0.02,
            "share_epochs": 0.01,
            "steps": 1,
            "limit": 256,
            "eval_limit": 200,
            "scan_images": 200,
        },
        "view": "labkit.joint.sweep:dc_view",
        "about": "Deep Compression (prune, share, Huffman) of LeNet-5 and the CNN under byte budgets, with the real files",
    },
    {
        "name": "joint-admm",
        "file": "08_joint_admm.json",
        "notebook": "08_joint",
        "recipe": "labkit.joint.sweep:admm_recipe",
        "tiny": {"model": "lenet5", "seeds": [0], "epochs": 0.02, "limit": 256, "eval_limit": 200},
        "view": "labkit.joint.sweep:admm_view",
        "about": "ADMM pruning (and joint prune + quantise) vs iterative magnitude pruning at equal sparsity and budget",
    },
)
WIDGETS = {"08 joint byte budget": "labkit.joint.widgets:bench_widgets"}
