"""Regenerate components/data/instance_types.json, the hardware facts behind the catalog.

Source: the EC2 DescribeInstanceTypes data that moto ships (moto/ec2/resources/
instance_types.json.gz, itself recorded from the EC2 API), reduced to the families the
accelerator catalog covers and to the fields it needs. Run it after bumping moto:

    .venv/bin/python tools/gen_instance_types.py
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

from components.core.catalog import families

OUT = Path(__file__).resolve().parent.parent / "components" / "data" / "instance_types.json"
#: Network bandwidth per instance type (NetworkInfo.NetworkCards of the same data), for the cold-start
#: estimate (components/core/coldstart.py); a file of its own so that the catalog's table keeps its fields.
NETWORK_OUT = OUT.with_name("instance_network.json")


def main() -> None:
    with resources.files("moto.ec2.resources").joinpath("instance_types.json.gz").open("rb") as raw:
        described = json.load(gzip.open(raw))
    table = {}
    network = {}
    for name, info in sorted(described.items()):
        if name.split(".")[0] not in families():
            continue
        gpus = sum(g["Count"] for g in info.get("GpuInfo", {}).get("Gpus", []))
        neuron_devices = sum(d["Count"] for d in info.get("NeuronInfo", {}).get("NeuronDevices", []))
        neuron_cores = sum(d["Count"] * d["CoreInfo"]["Count"] for d in info.get("NeuronInfo", {}).get("NeuronDevices", []))
        fpgas = sum(f["Count"] for f in info.get("FpgaInfo", {}).get("Fpgas", []))
        table[name] = {
            "architectures": sorted(a for a in info["ProcessorInfo"]["SupportedArchitectures"] if a in ("x86_64", "arm64")),
            "vcpus": info["VCpuInfo"]["DefaultVCpus"],
            "memoryMiB": info["MemoryInfo"]["SizeInMiB"],
            "gpus": gpus,
            "neuronDevices": neuron_devices,
            "neuronCores": neuron_cores,
            "fpgas": fpgas,
            # Elastic Fabric Adapter interfaces (0: no EFA); Karpenter requests this many for a pod that asks for EFA.
            "efaInterfaces": info["NetworkInfo"].get("EfaInfo", {}).get("MaximumEfaInterfaces", 0)
            if info["NetworkInfo"].get("EfaSupported") else 0,
        }
        cards = info["NetworkInfo"].get("NetworkCards", [])
        network[name] = {
            "baselineGbps": sum(c["BaselineBandwidthInGbps"] for c in cards),
            "peakGbps": sum(c["PeakBandwidthInGbps"] for c in cards),
            "networkPerformance": info["NetworkInfo"]["NetworkPerformance"],
        }
    OUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    NETWORK_OUT.write_text(json.dumps(network, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(table)} instance types to {OUT}")


if __name__ == "__main__":
    main()
