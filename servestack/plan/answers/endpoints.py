"""Computed outputs of what model endpoints create: IAM roles for IRSA, service accounts,
InferenceServices (custom resources report nothing the program reads)."""

from __future__ import annotations

from typing import Any

from ..mocks import RESOURCE_OUTPUTS, MockContext, ResourceCall, _no_outputs, arn, digest


def _role(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    name = call.inputs.get("name") or call.name
    return {"arn": arn(ctx, "iam", f"role/{name}", region=False), "name": name,
            "uniqueId": "AROA" + digest(call.urn, length=17).upper(), "createDate": "2026-01-01T00:00:00Z"}


def _role_policy(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"name": call.inputs.get("name") or call.name}


# Other areas (the cluster's IAM roles) may register the same types; whichever registers first
# answers, and both answer with the provider's shapes.
for _token, _answer in {
    "aws:iam/role:Role": (None, _role),
    "aws:iam/rolePolicy:RolePolicy": (None, _role_policy),
    "kubernetes:core/v1:ServiceAccount": (None, _no_outputs),
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": (None, _no_outputs),
}.items():
    RESOURCE_OUTPUTS.setdefault(_token, _answer)
