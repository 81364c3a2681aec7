"""What harm registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("10_harm",)
FAMILY = "harm"
TECHNIQUES = ("harm-dense", "harm-prune", "harm-quant", "harm-lowrank", "harm-distill", "harm-binary", "harm-joint")
SWEEPS = (
    {
        "name": "harm-population",
        "file": "10_harm_population.json",
        "notebook": "10_harm",
        "recipe": "labkit.harm.population:recipe",
        "tiny": {
            "members": ["dense", "prune-50", "int8"],
            "seeds": [0],
            "epochs": 0.01,
            "limit": 256,
            "eval_limit": 200,
            "corrupt_images": 100,
        },
        "view": "labkit.harm.population:view",
        "device": "cpu",
        "about": "the CNN compressed by every topic over seeds: test predictions, corruption accuracy",
    },
    {
        "name": "harm-generator",
        "file": "10_harm_generator.json",
        "notebook": "10_harm",
        "recipe": "labkit.harm.generative:recipe",
        "tiny": {
            "sparsities": [0.0, 0.5],
            "recover_sparsities": [0.5],
            "seeds": [0],
            "steps": 5,
            "samples": 300,
            "bits": [8],
            "classifiers": ["lenet5"],
            "eval_limit": 200,
        },
        "view": "labkit.harm.generative:view",
        "device": "cpu",
        "about": "the VAE's generator pruned, quantized and recovered: Frechet distance in the CNN's features",
    },
)
WIDGETS = {"10 harm": "labkit.harm.widgets:bench_widgets"}
ZOO = {
    "vae": {
        "model": "vae",
        "epochs": 5,
        "lr": 0.002,
        "batch_size": 128,
        "trainer": "labkit.harm.generative:train_vae",
    },
}
