"""servestack's reusable Pulumi components (importable as ``components``)."""
