"""Conformance: the CEL rules (``x-kubernetes-validations``) of the pinned CRDs hold on every object the
plans render, as the API server evaluates them on create (tests/conformance/cel.py). Per CRD version,
each declared rule is counted once in exactly one bucket: evaluated (it ran on some object), not
reached (its field is absent from every rendered object, so the API server would not run it either),
or not evaluable, with the reason (transition rules, which need the stored object). None failing."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from components.core import versions

from . import upstream
from .cel import Outcome, check, declared_rules, not_evaluable
from .stacks import ALL_STACKS, planned

GATEWAY_API_GROUPS = ("gateway.networking.k8s.io", "gateway.networking.x-k8s.io")
KARPENTER_GROUPS = ("karpenter.sh", "karpenter.k8s.aws")


def crd_set_of(stack, obj: dict[str, Any]) -> str | None:
    """The vendored CRD set that judges ``obj`` (None: a core Kubernetes kind, no CRD)."""
    group = obj["apiVersion"].rpartition("/")[0]
    if group == "serving.kserve.io":
        if obj["kind"] == "InferenceService":
            return upstream.kserve_crds(stack.kserve_version)
        return upstream.kserve_crds(versions.KSERVE_LLMISVC_CRD.version)
    if group in GATEWAY_API_GROUPS:
        return upstream.gateway_api_crds(versions.ENVOY_GATEWAY.version)
    if group in KARPENTER_GROUPS:
        return f"karpenter-v{versions.KARPENTER.version}"
    if group == "inference.networking.k8s.io":
        return f"gateway-api-inference-extension-{versions.GATEWAY_API_INFERENCE_EXTENSION.version}"
    if group == "leaderworkerset.x-k8s.io":
        return f"lws-v{versions.LWS.version}"
    return None


def _schema(crd_set: str, kind: str, version: str) -> dict[str, Any]:
    schema = upstream.crd_version_schema(upstream.crd(crd_set, kind), version)
    assert schema is not None, (crd_set, kind, version)
    return schema


def _outcomes() -> dict[tuple[str, str, str], tuple[Outcome, int]]:
    """(crd set, kind, version) -> (outcome over every rendered object of it, how many objects)."""
    found: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [Outcome(), 0])
    for name in ALL_STACKS:
        stack = planned(name)
        for filename, obj in stack.objects:
            crd_set = crd_set_of(stack, obj)
            if crd_set is None:
                continue
            key = (crd_set, obj["kind"], obj["apiVersion"].rpartition("/")[2])
            entry = found[key]
            before = len(entry[0].failures)
            check(_schema(*key), obj, entry[0])
            entry[0].failures[before:] = [f"{name}/{filename}: {f}" for f in entry[0].failures[before:]]
            entry[1] += 1
    return {key: (outcome, count) for key, (outcome, count) in found.items()}


@pytest.fixture(scope="module")
def outcomes():
    return _outcomes()


def test_every_rendered_object_satisfies_its_crds_cel_rules(outcomes, conformance_line):
    rows, failures = [], []
    for (crd_set, kind, version), (outcome, objects) in sorted(outcomes.items()):
        declared = sorted(set(declared_rules(_schema(crd_set, kind, version))))
        if not declared:
            continue
        unevaluable = {rule: why for rule in declared if (why := not_evaluable(rule))}
        evaluated = [rule for rule in declared if rule in outcome.evaluated]
        reasons = defaultdict(int)
        for why in unevaluable.values():
            reasons[why.split(":")[0]] += 1
        reason_text = f" ({'; '.join(f'{n} {why}' for why, n in sorted(reasons.items()))})" if reasons else ""
        rows.append(f"{kind} {version}: {len(declared)} rules, {len(evaluated)} evaluated ({outcome.evaluations} evaluations "
                    f"on {objects} objects), {len(declared) - len(evaluated) - len(unevaluable)} not reached, "
                    f"{len(unevaluable)} not evaluable{reason_text}, {len(outcome.failures)} failing")
        failures += outcome.failures
        # Each rule is in exactly one bucket: an evaluable rule that ran is never also skipped.
        assert not set(evaluated) & set(unevaluable)
    conformance_line("CEL rules: " + "; ".join(rows))
    assert rows
    assert failures == [], "\n".join(failures[:40])


def test_the_only_unevaluable_rules_of_rendered_crds_are_transition_rules(outcomes, conformance_line):
    """Every rule cel-python plus the Kubernetes libraries cannot run is listed with its reason; today each
    is a transition rule (oldSelf), which no created object can exercise."""
    listed = {}
    for crd_set, kind, version in sorted(outcomes):
        for rule in sorted(set(declared_rules(_schema(crd_set, kind, version)))):
            why = not_evaluable(rule)
            if why:
                listed[f"{kind} {version}: {rule}"] = why
    conformance_line("CEL rules not evaluable on create: " + "; ".join(f"{where} ({why.split(':')[0]})"
                                                                        for where, why in listed.items()))
    assert {why for why in listed.values()} <= {
        "transition rule (reads oldSelf): runs only on update, against the stored object"}
