"""``servestack init``: a new stack file that plans at once.

Without ``--from``, a commented starting point for the tier (a managed CPU system pool, a Karpenter GPU
pool that costs nothing until a model asks for a GPU, KServe in the tier's deployment mode, one endpoint
namespace, no endpoints yet). With ``--from STACK``, a copy of that stack's file (comments, endpoints
and all) moved to the new region and tier. Either way the file is validated like ``pulumi up`` would
validate it before it is written, and created atomically: an existing stack file is never replaced.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from .common import EXIT_INVALID, fail, project_option

#: Pulumi's stack names: letters, digits, '-', '_', '.'.
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: The admin role a new stack names until its team writes its own (an example account: replace it).
EXAMPLE_ADMIN_ROLE = "arn:aws:iam::123456789012:role/ml-platform-admin"

#: What differs by tier in a new stack: (zones, NAT gateways, system pool type and size, GPU capacity
#: type, GPU pool max nodes, KServe deployment mode).
TIERS = {
    "dev": (2, "single", "m7i.large", 2, "spot", 2, "Knative"),
    "staging": (3, "perAz", "m7i.xlarge", 3, "onDemand", 4, "Knative"),
    "prod": (3, "perAz", "m7i.xlarge", 3, "onDemand", 4, "Standard"),
}


def template(name: str, region: str, tier: str, admin_role: str) -> str:
    zones, nat, system_type, system_size, capacity, gpu_max, mode = TIERS[tier]
    networking = "    knative:\n      networking: kourier\n" if mode == "Knative" else ""
    mode_note = ("endpoints may scale to zero (Knative mode, Kourier networking)" if mode == "Knative" else
                 "plain Deployments that keep their replicas (Standard mode): no cold starts in production")
    return f"""# yaml-language-server: $schema=../docs/stack-file.schema.json
# {name}: a {tier} stack written by `servestack init` (every setting: docs/configuration.md).
# Plan it offline: servestack plan --stack {name}
config:
  aws:region: {region}
  servestack:tier: {tier}
  servestack:tags:
    environment: {name}
  servestack:network:
    # A new VPC: private subnets for nodes in {zones} zones, {"one NAT gateway" if nat == "single" else "a NAT gateway per zone"}.
    availabilityZones: {zones}
    natGateways: {nat}
  servestack:cluster:
    kubernetesVersion: "1.35"
    # Who may administer the cluster (EKS access entries). Replace with your team's role before
    # `pulumi up`: the identity that deploys gets no implicit admin. The API endpoint is private
    # (reach it from the VPC); publicAccessCidrs opens it to named networks only.
    adminRoleArns:
      - {admin_role}
  servestack:nodePools:
    # Managed node group of a fixed {system_size} nodes: cluster add-ons, KServe and the Karpenter controller.
    system:
      instanceTypes: [{system_type}]
      minSize: {system_size}
    # Karpenter pool: no GPU node exists until a model requests nvidia.com/gpu; at most {gpu_max} nodes.
    gpu:
      instanceTypes: [g6.xlarge, g5.xlarge]
      maxSize: {gpu_max}
      capacityType: {capacity}
  # KServe standalone: {mode_note}.
  servestack:platform:
    kserve:
      deploymentMode: {mode}
{networking}    endpointNamespaces: [models]
  # Model endpoints (KServe InferenceServices) go here: see README, "Model endpoints and rollouts".
  servestack:endpoints: {{}}
"""


def copied(name: str, source: str, source_text: str, region: str, tier: str | None) -> str:
    """The source stack's file with the new region (and tier), comments and layout kept, and a first
    comment that says where it came from."""
    from ..stackio import stackfile

    document = stackfile.parse(source_text, f"stacks/Pulumi.{source}.yaml")
    config = document["config"]
    stackfile.put(config, "aws:region", region)
    if tier is not None:
        stackfile.put(config, "servestack:tier", tier)
    text = stackfile.render(document, source_text)
    origin = f"# {name}: copied from stack {source} by `servestack init --from {source}`.\n"
    schema_line = "# yaml-language-server:"
    if text.startswith(schema_line):
        first, _, rest = text.partition("\n")
        return f"{first}\n{origin}{rest}"
    return origin + text


@click.command("init")
@click.argument("name")
@click.option("--region", required=True, help="AWS region of the new stack (one where EKS runs).")
@click.option("--tier", type=click.Choice(sorted(TIERS)), default=None,
              help="dev, staging or prod (default dev; with --from, the source stack's).")
@click.option("--from", "source", metavar="STACK", default=None,
              help="Copy this stack's file (comments, pools, endpoints) instead of the tier's starting point.")
@click.option("--admin-role", default=EXAMPLE_ADMIN_ROLE, show_default=True,
              help="IAM role ARN granted cluster admin (replace the example before pulumi up).")
@project_option
def init_command(name: str, region: str, tier: str | None, source: str | None, admin_role: str, project_dir: Path) -> None:
    """Write stacks/Pulumi.NAME.yaml: a new stack that plans at once. Exit 2, writing nothing, when the
    name, region, tier or source stack is not usable or the stack file exists."""
    from components.config import ConfigError, parse_stack_config
    from components.config.stack import known_regions

    from ..stackio import atomic, stackfile
    from ..plan import ProjectError, load_project
    from ..stackio.stackyaml import StackYamlError, load_stack_yaml

    if not STACK_NAME.fullmatch(name):
        raise fail(f"error: {name!r} is not a stack name: letters, digits, '-', '_' and '.', starting with a letter "
                   "or digit", EXIT_INVALID)
    if region not in known_regions():
        raise fail(f"error: {region!r} is not an AWS region where EKS runs", EXIT_INVALID)
    try:
        project = load_project(project_dir)
    except ProjectError as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    path = project.stack_dir / f"Pulumi.{name}.yaml"
    shown = f"stacks/Pulumi.{name}.yaml"
    try:
        if source is not None:
            if source not in project.stacks():
                raise fail(f"error: no stack file stacks/Pulumi.{source}.yaml to copy (stacks here: "
                           f"{', '.join(project.stacks())})", EXIT_INVALID)
            source_text = stackfile.read(project.stack_dir / f"Pulumi.{source}.yaml", f"stacks/Pulumi.{source}.yaml")
            text = copied(name, source, source_text, region, tier)
        else:
            text = template(name, region, tier or "dev", admin_role)
        document = load_stack_yaml(text, shown)
        parse_stack_config(name, project.stack_from_config(name, document["config"], path).decoded)
    except (stackfile.StackFileError, StackYamlError) as error:
        raise fail(f"error: {error}", EXIT_INVALID) from None
    except ConfigError as error:
        raise fail(str(error), EXIT_INVALID) from None
    try:
        atomic.create(path, text)
    except FileExistsError:
        raise fail(f"error: {shown} exists; nothing was written (pick another name, or edit it)", EXIT_INVALID) from None
    except OSError as error:
        raise fail(f"error: could not write {shown} ({error.strerror or error}); nothing was written", EXIT_INVALID) from None
    click.echo(f"wrote {shown}")
    if admin_role == EXAMPLE_ADMIN_ROLE and source is None:
        click.echo("  adminRoleArns names an example role: put your team's admin role there before pulumi up")
    click.echo(f"next: servestack plan --stack {name}")
