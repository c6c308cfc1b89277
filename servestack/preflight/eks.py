"""EKS: the Kubernetes version is one EKS offers, and each add-on version is offered for it.

``DescribeClusterVersions`` (botocore 1.35.x and later) tells whether a version exists and
whether it is in standard or extended support; ``DescribeAddonVersions`` lists the versions of
an add-on compatible with a Kubernetes version. Where an endpoint does not implement them
(moto does not), the checks are skipped, never passed.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from plandoc.cluster import Addon

from .aws import AwsClients, CannotTell, call
from .report import Result, Status

_SHOWN = 5


def check_kubernetes_version(version: str | None, clients: AwsClients) -> list[Result]:
    check, subject = "eks-kubernetes-version", "cluster"
    if not version:
        return [Result(check, subject, Status.SKIP,
                       "the plan creates no EKS cluster and servestack:cluster.kubernetesVersion is not set: nothing to check")]
    eks = clients("eks")
    if not hasattr(eks, "describe_cluster_versions"):
        return [Result(check, subject, Status.SKIP, "this botocore has no DescribeClusterVersions; upgrade boto3 to check")]
    try:
        found = call("eks:DescribeClusterVersions", eks.describe_cluster_versions, clusterVersions=[version], includeAll=True)
        entries = [v for v in found.get("clusterVersions", []) if v.get("clusterVersion") == version]
        if not entries:
            offered = call("eks:DescribeClusterVersions", eks.describe_cluster_versions).get("clusterVersions", [])
            names = sorted((v["clusterVersion"] for v in offered), key=lambda v: tuple(int(p) for p in v.split(".")), reverse=True)
            return [Result(check, subject, Status.FAIL, f"EKS does not offer Kubernetes {version} in {clients.region}",
                           f"set servestack:cluster.kubernetesVersion to one EKS offers: {', '.join(names) or 'none listed'}")]
    except CannotTell as error:
        return [Result(check, subject, Status.SKIP, f"cannot tell whether EKS offers Kubernetes {version}: {error}")]
    entry = entries[0]
    status = entry.get("versionStatus") or str(entry.get("status", "")).upper().replace("-", "_")
    standard_end = entry.get("endOfStandardSupportDate")
    extended_end = entry.get("endOfExtendedSupportDate")
    if status == "UNSUPPORTED":
        return [Result(check, subject, Status.FAIL, f"Kubernetes {version} is no longer supported by EKS",
                       "set servestack:cluster.kubernetesVersion to a version in standard support")]
    if status == "EXTENDED_SUPPORT":
        until = f" until {extended_end:%Y-%m-%d}" if extended_end else ""
        return [Result(check, subject, Status.WARN,
                       f"Kubernetes {version} is in extended support{until}: each cluster hour costs six times the standard price",
                       "upgrade servestack:cluster.kubernetesVersion to a version in standard support")]
    until = f" until {standard_end:%Y-%m-%d}" if standard_end else ""
    return [Result(check, subject, Status.PASS, f"EKS offers Kubernetes {version} in standard support{until}")]


def _offered_versions(eks, name: str, kubernetes_version: str | None) -> tuple[list[str], str | None]:
    """Versions of add-on ``name`` (newest first as EKS lists them) and the default one."""
    kwargs = {"addonName": name, **({"kubernetesVersion": kubernetes_version} if kubernetes_version else {})}
    pages = call("eks:DescribeAddonVersions",
                 lambda: list(eks.get_paginator("describe_addon_versions").paginate(**kwargs)),
                 expected=("ResourceNotFoundException",))
    versions, default = [], None
    for page in pages:
        for addon in page.get("addons", []):
            for entry in addon.get("addonVersions", []):
                versions.append(entry["addonVersion"])
                for compatibility in entry.get("compatibilities", []):
                    if compatibility.get("defaultVersion") and compatibility.get("clusterVersion") in (kubernetes_version, None):
                        default = entry["addonVersion"]
    return versions, default


def check_addons(addons: list[Addon], kubernetes_version: str | None, clients: AwsClients) -> list[Result]:
    results = []
    for addon in addons:
        check, subject = "eks-addon-version", f"add-on {addon.name}"
        target = f"Kubernetes {kubernetes_version}" if kubernetes_version else "any Kubernetes version"
        try:
            versions, default = _offered_versions(clients("eks"), addon.name, kubernetes_version)
        except CannotTell as error:
            results.append(Result(check, subject, Status.SKIP, f"cannot tell which versions of {addon.name} EKS offers: {error}"))
            continue
        except ClientError:
            versions, default = [], None
        if not versions:
            results.append(Result(check, subject, Status.FAIL, f"EKS offers no add-on named {addon.name} for {target}",
                                  f"correct the add-on name ({addon.source}); list them with aws eks describe-addon-versions"))
        elif addon.version is None:
            results.append(Result(check, subject, Status.PASS,
                                  f"no version pinned; EKS installs its default for {target} ({default or versions[0]})"))
        elif addon.version in versions:
            results.append(Result(check, subject, Status.PASS, f"{addon.name} {addon.version} is offered for {target}"))
        else:
            shown = ", ".join(versions[:_SHOWN]) + (", ..." if len(versions) > _SHOWN else "")
            results.append(Result(check, subject, Status.FAIL, f"{addon.name} {addon.version} is not offered for {target}",
                                  f"pin a compatible version ({addon.source}): {shown}"
                                  + (f"; the default is {default}" if default else "")))
    return results
