"""What quantization registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("03_quantization",)
FAMILY = "quant"
TECHNIQUES = ("quant-ptq", "quant-kmeans", "quant-qat", "quant-mixed", "quant-int8")
SWEEPS = (
    {
        "name": "quant-ptq",
        "file": "03_ptq_sweep.json",
        "notebook": "03_quantization",
        "recipe": "labkit.quantization.sweep:ptq_recipe",
        "tiny": {"bits": [4], "methods": ["minmax"], "eval_limit": 200},
        "view": "labkit.quantization.sweep:ptq_view",
        "device": "cpu",
        "about": "post-training quantization by bits, mode and range method; k-means sharing",
    },
    {
        "name": "quant-qat",
        "file": "03_qat_sweep.json",
        "notebook": "03_quantization",
        "recipe": "labkit.quantization.sweep:qat_recipe",
        "tiny": {"bits": [4], "limit": 256, "eval_limit": 200},
        "view": "labkit.quantization.sweep:qat_view",
        "device": "cpu",
        "about": "PTQ vs quantization-aware training at each weight width",
    },
    {
        "name": "quant-mixed",
        "file": "03_mixed_sweep.json",
        "notebook": "03_quantization",
        "recipe": "labkit.quantization.sweep:mixed_recipe",
        "tiny": {"avg_bits": [4.0], "options": [8, 4], "sensitivity_images": 200, "eval_limit": 200},
        "view": "labkit.quantization.sweep:mixed_view",
        "device": "cpu",
        "about": "mixed-precision allocations under size budgets; the sensitivity table in extra",
    },
)
WIDGETS = {"03 mixed precision": "labkit.quantization.widgets:bench_widgets"}
