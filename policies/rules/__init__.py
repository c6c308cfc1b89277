"""servestack's policy rules, importable without starting a policy pack server.

``policies/__main__.py`` turns :data:`ALL_RULES` into a CrossGuard ``PolicyPack``;
``servestack check`` runs the same rules offline through :func:`evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import (accelerators, allow_lists, coldstart, controllers, cost, exposure, iam_documents, irsa, karpenter, llm,
               node_exposure, pod_security, pods, security, serving)
from .model import Context, PolicyConfigError, Resource, Rule, Violation, parse_policy_config, resolve_tier

ALL_RULES: list[Rule] = [*security.RULES, *irsa.RULES, *exposure.RULES, *iam_documents.RULES, *node_exposure.RULES,
                         *pod_security.RULES, *pods.RULES, *accelerators.RULES, *karpenter.RULES,
                         *serving.RULES, *llm.RULES, *cost.RULES, *allow_lists.RULES, *coldstart.RULES,
                         *controllers.RULES]
RULES_BY_NAME = {r.name: r for r in ALL_RULES}
assert len(RULES_BY_NAME) == len(ALL_RULES), "rule names must be unique"


def evaluate(resources: list[Resource], policy_config: Mapping[str, Any] | None = None,
             stack_config: Mapping[str, Any] | None = None, stack_name: str = "",
             extra_demand: Sequence[Any] | None = None) -> list[Violation]:
    """Run every enabled rule over a stack's resources, violations sorted by rule then resource.
    ``extra_demand``: workloads other stacks place on its pools (:attr:`Context.extra_demand`)."""
    settings = parse_policy_config(policy_config or {}, ALL_RULES)
    stack_config = stack_config or {}
    found: list[Violation] = []
    for rule in ALL_RULES:
        rule_settings = dict(settings[rule.name])
        level = rule_settings.pop("enforcementLevel")
        if level == "disabled":
            continue
        ctx = Context(resolve_tier(rule_settings.get("tier"), stack_config, stack_name), rule_settings, stack_config,
                      tuple(extra_demand or ()), stack_name)
        found += [Violation(v.rule, v.urn, v.message, level) for v in rule.run(resources, ctx)]
    return sorted(found, key=lambda v: (v.rule, v.urn, v.message))


__all__ = ["ALL_RULES", "RULES_BY_NAME", "Context", "PolicyConfigError", "Resource", "Rule", "Violation", "evaluate",
           "parse_policy_config", "resolve_tier"]
