"""Computed outputs of what model endpoints create besides IAM roles (answered in eks.py with the
cluster's): role policies, service accounts, InferenceServices (custom resources report nothing
the program reads)."""

from __future__ import annotations

from typing import Any

from .registry import MockContext, ResourceCall, computes, no_outputs


@computes("aws:iam/rolePolicy:RolePolicy", None)
def _role_policy(call: ResourceCall, rid: str, ctx: MockContext) -> dict[str, Any]:
    return {"name": call.inputs.get("name") or call.name}


for _token in ("kubernetes:core/v1:ServiceAccount", "kubernetes:serving.kserve.io/v1beta1:InferenceService"):
    computes(_token)(no_outputs)
