"""``servestack check``: the policy pack's rules over a plan, offline, grouped for reading."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from plandoc.document import PlanDoc
from plandoc.values import name_of, type_of
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
        document = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PolicyConfigError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise PolicyConfigError(f"{path} must hold a JSON object of policy name -> settings")
    parse_policy_config(document, ALL_RULES)  # reject mistakes before running anything
    return dict(document)


def run_check(plan: PlanDoc, policy_config: Mapping[str, Any] | None = None) -> CheckReport:
    settings = parse_policy_config(policy_config or {}, ALL_RULES)
    violations = evaluate(plan.resource_list(), policy_config, plan.config, plan.stack)
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
