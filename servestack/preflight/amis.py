"""Every AMI a stack names, resolved where AWS publishes it, before ``pulumi up``.

- A Karpenter EC2NodeClass alias (``al2023@v20260903``) is the EKS-optimized AL2023 release Karpenter
  looks up in the public SSM parameters of the EKS AMIs, one per Kubernetes version, architecture and
  variant (standard, nvidia, neuron):
  ``/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<release>/image_id``.
  Each pool's variant comes from its accelerator kind and its architectures from its instance types, so
  a release that lacks the variant a pool needs fails with the exact parameter path.
- An AMI id (an EC2NodeClass ``amiSelectorTerms[].id``, a managed pool's launch template ``imageId``)
  must exist in the stack's region (``DescribeImages``).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from plandoc.document import PlanDoc, of_type
from plandoc.karpenter import karpenter_pools, node_classes
from plandoc.values import dig, items

from .aws import AwsClients, CannotTell, call
from .report import Result, Status

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
#: The EKS AMI variant of each accelerator kind (the folder under the architecture in the SSM tree).
VARIANTS = {"none": "standard", "nvidia": "nvidia", "neuron": "neuron"}
#: Catalog architecture -> the SSM tree's spelling.
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "arm64"}


@dataclass(frozen=True)
class AmiUse:
    subject: str
    """``pool gpu``: who boots from it."""
    alias: str | None = None
    """``al2023@v20260903``."""
    image_id: str | None = None
    kind: str = "none"
    architectures: tuple[str, ...] = ("x86_64",)


def ssm_parameter(kubernetes_version: str, architecture: str, variant: str, release: str) -> str:
    """The public SSM parameter of one EKS-optimized AL2023 AMI release."""
    arch = ARCHITECTURES[architecture]
    return (f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{arch}/{variant}/"
            f"amazon-eks-node-al2023-{arch}-{variant}-{kubernetes_version}-{release}/image_id")


def ami_uses(plan: PlanDoc) -> list[AmiUse]:
    """The AMIs of a plan: each EC2NodeClass's selector terms (with its pool's kind and architectures) and
    each launch template's ``imageId``."""
    resources = list(plan.resources.values())
    pools = {p.node_class: p for p in karpenter_pools(resources)}
    found = []
    for name, node_class in sorted(node_classes(resources).items()):
        pool = pools.get(name)
        specs = pool.specs if pool else []
        kind = specs[0].kind.value if specs else "none"
        architectures = tuple(sorted({s.architecture for s in specs})) or ("x86_64",)
        subject = f"pool {pool.name}" if pool else f"EC2NodeClass {name}"
        for term in items(dig(node_class.get("inputs") or {}, "spec", "amiSelectorTerms")):
            if isinstance(term, dict) and isinstance(term.get("alias"), str):
                found.append(AmiUse(subject, alias=term["alias"], kind=kind, architectures=architectures))
            elif isinstance(term, dict) and isinstance(term.get("id"), str):
                found.append(AmiUse(subject, image_id=term["id"], kind=kind, architectures=architectures))
    for template in of_type(resources, LAUNCH_TEMPLATE):
        image = (template.get("inputs") or {}).get("imageId")
        if isinstance(image, str) and image.startswith("ami-"):
            found.append(AmiUse(f"launch template {template['urn'].rsplit('::', 1)[-1]}", image_id=image))
    return found


def check_amis(uses: list[AmiUse], kubernetes_version: str | None, clients: AwsClients) -> list[Result]:
    results = []
    for use in uses:
        if use.alias is not None:
            results += _alias(use, kubernetes_version, clients)
        elif use.image_id is not None:
            results.append(_image(use, clients))
    return results


def _alias(use: AmiUse, kubernetes_version: str | None, clients: AwsClients) -> list[Result]:
    family, _, release = use.alias.partition("@")
    if family != "al2023" or not release or release == "latest":
        why = "an unpinned alias (@latest) moves with every release" if release in ("", "latest") else \
            f"servestack checks al2023 aliases only (got {family})"
        return [Result("ami-release", use.subject, Status.SKIP, f"{use.alias}: {why}")]
    if kubernetes_version is None:
        return [Result("ami-release", use.subject, Status.SKIP, f"{use.alias}: the plan does not say the Kubernetes version")]
    variant = VARIANTS.get(use.kind)
    if variant is None:
        return [Result("ami-release", use.subject, Status.FAIL,
                       f"{use.alias}: EKS publishes no AL2023 variant for {use.kind} nodes",
                       "give the pool an AMI id (amiId) built for it")]
    results = []
    for architecture in use.architectures:
        name = ssm_parameter(kubernetes_version, architecture, variant, release)
        try:
            value = call("ssm:GetParameter", clients("ssm").get_parameter, expected={"ParameterNotFound"}, Name=name)
        except ClientError:
            results.append(Result("ami-release", use.subject, Status.FAIL,
                                  f"{use.alias}: AWS publishes no {variant} {architecture} AMI of release {release} for "
                                  f"Kubernetes {kubernetes_version} in {clients.region} (no SSM parameter {name})",
                                  "pin a release that exists (components/core/versions.py EKS_AL2023_AMI): "
                                  "aws ssm get-parameters-by-path --path /aws/service/eks/optimized-ami/"
                                  f"{kubernetes_version}/amazon-linux-2023/{architecture}/{variant}/ --recursive"))
            continue
        except CannotTell as error:
            results.append(Result("ami-release", use.subject, Status.SKIP, str(error)))
            continue
        results.append(Result("ami-release", use.subject, Status.PASS,
                              f"{use.alias} ({variant}, {architecture}) is {value['Parameter']['Value']} ({name})"))
    return results


def _image(use: AmiUse, clients: AwsClients) -> Result:
    try:
        images = call("ec2:DescribeImages", clients("ec2").describe_images, expected={"InvalidAMIID.NotFound",
                                                                                     "InvalidAMIID.Malformed"},
                      ImageIds=[use.image_id])["Images"]
    except ClientError:
        images = []
    except CannotTell as error:
        return Result("ami-exists", use.subject, Status.SKIP, str(error))
    if not images:
        return Result("ami-exists", use.subject, Status.FAIL,
                      f"AMI {use.image_id} does not exist in {clients.region} (or this account may not use it)",
                      "copy the AMI into this region or share it with the account, and name that id")
    image = images[0]
    if image.get("State") not in (None, "available"):
        return Result("ami-exists", use.subject, Status.FAIL, f"AMI {use.image_id} is {image['State']}, not available",
                      "name an available AMI")
    return Result("ami-exists", use.subject, Status.PASS, f"AMI {use.image_id} ({image.get('Name', 'no name')}) is available")


__all__ = ["AmiUse", "ami_uses", "check_amis", "ssm_parameter"]
