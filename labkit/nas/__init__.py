"""NAS (notebook 07)."""
