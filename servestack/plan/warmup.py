"""Import everything a plan runs, once: ``python -m servestack.plan.warmup`` (``make`` does it after
installing).

pulumi_aws and pulumi_kubernetes load a submodule on first use, and Python compiles a module to
bytecode the first time it imports it. Importing the program's modules here compiles exactly the
code a plan runs at install time, so the first ``make plan`` does not pay for it. Compiling every
file at install (``uv sync --compile-bytecode``) was measured slower overall: half of the 11,452
files are pulumi_aws services no plan imports (docs/benchmarks.md, "Setup").
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

COMPONENTS = Path(__file__).resolve().parents[2] / "components"


def provider_submodules(components: Path = COMPONENTS) -> list[str]:
    """The pulumi_aws and pulumi_kubernetes submodules the components use (``aws.ec2``, ``k8s.core.v1``)."""
    source = "\n".join(p.read_text() for p in sorted(components.rglob("*.py")))
    names = {f"pulumi_aws.{m}" for m in re.findall(r"\baws\.([a-z0-9_]+)\.[A-Za-z_]", source)}
    names |= {f"pulumi_kubernetes.{g}.{v}" for g, v in re.findall(r"\bk8s\.([a-z0-9_]+)\.(v[0-9a-z]+)\.[A-Za-z_]", source)}
    return sorted(names)


def import_program_modules() -> list[str]:
    """Import the CLI, the program's components and the provider submodules they use; the names imported."""
    imported = []
    for name in ["servestack.cli", "servestack.plan", "components.environment", *provider_submodules()]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:  # an attribute chain that is not a module (e.g. inside a string)
            continue
        getattr(module, "__servestack_warmup__", None)  # a lazy module loads on its first attribute lookup
        imported.append(name)
    return imported


if __name__ == "__main__":
    print(f"servestack: compiled the bytecode of {len(import_program_modules())} program modules")
