"""`python -m servestack.plan.warmup` (run by make after installing) imports what a plan runs, which
compiles exactly that bytecode before the first plan."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from servestack.plan.warmup import import_program_modules, provider_submodules


def test_the_provider_submodules_are_the_ones_the_components_use():
    names = provider_submodules()
    assert {"pulumi_aws.ec2", "pulumi_aws.eks", "pulumi_aws.iam", "pulumi_aws.kms",
            "pulumi_kubernetes.core.v1", "pulumi_kubernetes.helm.v3"} <= set(names)
    assert all(name.startswith(("pulumi_aws.", "pulumi_kubernetes.")) for name in names)
    assert names == sorted(set(names))


def test_warming_up_imports_the_cli_the_program_and_every_provider_submodule_with_their_bytecode_cached():
    imported = import_program_modules()
    assert imported[:3] == ["servestack.cli", "servestack.plan", "components.environment"]
    for name in imported:
        module = sys.modules[name]
        assert Path(importlib.util.cache_from_source(module.__file__)).is_file(), name
