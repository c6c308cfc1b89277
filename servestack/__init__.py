"""servestack tooling: the offline plan engine and the commands around it (``servestack``)."""

__version__ = "0.1.0"
