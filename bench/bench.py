"""How planning cost grows with the environment: `make bench` (a benchmark, not a test).

For 10, 100 and 1000 endpoints (spread over CPU, NVIDIA and Neuron pools, every fourth one
mid-rollout) it generates a valid staging stack (pools sized for their endpoints, the policy
pack's cost caps raised to the stack's size), then times, each in a fresh process after its
imports and several runs, the real CLI commands:

- ``plan``: ``servestack plan`` of the stack (program under mocks, files written), after the
  program's imports (the pulumi_aws and pulumi_kubernetes submodules it uses included);
- ``check``: ``servestack check`` of that plan (must pass with no finding: an offline plan says nothing
  of what is deployed, so ``no-create-mid-rollout`` does not judge its rollouts);
- ``diff``: ``servestack diff`` between that plan and one where every rollout advanced a stage;
- ``baseline``: registering the same number of plain resources directly with Pulumi's mock
  runtime (``pulumi.runtime.set_mocks`` and bare ``CustomResource``s), with no servestack code:
  the floor that any program run under mocks pays. Also measured with the cyclic garbage
  collector off, as servestack runs its commands (``servestack.cli.short_lived_process``): the
  target is set against the plain baseline, the second ratio shows what the process setting is
  worth.

It reports medians with peak memory (max RSS of the measuring process), servestack's plan time
as a ratio to the baseline (plan and baselines run in turn, round by round, so that the shared
machine's slow and fast spells meet both; the median of the rounds' ratios), and the growth from
100 to 1000 endpoints (linear is x10). Also the
start-up time of ``servestack --help`` and of ``servestack plan`` for the dev stack. Any failed
command, or a result that misses endpoints, violations or rollouts, stops the bench loudly.
Figures and findings: docs/benchmarks.md.

    .venv/bin/python bench/bench.py [--sizes 10,100,1000] [--runs 5] [--json build/bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


# ---------------------------------------------------------------------------- the generated stack

#: Pools of the generated stacks: instance type and the accelerators one node has (catalog data).
POOLS = {"system": ("m7i.2xlarge", 0), "gpu": ("g6.12xlarge", 4), "neuron": ("inf2.24xlarge", 6)}
NEURON_IMAGE = "public.ecr.aws/neuron/pytorch-inference-neuronx:2.7.0-neuronx-py310-sdk2.24.1-ubuntu22.04"
MAX_REPLICAS = 2
#: A CPU endpoint's default cpu request (components.core.resources) and the system pool's vCPUs per node.
CPU_REQUEST_MILLIS = 500
SYSTEM_VCPUS = 8


def _endpoint(i: int, advanced: bool) -> dict:
    """Endpoint ``i``: CPU sklearn, NVIDIA Hugging Face or a Neuron custom container in turn;
    every fourth one mid-rollout (stage 1 of 3, or stage 2 when ``advanced``)."""
    name = f"model-{i:04d}"
    pool = ("system", "gpu", "neuron")[i % 3]
    uri = f"s3://bench-models/models/{name}"
    if pool == "system":
        model = {"format": "sklearn", "version": "1.0.0", "storageUri": f"{uri}/1.0.0"}
    elif pool == "gpu":
        model = {"format": "huggingface", "version": "1.0.0", "storageUri": f"{uri}/1.0.0"}
    else:
        model = {"version": "1.0.0", "container": {"image": NEURON_IMAGE}, "storageUri": f"{uri}/1.0.0"}
    endpoint: dict = {"pool": pool, "model": model, "autoscaling": {"minReplicas": 1, "maxReplicas": MAX_REPLICAS}}
    if pool != "system":
        endpoint["accelerators"] = 1
    if i % 4 == 0:
        endpoint["rollout"] = {"candidate": {"version": "1.1.0", "storageUri": f"{uri}/1.1.0"},
                               "stages": [10, 50, 100], "stage": 2 if advanced else 1}
    return endpoint


def generated_config(endpoints: int, advanced: bool = False) -> dict:
    """A staging stack with ``endpoints`` endpoints over three pools sized for them (the policy
    pack's capacity rule counts both revisions of a Knative canary at max replicas)."""
    demand = {pool: 0 for pool in POOLS}
    cpu_millis = 0
    config_endpoints = {}
    for i in range(endpoints):
        endpoint = _endpoint(i, advanced)
        config_endpoints[f"model-{i:04d}"] = endpoint
        revisions = 2 if "rollout" in endpoint else 1
        demand[endpoint["pool"]] += endpoint.get("accelerators", 0) * MAX_REPLICAS * revisions
        if endpoint["pool"] == "system":
            cpu_millis += CPU_REQUEST_MILLIS * MAX_REPLICAS * revisions
    pools = {}
    for pool, (instance_type, per_node) in POOLS.items():
        if per_node:  # a Karpenter pool, from no nodes up to what its endpoints need at max replicas
            pools[pool] = {"instanceTypes": [instance_type], "minSize": 0, "maxSize": max(2, -(-demand[pool] // per_node))}
        else:  # the managed system pool has a fixed size: room for its CPU endpoints at max replicas
            size = max(2, -(-cpu_millis * 2 // (SYSTEM_VCPUS * 1000)))  # at most half of each node's vCPUs
            pools[pool] = {"instanceTypes": [instance_type], "minSize": size, "maxSize": size}
    return {
        "aws:region": "us-east-1",
        "servestack:tier": "staging",
        "servestack:nodePools": pools,
        "servestack:endpoints": config_endpoints,
    }


def policy_config(config: dict) -> dict:
    """The pack's per-stack cost caps raised to this stack's size (the rest at their defaults):
    a large organisation sets them for its environment, and check must then pass."""
    pools = config["servestack:nodePools"]
    accelerators = sum(pools[p]["maxSize"] * POOLS[p][1] for p in pools)
    return {"accelerator-count-cap": {"maxAccelerators": accelerators},
            # $10/h per node is above the on-demand price of each of these instance types
            "hourly-cost-cap": {"maxHourlyCost": 100 + 10 * sum(p["maxSize"] for p in pools.values())}}


def write_project(root: Path, endpoints: int) -> None:
    import yaml

    (root / "stacks").mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text() + f"main: {REPO}\n")
    for stack, advanced in (("base", False), ("head", True)):
        config = generated_config(endpoints, advanced)
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    (root / "policy.json").write_text(json.dumps(policy_config(generated_config(endpoints))))


# ---------------------------------------------------------------------------- one measurement

def measure_one(kind: str, root: Path, count: int) -> dict:
    """Runs inside a fresh process: time one command after the imports it needs.

    ``plan``, ``check`` and ``diff`` run the real CLI commands in-process (click's runner) with the
    arguments a pull-request job would give them, under the same process settings as the console
    script; any exit code other than the expected one, or an exception, fails the benchmark with
    the command's output.
    """
    if kind in ("baseline", "baseline-collector-off"):
        import gc

        import pulumi  # noqa: F401 - imports are outside the timed region, as for the others

        start = time.perf_counter()
        if kind == "baseline-collector-off":  # servestack's own process setting, for comparison
            gc.disable()
        _baseline(count)
        return _sample(start)
    from click.testing import CliRunner

    import components.environment  # noqa: F401 - the program's imports (pulumi_aws, pulumi_kubernetes) are start-up cost
    import servestack.plan.answers  # noqa: F401
    from servestack.plan.warmup import import_program_modules

    import_program_modules()  # outside the timed region: the same second of imports at every size
    from servestack.cli import cli, short_lived_process

    plans = root / "plans"
    args = {
        "plan": ["plan", "--stack", "base", "--project", str(root), "--out", str(plans / "base")],
        "plan-head": ["plan", "--stack", "head", "--project", str(root), "--out", str(plans / "head")],
        "check": ["check", str(plans / "base"), "--policy-config", str(root / "policy.json"), "--format", "json"],
        "diff": ["diff", str(plans / "base"), str(plans / "head"), "--format", "json"],
    }[kind]
    start = time.perf_counter()
    with short_lived_process():  # as the console script runs every command (servestack.cli.main)
        result = CliRunner().invoke(cli, args, catch_exceptions=True)
    sample = _sample(start)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise SystemExit(f"servestack {' '.join(args)} raised:\n"
                         + "".join(traceback.format_exception(result.exception)))
    if result.exit_code != 0:
        raise SystemExit(f"servestack {' '.join(args)} exited {result.exit_code}:\n{result.output}")
    sample["output"] = result.output if kind != "plan" else ""
    return sample


def _sample(start: float) -> dict:
    return {"seconds": time.perf_counter() - start, "peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _baseline(count: int) -> None:
    """``count`` plain resources registered with Pulumi's own mock runtime: no servestack code."""
    import asyncio

    import pulumi
    from pulumi.runtime.stack import wait_for_rpcs

    class Echo(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args):
            return {}

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(Echo(), project="bench", stack="baseline", preview=False)
    for i in range(count):
        pulumi.CustomResource("bench:index:Plain", f"r{i}", {"index": i, "name": f"r{i}", "labels": {"a": "b"}})
    loop.run_until_complete(wait_for_rpcs())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def run_measurement(kind: str, root: Path, count: int = 0) -> dict:
    out = subprocess.run([PY, __file__, "--one", kind, str(root), str(count)], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"bench: {kind} failed (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(kind: str, root: Path, runs: int, count: int = 0) -> dict:
    return summary([run_measurement(kind, root, count) for _ in range(runs)])


def summary(samples: list[dict]) -> dict:
    return {"seconds": statistics.median(s["seconds"] for s in samples),
            "peakMiB": max(s["peakMiB"] for s in samples), "runs": len(samples),
            "samples": [round(s["seconds"], 3) for s in samples], "output": samples[-1].get("output", "")}


def plan_and_baselines(root: Path, runs: int) -> tuple[dict, dict, dict, int]:
    """``runs`` rounds of plan, baseline and baseline with the collector off, in turn.

    Interleaved, so that a slow or fast spell of the shared machine meets all three alike; the
    ratios are then taken round by round. Returns (plan, baseline, baseline collector off,
    resources): the baselines register as many plain resources as the plan's first run declared.
    """
    plans: list[dict] = []
    baselines: list[dict] = []
    collector_off: list[dict] = []
    resources = 0
    for _ in range(runs):
        plans.append(run_measurement("plan", root))
        resources = resources or planned_resources(root)
        baselines.append(run_measurement("baseline", root, resources))
        collector_off.append(run_measurement("baseline-collector-off", root, resources))
    plan = summary(plans)
    plan["toBaseline"] = [round(p["seconds"] / b["seconds"], 3) for p, b in zip(plans, baselines)]
    plan["toBaselineCollectorOff"] = [round(p["seconds"] / b["seconds"], 3) for p, b in zip(plans, collector_off)]
    return plan, summary(baselines), summary(collector_off), resources


def planned_resources(root: Path) -> int:
    """The custom resources of the plan (providers left out): what the baseline registers."""
    steps = json.loads((root / "plans" / "base" / "preview.json").read_text())["steps"]
    return sum(1 for s in steps if s["newState"]["custom"] and not s["newState"]["type"].startswith("pulumi:providers:"))


def verify(size: int, root: Path, check: dict, diff: dict) -> None:
    """The commands did the whole job: every endpoint planned, check passed, every rollout diffed."""
    steps = json.loads((root / "plans" / "base" / "preview.json").read_text())["steps"]
    isvcs = sum(1 for s in steps if s["newState"]["type"] == "kubernetes:serving.kserve.io/v1beta1:InferenceService")
    rollouts = len(range(0, size, 4))
    report, changes = json.loads(check.pop("output")), json.loads(diff.pop("output"))
    problems = []
    if isvcs != size:
        problems.append(f"the plan has {isvcs} InferenceServices, not {size}")
    # An offline plan says nothing of what is deployed: no rule judges a creation in it (no-create-mid-rollout).
    if not report["passed"] or report["violations"]:
        problems.append(f"check found violations: {report['violations'][:3]}")
    if len(changes["rollouts"]) != rollouts or changes["flags"]:
        problems.append(f"diff shows {len(changes['rollouts'])} rollouts (expected {rollouts}), flags {changes['flags'][:3]}")
    if problems:
        raise SystemExit(f"bench: {size} endpoints: " + "; ".join(problems))


def wall_clock(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


# ---------------------------------------------------------------------------- the report

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "results.json")
    parser.add_argument("--startup-runs", type=int, default=5,
                        help="runs of the start-up timings (servestack --help, plan of dev); 0 skips them")
    parser.add_argument("--one", nargs=3, metavar=("KIND", "ROOT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], Path(args.one[1]), int(args.one[2]))))
        return

    results: dict = {"date": date.today().isoformat(), "machine": _machine(), "runs": args.runs, "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        root = Path(tempfile.mkdtemp(prefix=f"servestack-bench-{size}-"))
        try:
            write_project(root, size)
            plan, baseline, baseline_off, resources = plan_and_baselines(root, args.runs)
            run_measurement("plan-head", root)  # the plan after every rollout advanced a stage, for diff
            check = median_of("check", root, args.runs)
            diff = median_of("diff", root, args.runs)
            verify(size, root, check, diff)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        row = {"endpoints": size, "resources": resources, "plan": plan, "baseline": baseline, "check": check, "diff": diff,
               "baselineCollectorOff": baseline_off,
               # the median of the round-by-round ratios
               "planToBaseline": statistics.median(plan["toBaseline"]),
               "planToBaselineCollectorOff": statistics.median(plan["toBaselineCollectorOff"]),
               "checkToPlan": check["seconds"] / plan["seconds"], "diffToPlan": diff["seconds"] / plan["seconds"]}
        results["sizes"][str(size)] = row
        print(f"{size:>5} endpoints, {resources:>5} resources: plan {plan['seconds']:.2f}s ({plan['peakMiB']:.0f} MiB), "
              f"baseline {baseline['seconds']:.2f}s ({baseline['peakMiB']:.0f} MiB), ratio {row['planToBaseline']:.2f} "
              f"(collector off: {baseline_off['seconds']:.2f}s, ratio {row['planToBaselineCollectorOff']:.2f}); "
              f"check {check['seconds']:.2f}s, diff {diff['seconds']:.2f}s", flush=True)
    sizes = results["sizes"]
    if "100" in sizes and "1000" in sizes:
        results["growth100to1000"] = {k: sizes["1000"][k]["seconds"] / sizes["100"][k]["seconds"] for k in ("plan", "baseline", "check", "diff")}
        print("growth 100 -> 1000 endpoints (linear = x10): " + ", ".join(f"{k} x{v:.1f}" for k, v in results["growth100to1000"].items()))
    servestack = str(Path(PY).parent / "servestack")
    runs = args.startup_runs
    results["startup"] = {
        "servestack --help": wall_clock([servestack, "--help"], runs),
        "servestack plan --stack dev": wall_clock([servestack, "plan", "--stack", "dev", "--out", str(REPO / "build" / "bench" / "dev")],
                                                  runs),
    } if runs else {}
    for command, seconds in results["startup"].items():
        print(f"{command}: {seconds:.2f}s (median of {runs}, wall clock)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.json}")


def _machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    mem_kib = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "processor": model or platform.processor() or platform.machine(), "memoryGiB": round(mem_kib / 2**20, 1)}


if __name__ == "__main__":
    main()
