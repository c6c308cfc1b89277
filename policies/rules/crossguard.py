"""The CrossGuard side of the rules: each :class:`Rule` as a pulumi_policy policy.

Kept apart from the rules so that they import without pulumi_policy's server; only
``policies/__main__.py`` builds the ``PolicyPack`` (constructing it blocks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from plandoc.values import UNKNOWN

from . import ALL_RULES
from .model import Context, Rule, resolve_tier

LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY,
          "disabled": EnforcementLevel.DISABLED}


def _plain(value: Any) -> Any:
    """CrossGuard's props -> plain dicts and lists, unknowns as Pulumi's unknown marker.

    The props are proxies that raise UnknownValueError on reading any value not known during
    preview, which would skip the whole policy for one unknown id; rules instead see the marker
    and skip only the checks that need that value.
    """
    from pulumi_policy.proxy import _DictProxy, _is_unknown, _ListProxy

    if isinstance(value, (_DictProxy, _ListProxy)):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return UNKNOWN if _is_unknown(value) else value


def stack_context() -> tuple[dict[str, Any], str]:
    """The running stack's ``servestack:*`` config and name, when the analyzer has them."""
    import pulumi

    try:
        stack = pulumi.get_stack()
    except Exception:  # noqa: BLE001 - not configured outside a real run
        stack = ""
    # The analyzer gets the stack's config in PULUMI_CONFIG (see pulumi_policy's _configure_runtime_settings).
    from pulumi.runtime.config import get_config

    config = {key: value for key in ("servestack:tier", "servestack:platform", "servestack:nodePools", "aws:region")
              if (value := get_config(key)) is not None}
    return config, stack


def context_for(rule: Rule, policy_config: Mapping[str, Any] | None, stack_config: Mapping[str, Any] | None = None,
                stack_name: str = "") -> Context:
    settings = {**rule.defaults(), **{k: v for k, v in (policy_config or {}).items() if k != "enforcementLevel"}}
    if stack_config is None:
        stack_config, stack_name = stack_context()
    return Context(resolve_tier(settings.get("tier"), stack_config, stack_name), settings, stack_config, {}, stack_name)


def resource_validator(rule: Rule, stack_config: Mapping[str, Any] | None = None, stack_name: str = ""):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        resource = {"type": args.resource_type, "urn": args.urn, "inputs": _plain(args.props)}
        ctx = context_for(rule, args.get_config(), stack_config, stack_name)
        for message in rule.check(resource, ctx):  # type: ignore[call-arg]
            report_violation(message, None)

    return validate


def stack_validator(rule: Rule, stack_config: Mapping[str, Any] | None = None, stack_name: str = ""):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [{"type": r.resource_type, "urn": r.urn, "inputs": _plain(r.props),
                      "parent": r.parent.urn if r.parent else "",
                      "dependencies": sorted({d.urn for d in r.dependencies} |
                                             {d.urn for deps in r.property_dependencies.values() for d in deps})}
                     for r in args.resources]
        ctx = context_for(rule, args.get_config(), stack_config, stack_name)
        for urn, message in rule.check(resources, ctx):  # type: ignore[call-arg]
            report_violation(message, urn or None)

    return validate


def policy_for(rule: Rule, stack_config: Mapping[str, Any] | None = None, stack_name: str = ""):
    """The pulumi_policy policy of one rule (``stack_config`` given only by tests)."""
    common = dict(
        name=rule.name,
        description=rule.description,
        enforcement_level=LEVELS[rule.enforcement],
        config_schema=PolicyConfigSchema(properties=rule.schema()) if rule.schema() else None,
        tags=[rule.domain],
    )
    if rule.is_stack_rule:
        return StackValidationPolicy(validate=stack_validator(rule, stack_config, stack_name), **common)
    return ResourceValidationPolicy(validate=resource_validator(rule, stack_config, stack_name), **common)


def policies() -> list:
    return [policy_for(rule) for rule in ALL_RULES]
