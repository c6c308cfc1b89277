"""`python -m servestack.plan.warmup` (run by make after installing) imports what a plan runs, which
compiles exactly that bytecode before the first plan."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from servestack.plan.warmup import import_program_modules, provider_submodules


def test_the_provider_submodules_are_the_ones_the_components_use():
    names = provider_submodules()
    assert {"pulumi_aws.ec2", "pulumi_aws.eks", "pulumi_aws.iam", "pulumi_aws.kms",
            "pulumi_kubernetes.core.v1", "pulumi_kubernetes.helm.v3"} <= set(names)
    assert all(name.startswith(("pulumi_aws.", "pulumi_kubernetes.")) for name in names)
    assert names == sorted(set(names))


def test_warming_up_imports_the_cli_the_program_and_every_provider_submodule():
    imported = import_program_modules()
    assert imported[:3] == ["servestack.cli", "servestack.plan", "components.environment"]
    assert set(imported[3:]) <= set(provider_submodules())
    assert all(name in sys.modules for name in imported)


def test_the_warmup_command_leaves_the_bytecode_of_what_it_imported():
    # make runs it with PYTHONDONTWRITEBYTECODE emptied: a developer's shell may set it.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    run = subprocess.run([sys.executable, "-m", "servestack.plan.warmup"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    count = len(import_program_modules())
    assert run.stdout == f"servestack: compiled the bytecode of {count} program modules\n"
    for name in ("servestack.cli", "components.environment", "pulumi_aws.eks"):
        assert Path(importlib.util.cache_from_source(sys.modules[name].__file__)).is_file(), name
