"""How planning cost grows with the environment: `make bench` (a benchmark, not a test).

For 10, 100 and 1000 endpoints (spread over CPU, NVIDIA and Neuron pools, every fourth one
mid-rollout) it generates a stack, then times, each in a fresh process and several runs:

- ``plan``: ``servestack plan`` of the stack (program under mocks, files written);
- ``check``: ``servestack check`` of that plan;
- ``diff``: ``servestack diff`` between that plan and one where every rollout advanced a stage;
- ``baseline``: registering the same number of plain resources directly with Pulumi's mock
  runtime (``pulumi.runtime.set_mocks`` and bare ``CustomResource``s), with no servestack code:
  the floor that any program run under mocks pays.

It reports medians with peak memory (max RSS of the measuring process), servestack's plan time
as a ratio to the baseline, and the growth from 100 to 1000 endpoints (linear is x10). Also the
start-up time of ``servestack --help`` and of ``servestack plan`` for the dev stack.

    .venv/bin/python bench/bench.py [--sizes 10,100,1000] [--runs 3] [--json build/bench/results.json]
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

def generated_config(endpoints: int, advanced: bool = False) -> dict:
    """A stack with ``endpoints`` endpoints over three pools; ``advanced`` moves rollouts a stage on."""
    per_pool = -(-endpoints // 3)
    config: dict = {
        "aws:region": "us-east-1",
        "servestack:tier": "staging",
        "servestack:nodePools": {
            "system": {"instanceTypes": ["m7i.2xlarge"], "minSize": 2, "maxSize": max(3, per_pool)},
            "gpu": {"instanceTypes": ["g6.xlarge"], "minSize": 0, "maxSize": max(2, 2 * per_pool)},
            "neuron": {"instanceTypes": ["inf2.xlarge"], "minSize": 0, "maxSize": max(2, 2 * per_pool)},
        },
        "servestack:endpoints": {},
    }
    for i in range(endpoints):
        name = f"model-{i:04d}"
        pool = ("system", "gpu", "neuron")[i % 3]
        if pool == "system":
            model = {"format": "sklearn", "version": "1.0.0", "storageUri": f"s3://bench-models/models/{name}/1.0.0"}
            endpoint = {"pool": pool, "model": model}
        elif pool == "gpu":
            model = {"format": "huggingface", "version": "1.0.0", "storageUri": f"s3://bench-models/models/{name}/1.0.0"}
            endpoint = {"pool": pool, "model": model, "accelerators": 1}
        else:
            model = {"version": "1.0.0", "container": {"image": "public.ecr.aws/neuron/pytorch-inference-neuronx:2.7.0-neuronx-py310-sdk2.24.1-ubuntu22.04"},
                     "storageUri": f"s3://bench-models/models/{name}/1.0.0"}
            endpoint = {"pool": pool, "model": model, "accelerators": 1}
        endpoint["autoscaling"] = {"minReplicas": 1, "maxReplicas": 2}
        if i % 4 == 0:
            endpoint["rollout"] = {
                "candidate": {"version": "1.1.0", "storageUri": f"s3://bench-models/models/{name}/1.1.0"},
                "stages": [10, 50, 100],
                "stage": 2 if advanced else 1,
            }
        config["servestack:endpoints"][name] = endpoint
    return config


def write_project(root: Path, endpoints: int) -> None:
    import yaml

    (root / "stacks").mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text() + f"main: {REPO}\n")
    for stack, advanced in (("base", False), ("head", True)):
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": generated_config(endpoints, advanced)}))


# ---------------------------------------------------------------------------- one measurement

def measure_one(kind: str, root: Path, count: int) -> dict:
    """Runs inside a fresh process: time one operation after the imports it needs."""
    if kind == "baseline":
        import pulumi  # noqa: F401 - imports are outside the timed region, as for the others
        start = time.perf_counter()
        _baseline(count)
    elif kind == "plan":
        from servestack.plan import load_project, plan_stack

        project = load_project(root)
        start = time.perf_counter()
        plan_stack(project, "base", root / "plans" / "base")
    elif kind == "check":
        from click.testing import CliRunner

        from servestack.cli import cli

        start = time.perf_counter()
        result = CliRunner().invoke(cli, ["check", str(root / "plans" / "base"), "--format", "json"])
        assert result.exit_code in (0, 1), result.output
    elif kind == "diff":
        from click.testing import CliRunner

        from servestack.cli import cli

        start = time.perf_counter()
        result = CliRunner().invoke(cli, ["diff", str(root / "plans" / "base"), str(root / "plans" / "head"), "--format", "json"])
        assert result.exit_code in (0, 1), result.output
    else:
        raise SystemExit(f"unknown measurement {kind}")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


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


def run_measurement(kind: str, root: Path, count: int = 0) -> dict:
    out = subprocess.run([PY, __file__, "--one", kind, str(root), str(count)], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(kind: str, root: Path, runs: int, count: int = 0) -> dict:
    samples = [run_measurement(kind, root, count) for _ in range(runs)]
    return {"seconds": statistics.median(s["seconds"] for s in samples),
            "peakMiB": max(s["peakMiB"] for s in samples), "runs": runs}


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
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "results.json")
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
            plan = median_of("plan", root, args.runs)
            from servestack.plan import load_project, plan_stack

            plan_stack(load_project(root), "head", root / "plans" / "head")
            steps = json.loads((root / "plans" / "base" / "preview.json").read_text())["steps"]
            resources = sum(1 for s in steps if s["newState"]["custom"] and not s["newState"]["type"].startswith("pulumi:providers:"))
            baseline = median_of("baseline", root, args.runs, resources)
            check = median_of("check", root, args.runs)
            diff = median_of("diff", root, args.runs)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        row = {"endpoints": size, "resources": resources, "plan": plan, "baseline": baseline, "check": check, "diff": diff,
               "planToBaseline": plan["seconds"] / baseline["seconds"],
               "checkToPlan": check["seconds"] / plan["seconds"], "diffToPlan": diff["seconds"] / plan["seconds"]}
        results["sizes"][str(size)] = row
        print(f"{size:>5} endpoints, {resources:>5} resources: plan {plan['seconds']:.2f}s ({plan['peakMiB']:.0f} MiB), "
              f"baseline {baseline['seconds']:.2f}s ({baseline['peakMiB']:.0f} MiB), ratio {row['planToBaseline']:.2f}; "
              f"check {check['seconds']:.2f}s, diff {diff['seconds']:.2f}s", flush=True)
    sizes = results["sizes"]
    if "100" in sizes and "1000" in sizes:
        results["growth100to1000"] = {k: sizes["1000"][k]["seconds"] / sizes["100"][k]["seconds"] for k in ("plan", "baseline", "check", "diff")}
        print("growth 100 -> 1000 endpoints (linear = x10): " + ", ".join(f"{k} x{v:.1f}" for k, v in results["growth100to1000"].items()))
    servestack = str(Path(PY).parent / "servestack")
    results["startup"] = {
        "servestack --help": wall_clock([servestack, "--help"], 5),
        "servestack plan --stack dev": wall_clock([servestack, "plan", "--stack", "dev", "--out", str(REPO / "build" / "bench" / "dev")], 5),
    }
    for command, seconds in results["startup"].items():
        print(f"{command}: {seconds:.2f}s (median of 5, wall clock)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.json}")


def _machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


if __name__ == "__main__":
    main()
