"""What one kind of resource costs under the plan engine: N of them, above an empty program.

Each kind runs in a fresh process (the plan engine in-process, CPU seconds, after a warm-up plan
that loads the imports). It shows how much of a plan is Pulumi's per-resource work for the
resources an endpoint is made of, against the plain resources of ``bench/bench.py``'s baseline.
A script, not a test; figures in docs/benchmarks.md ("What the ratio says").

    .venv/bin/python bench/resource_kinds.py [--count 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INFERENCE_SERVICE_SPEC = {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://models/iris/1.0.0",
                                                  "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}}}

#: kind -> what the program declares N times
KINDS = {
    "empty": "nothing (the floor the others are measured above)",
    "plain": "plain CustomResource, three inputs (the baseline's)",
    "component": "ComponentResource with registered outputs",
    "role": "aws.iam.Role",
    "role-policy": "aws.iam.RolePolicy",
    "service-account": "k8s.core.v1.ServiceAccount",
    "inference-service": "k8s.apiextensions.CustomResource (an InferenceService)",
    "partition-invoke": "aws.get_partition_output invoke",
}


def program(kind: str, count: int):
    import pulumi
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    def declare() -> None:
        on_cluster = pulumi.ResourceOptions(provider=k8s.Provider("cluster", kubeconfig="{}"))
        for i in range(count):
            if kind == "plain":
                pulumi.CustomResource("bench:index:Plain", f"r{i}", {"index": i, "name": f"r{i}", "labels": {"a": "b"}})
            elif kind == "component":
                pulumi.ComponentResource("bench:index:Component", f"c{i}").register_outputs({"name": f"c{i}"})
            elif kind == "role":
                aws.iam.Role(f"r{i}", assume_role_policy=json.dumps({"Version": "2012-10-17"}), tags={"team": "ml"})
            elif kind == "role-policy":
                aws.iam.RolePolicy(f"p{i}", role="reader", policy=json.dumps({"Version": "2012-10-17"}))
            elif kind == "service-account":
                k8s.core.v1.ServiceAccount(f"s{i}", metadata=k8s.meta.v1.ObjectMetaArgs(name=f"s{i}", namespace="models"),
                                           opts=on_cluster)
            elif kind == "inference-service":
                k8s.apiextensions.CustomResource(f"i{i}", api_version="serving.kserve.io/v1beta1", kind="InferenceService",
                                                 metadata={"name": f"i{i}", "namespace": "models"},
                                                 spec=INFERENCE_SERVICE_SPEC, opts=on_cluster)
            elif kind == "partition-invoke":
                aws.get_partition_output()

    return declare


def measure(kind: str, count: int) -> float:
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    from harness import plan_program

    from servestack.cli import short_lived_process

    plan_program(program("plain", 1))  # imports and first-use costs outside the measurement
    with short_lived_process():
        start = time.process_time()
        plan_program(program(kind, count))
        return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(measure(args.one, args.count))
        return
    seconds = {}
    for kind in KINDS:
        out = subprocess.run([sys.executable, __file__, "--one", kind, "--count", str(args.count)],
                             capture_output=True, text=True, cwd=REPO, check=True)
        seconds[kind] = float(out.stdout.strip().splitlines()[-1])
    print(f"{args.count} x, CPU seconds above an empty program ({seconds['empty']:.2f} s):")
    for kind, description in KINDS.items():
        if kind != "empty":
            print(f"  {seconds[kind] - seconds['empty']:6.2f}  {description}")


if __name__ == "__main__":
    main()
