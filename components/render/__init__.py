"""Pure functions that build Kubernetes objects (plain dicts) from decisions in ``core``: no Pulumi,
no pydantic. The Pulumi components and plandoc both read them."""
