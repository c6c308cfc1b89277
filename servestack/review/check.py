"""``servestack check``: the policy pack's rules over a plan, offline, grouped for reading."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Any

from plandoc.document import PlanDoc
from plandoc.capacity import capacity_model
from plandoc.demand import Workload
from plandoc.tokens import STACK
from plandoc.values import mapping, name_of, type_of
from policies.rules import ALL_RULES, RULES_BY_NAME, Violation, evaluate, parse_policy_config
from policies.rules.model import PolicyConfigError, resolve_tier


@dataclass(frozen=True)
class CheckReport:
    stack: str
    source: str
    tier: str
    resources: int
    rules: int
    """Rules that ran (disabled ones excluded)."""
    violations: tuple[Violation, ...]

    @property
    def mandatory(self) -> int:
        return sum(1 for v in self.violations if v.enforcement == "mandatory")

    @property
    def advisory(self) -> int:
        return sum(1 for v in self.violations if v.enforcement == "advisory")

    @property
    def passed(self) -> bool:
        return self.mandatory == 0


def load_policy_config(path: Path | None) -> dict[str, Any]:
    """The ``--policy-pack-config`` JSON file (the same file CrossGuard takes)."""
    if path is None:
        return {}
    try:
        document = json.loads(Path(path).read_text(), parse_constant=_not_json)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PolicyConfigError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise PolicyConfigError(f"{path} must hold a JSON object of policy name -> settings")
    parse_policy_config(document, ALL_RULES)  # reject mistakes before running anything
    return dict(document)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number (strict JSON has no NaN or Infinity)")


def stack_outputs(plan: PlanDoc) -> Mapping[str, Any]:
    """The outputs the plan document attached to its ``pulumi:pulumi:Stack`` resource (empty when none)."""
    return next((mapping(r.get("outputs")) for r in plan.resource_list() if r["type"] == STACK), {})


def serving_plan_problem(platform: PlanDoc, serving: PlanDoc) -> str | None:
    """Why ``serving`` is not a plan of a serving stack on ``platform`` (None when it is): its Stack outputs must
    hold ``clusterNodePools`` and its ``clusterStack`` must name the platform plan's stack (``dev``, ``org/dev``
    or ``org/<project>/dev`` of the same project), stack names as each plan's URNs give them."""
    outputs = stack_outputs(serving)
    if not isinstance(outputs.get("clusterNodePools"), Mapping):
        return (f"{serving.source}: stack {serving.stack or '?'} has no clusterNodePools output; required: the plan "
                "of a serving stack on servestack:cluster.existing")
    named = outputs.get("clusterStack")
    parts = named.split("/") if isinstance(named, str) else []
    if not (len(parts) in (1, 2) or (len(parts) == 3 and parts[1] == platform.project)) or parts[-1] != platform.stack:
        return (f"{serving.source}: stack {serving.stack or '?'} runs on platform stack {json.dumps(named)}, not on "
                f"{platform.stack or '?'}, the stack checked; required: a serving stack whose cluster.existing names it")
    return None


def serving_demand(plans: list[PlanDoc]) -> tuple[Workload, ...]:
    """The workloads the serving stacks place on the platform's pools (their capacity models' reading), each plan
    counted once: plans of the same stack given twice are one stack (the last one given wins)."""
    by_stack = {plan.stack or str(plan.source): plan for plan in plans}
    found: list[Workload] = []
    for stack, plan in sorted(by_stack.items()):
        model = capacity_model(plan.resource_list(), plan.config)
        for workload in [*(w for p in model.pools for w in p.workloads), *model.unplaced]:
            found.append(replace(workload, stack=stack))
    return tuple(found)


def run_check(plan: PlanDoc, policy_config: Mapping[str, Any] | None = None,
              serving_plans: list[PlanDoc] | None = None) -> CheckReport:
    """The rules over ``plan``; ``serving_plans`` (of stacks on it, :func:`serving_plan_problem` vetted) add
    their accelerator demand to its pools' for the capacity rules."""
    settings = parse_policy_config(policy_config or {}, ALL_RULES)
    violations = evaluate(plan.resource_list(), policy_config, plan.config, plan.stack,
                          serving_demand(serving_plans or []))
    enabled = sum(1 for s in settings.values() if s["enforcementLevel"] != "disabled")
    return CheckReport(plan.stack, plan.source, resolve_tier(None, plan.config, plan.stack),
                       len(plan.resources), enabled, tuple(violations))


def _resource_label(urn: str) -> str:
    if not urn:
        return "the stack as a whole"
    return f"{type_of(urn)} {name_of(urn)}"


def _grouped(report: CheckReport):
    for rule_name, by_rule in groupby(report.violations, key=lambda v: v.rule):
        by_rule = list(by_rule)
        yield RULES_BY_NAME[rule_name], by_rule[0].enforcement, [
            (urn, [v.message for v in items]) for urn, items in groupby(by_rule, key=lambda v: v.urn)]


def verdict(report: CheckReport) -> str:
    if report.passed:
        extra = f" ({report.advisory} advisory violation(s))" if report.advisory else ""
        return f"PASSED: no mandatory violations{extra}"
    return f"FAILED: {report.mandatory} mandatory and {report.advisory} advisory violation(s)"


def render_text(report: CheckReport) -> str:
    lines = [f"servestack check: stack {report.stack or '?'} (tier {report.tier}) from {report.source}: "
             f"{report.rules} rules over {report.resources} resources"]
    for rule, level, by_resource in _grouped(report):
        lines.append("")
        lines.append(f"{rule.name} [{level}]: {rule.description}")
        for urn, messages in by_resource:
            lines.append(f"  {_resource_label(urn)}")
            lines += [f"    - {m}" for m in messages]
    lines += ["", verdict(report)]
    return "\n".join(lines) + "\n"


def render_markdown(report: CheckReport) -> str:
    icon = "✅" if report.passed else "❌"
    lines = [f"### {icon} Policy check: stack `{report.stack}` (tier {report.tier})", "",
             f"{report.rules} rules over {report.resources} resources. **{verdict(report)}**"]
    for rule, level, by_resource in _grouped(report):
        lines += ["", f"**{rule.name}** ({level}): {rule.description}"]
        for urn, messages in by_resource:
            lines += [f"- `{_resource_label(urn)}`: {m}" for m in messages]
    return "\n".join(lines) + "\n"


def render_json(report: CheckReport) -> str:
    return json.dumps({
        "stack": report.stack,
        "source": report.source,
        "tier": report.tier,
        "resources": report.resources,
        "rules": report.rules,
        "passed": report.passed,
        "summary": {"mandatory": report.mandatory, "advisory": report.advisory},
        "violations": [v.to_json() for v in report.violations],
    }, indent=2, sort_keys=True) + "\n"
