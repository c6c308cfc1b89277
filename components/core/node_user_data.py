"""The user data servestack gives a node of a custom-AMI pool: one nodeadm ``NodeConfig`` (pure).

A managed pool on a custom AMI (FPGA) gets MIME multipart user data with exactly one
``application/node.eks.aws`` part: the cluster's name, endpoint, certificate authority and service
CIDR, and the kubelet flags that register the node with its pool's labels and taints. The policy
pack's ``node-user-data-reviewed`` compares a plan's user data with this rendering: anything else
(a shell script, an SSH key, another nodeadm setting) is flagged.
"""

from __future__ import annotations

from typing import Any

import yaml

from .placement import PoolPlacement, Taint

#: Boundary of the MIME multipart user data of custom-AMI pools (fixed: plans are byte-identical).
USER_DATA_BOUNDARY = "//SERVESTACK-NODEADM//"
#: The kubelet flags servestack writes, each once.
KUBELET_FLAGS = ("--node-labels=", "--register-with-taints=")


def kubelet_flags(labels: dict[str, str], taints: tuple[Taint, ...]) -> list[str]:
    flags = ["--node-labels=" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))]
    if taints:
        flags.append("--register-with-taints=" + ",".join(f"{t.key}={t.value}:{t.effect}" for t in taints))
    return flags


def node_config(cluster_name: str, endpoint: str, certificate_authority: str, service_cidr: str,
                placement: PoolPlacement) -> dict[str, Any]:
    """The nodeadm ``NodeConfig`` a custom AL2023 AMI needs to join the cluster."""
    # With a custom AMI, EKS does not pass the node group's labels and taints to the
    # kubelet: register the node with them so that nothing schedules there untainted.
    return node_config_with(cluster_name, endpoint, certificate_authority, service_cidr,
                            kubelet_flags(placement.labels, placement.taints))


def node_config_with(cluster_name: str, endpoint: str, certificate_authority: str, service_cidr: str,
                     flags: list[str]) -> dict[str, Any]:
    """:func:`node_config` with the kubelet flags given."""
    return {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {
            "cluster": {
                "name": cluster_name,
                "apiServerEndpoint": endpoint,
                "certificateAuthority": certificate_authority,
                "cidr": service_cidr,
            },
            "kubelet": {"flags": list(flags)},
        },
    }


def nodeadm_user_data(config: dict[str, Any]) -> str:
    """MIME multipart user data with one ``application/node.eks.aws`` part, as nodeadm reads it."""
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    return (
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{USER_DATA_BOUNDARY}"\n'
        "\n"
        f"--{USER_DATA_BOUNDARY}\n"
        "Content-Type: application/node.eks.aws\n"
        "\n"
        "---\n"
        f"{body}"
        "\n"
        f"--{USER_DATA_BOUNDARY}--\n"
    )
