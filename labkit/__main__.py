print("labkit: use `python -m labkit.data`, `python -m labkit.zoo`, `python -m labkit.student` or `python -m labkit.bench`")
