"""labkit's version, in a leaf module so that ``env`` (the setup line) and ``cache`` (each cache's
header) read it without importing the package's ``__init__`` (which imports ``env``)."""
__version__ = "0.2.0"
