"""The servestack CrossGuard policy pack: `pulumi preview --policy-pack policies`.

Only assembles the pack (constructing PolicyPack starts the analyzer server and blocks);
the rules live in the importable package :mod:`policies.rules`.
"""

import sys
from pathlib import Path

# The pack runs from policies/; the rules import `components` and `plandoc` from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.rules.crossguard import policies  # noqa: E402

PolicyPack(
    name="servestack",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
    description="servestack: security, accelerator placement, serving and cost rules for model-serving stacks on EKS.",
)
