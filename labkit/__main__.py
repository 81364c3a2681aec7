"""``python -m labkit sweep NAME [--out PATH] [--tiny]`` and ``python -m labkit sweep --list``:
the cached sweeps of the notebooks (``labkit.cache``). Other commands keep their modules:
``python -m labkit.data``, ``python -m labkit.zoo``, ``python -m labkit.tools.student``,
``python -m labkit.tools.bench``."""
import sys

from .cache import main

sys.exit(main())
