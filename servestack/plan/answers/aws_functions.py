"""Answers to the provider functions (invokes) that programs call: identity, region, zones, IAM."""

from __future__ import annotations

import json
from typing import Any

from .registry import ACCOUNT_ID, PARTITION, MockContext, answers, digest


@answers("aws:index/getAvailabilityZones:getAvailabilityZones")
def _availability_zones(args: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    letters = "abcdef"
    names = [f"{ctx.region}{c}" for c in letters]
    return {"id": ctx.region, "names": names, "zoneIds": [f"use1-az{i + 1}" for i in range(len(names))],
            "groupNames": [ctx.region] * len(names), "state": args.get("state", "available")}


@answers("aws:index/getCallerIdentity:getCallerIdentity")
def _caller_identity(args: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/servestack-plan",
            "id": ACCOUNT_ID, "userId": "AIDASERVESTACKPLAN00001"}


@answers("aws:index/getPartition:getPartition")
def _partition(args: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {"id": PARTITION, "partition": PARTITION, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


@answers("aws:index/getRegion:getRegion")
def _region(args: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {"id": ctx.region, "name": ctx.region, "region": ctx.region, "endpoint": f"ec2.{ctx.region}.amazonaws.com",
            "description": ctx.region}


@answers("aws:iam/getPolicyDocument:getPolicyDocument")
def _policy_document(args: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """Render the IAM JSON the AWS provider would, for the statement shapes we use."""
    statements = []
    for s in args.get("statements") or []:
        out: dict[str, Any] = {}
        if s.get("sid"):
            out["Sid"] = s["sid"]
        out["Effect"] = s.get("effect", "Allow")
        for key, name in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(key):
                values = sorted(s[key])
                out[name] = values[0] if len(values) == 1 else values
        for principal_key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if s.get(principal_key):
                block: dict[str, Any] = {}
                for p in s[principal_key]:
                    ids = sorted(p["identifiers"])
                    block[p["type"]] = ids[0] if len(ids) == 1 else ids
                out[name] = block
        if s.get("conditions"):
            cond: dict[str, dict[str, Any]] = {}
            for c in s["conditions"]:
                values = list(c["values"])
                cond.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
            out["Condition"] = cond
        statements.append(out)
    document = {"Version": args.get("version") or "2012-10-17", "Statement": statements}
    return {"id": digest(json.dumps(document, sort_keys=True), length=10), "json": json.dumps(document, indent=2),
            "minifiedJson": json.dumps(document, separators=(",", ":"))}
