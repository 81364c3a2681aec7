"""What explorer registers with the lab's shared tables (read by ``labkit.manifests``, never imported)."""
NOTEBOOKS = ("09_explorer",)
WIDGETS = {"09 explorer": "labkit.explorer.widgets:bench_widgets"}
