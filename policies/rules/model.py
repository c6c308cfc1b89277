"""The rule framework of servestack's policy pack: rules, contexts, violations, settings.

Rules are pure functions over plain resource dicts ``{"type", "urn", "inputs"}`` (inputs under
the camelCase engine names that ``pulumi preview --json`` and the CrossGuard analyzer both
use), so the same function backs a CrossGuard validator and ``servestack check`` offline. What
a rule reads out of those dicts (values, unknowns, pools, endpoints, plugins) is the plan
document's vocabulary, :mod:`plandoc`; what several rules judge alike (tolerations, taints, CIDRs,
mutable URIs) is :mod:`.helpers`'.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plandoc.document import Resource
from plandoc.values import name_of

Enforcement = Literal["mandatory", "advisory", "disabled"]
ENFORCEMENT_LEVELS = ("advisory", "mandatory", "disabled")
TIERS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Context:
    """What a rule knows besides the resources: the stack's tier and the rule's settings."""

    tier: str = "dev"
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The rule's config properties, defaults filled in."""
    stack_config: Mapping[str, Any] = field(default_factory=dict)
    """The stack's config (``servestack:*`` keys, decoded), when the caller has it."""
    extra_demand: Sequence[Any] = ()
    """Workloads (:class:`plandoc.demand.Workload`) that serving stacks on this platform stack (``cluster.existing``)
    place on its pools: ``servestack check --with-serving-plan``; the capacity model counts them with the stack's own."""
    stack: str = ""
    """The stack's name, when the caller has it."""

    @property
    def is_prod(self) -> bool:
        return self.tier == "prod"

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    urn: str
    """The offending resource; empty for a violation of the stack as a whole."""
    message: str
    enforcement: str = "mandatory"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "enforcement": self.enforcement, "urn": self.urn,
                "resource": name_of(self.urn) if self.urn else "", "message": self.message}


ResourceCheck = Callable[[Resource, Context], Iterable[str]]
StackCheck = Callable[[list[Resource], Context], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    """One policy: a kebab-case name, what it enforces, and its pure check.

    A resource rule's ``check(resource, ctx)`` yields messages for one resource of ``types``;
    a stack rule's ``check(resources, ctx)`` yields ``(urn, message)`` over the whole stack.
    """

    name: str
    domain: str
    description: str
    enforcement: Enforcement
    check: ResourceCheck | StackCheck
    types: tuple[str, ...] = ()
    """Resource types a resource rule inspects; empty for a stack rule."""
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Config properties as JSON schema (each with a ``default`` and ``description``)."""
    tiered: bool = False
    """The rule reads the tier: it gets a ``tier`` setting (``auto`` reads the stack)."""

    @property
    def is_stack_rule(self) -> bool:
        return not self.types

    def schema(self) -> dict[str, dict[str, Any]]:
        properties = {k: dict(v) for k, v in self.settings.items()}
        if self.tiered:
            properties["tier"] = {
                "type": "string", "enum": ["auto", *TIERS], "default": "auto",
                "description": "The stack's tier; auto reads servestack:tier from the stack config, "
                               "else treats a stack whose name contains 'prod' as prod.",
            }
        return properties

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.schema().items() if "default" in v}

    def run(self, resources: list[Resource], ctx: Context) -> list[Violation]:
        """Violations of this rule in a stack (resource rules run on each resource of their types)."""
        found: list[Violation] = []
        if self.is_stack_rule:
            for urn, message in self.check(resources, ctx):  # type: ignore[call-arg]
                found.append(Violation(self.name, urn, message, self.enforcement))
        else:
            for resource in resources:
                if resource["type"] in self.types:
                    for message in self.check(resource, ctx):  # type: ignore[call-arg]
                        found.append(Violation(self.name, resource["urn"], message, self.enforcement))
        return found


# --------------------------------------------------------------------------- policy config


class PolicyConfigError(ValueError):
    """A --policy-pack-config document this pack cannot read."""


#: Rules that became part of a class rule: a policy config that names the old rule configures the new one
#: (its enforcement level; the old rules' ``tier`` setting is dropped: the class rule applies in every tier).
RENAMED = {"model-pod-no-host-access": "pod-security-standards", "model-pod-security-context": "pod-security-standards"}


def _renamed(document: Mapping[str, Any]) -> dict[str, Any]:
    found = {k: v for k, v in document.items() if k not in RENAMED}
    for old, new in sorted(RENAMED.items()):
        if old not in document or new in document:
            continue
        entry = document[old]
        level = entry if isinstance(entry, str) else entry.get("enforcementLevel") if isinstance(entry, Mapping) else entry
        found[new] = {"enforcementLevel": level} if level is not None else {}
    return found


def parse_policy_config(document: Mapping[str, Any], rules: Iterable[Rule]) -> dict[str, dict[str, Any]]:
    """``--policy-pack-config`` JSON -> rule name -> {"enforcementLevel", **settings}, defaults filled.

    The format is Pulumi's: ``{"all": "advisory", "<rule>": "disabled" | {"enforcementLevel": ..., "<setting>": ...}}``.
    """
    rules = list(rules)
    by_name = {r.name: r for r in rules}
    document = _renamed(document)
    unknown = sorted(set(document) - set(by_name) - {"all"})
    if unknown:
        raise PolicyConfigError(f"unknown policy name(s) {', '.join(unknown)}; policies: {', '.join(sorted(by_name))}")
    all_level = document.get("all")
    if isinstance(all_level, Mapping):
        all_level = all_level.get("enforcementLevel")
    if all_level is not None and all_level not in ENFORCEMENT_LEVELS:
        raise PolicyConfigError(f"all: enforcement level must be one of {', '.join(ENFORCEMENT_LEVELS)} (got {all_level!r})")
    resolved = {}
    for rule in rules:
        entry = document.get(rule.name, {})
        if isinstance(entry, str):
            entry = {"enforcementLevel": entry}
        if not isinstance(entry, Mapping):
            raise PolicyConfigError(f"{rule.name}: must be an enforcement level or a mapping (got {entry!r})")
        level = entry.get("enforcementLevel", all_level or rule.enforcement)
        if level not in ENFORCEMENT_LEVELS:
            raise PolicyConfigError(f"{rule.name}.enforcementLevel: must be one of {', '.join(ENFORCEMENT_LEVELS)} (got {level!r})")
        schema = rule.schema()
        settings = rule.defaults()
        for key, value in entry.items():
            if key == "enforcementLevel":
                continue
            if key not in schema:
                known = ", ".join(sorted(schema)) or "none"
                raise PolicyConfigError(f"{rule.name}.{key}: is not a setting of this policy (settings: {known})")
            problem = _type_problem(value, schema[key])
            if problem:
                raise PolicyConfigError(f"{rule.name}.{key}: {problem} (got {json.dumps(value)})")
            settings[key] = value
        resolved[rule.name] = {"enforcementLevel": level, **settings}
    return resolved


def _type_problem(value: Any, schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    checks = {
        # finite only: Infinity or NaN as a cap turns the check off (NaN compares false with everything)
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "array": lambda v: isinstance(v, list),
    }
    if kind in checks and not checks[kind](value):
        if kind == "number" and isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        return f"must be of type {kind}"
    if kind == "array" and "items" in schema:  # the rules join and compare the items as the schema says
        for i, item in enumerate(value):
            problem = _type_problem(item, schema["items"])
            if problem:
                return f"item {i} {problem}"
    if "enum" in schema and value not in schema["enum"]:
        return f"must be one of {', '.join(map(str, schema['enum']))}"
    if "minimum" in schema and value < schema["minimum"]:
        return f"must be >= {schema['minimum']}"
    return None


def resolve_tier(setting: str | None, stack_config: Mapping[str, Any], stack_name: str = "") -> str:
    """The tier a rule applies: its ``tier`` setting, else ``servestack:tier``, else the stack name."""
    if setting and setting != "auto":
        return setting
    tier = stack_config.get("servestack:tier")
    if tier in TIERS:
        return str(tier)
    return "prod" if "prod" in stack_name.lower() else "dev"
