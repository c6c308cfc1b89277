"""The accelerator catalog is the one extension point of a kind: a fictitious kind added as one catalog
entry plus its data (instance facts, a price) is planned, checked and priced like the kinds servestack
ships, and every contract below holds for every kind of the catalog, whichever kinds it has."""

from __future__ import annotations

import pytest

from harness import plan_config, resource, resources, stack_config

from components.core import catalog, karpenter_limits
from components.core.catalog import Accelerator, AcceleratorKind, DevicePlugin, PluginSpec
from components.core.quotas import Quota, QuotaClass
from plandoc import cost
from plandoc.prices import price_table
from policies.rules import evaluate

GAUDI = AcceleratorKind("gaudi")
GAUDI_TYPE = "dl1.24xlarge"
GAUDI_FACTS = {"architectures": ["x86_64"], "vcpus": 96, "memoryMiB": 786432, "gpus": 0, "neuronDevices": 0,
               "neuronCores": 0, "fpgas": 0, "gaudis": 8, "source": "test fixture"}
PLUGIN_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gaudi-device-plugin:1.19.0"


@pytest.fixture
def gaudi(monkeypatch):
    """A kind the catalog does not ship: one entry (families, resource, plugin declared by the stack,
    quota class, AMI type) and its data (the instance's hardware facts and its hourly price)."""
    entry = Accelerator(
        kind=GAUDI, title="Gaudi", families=("dl1",), resource_name="habana.ai/gaudi",
        plugin=PluginSpec(DevicePlugin("gaudi-device-plugin")), count_field="gaudis",
        quota_classes=(QuotaClass(Quota("L-TEST0001", "Running On-Demand DL instances"),
                                  Quota("L-TEST0002", "All DL Spot Instance Requests"), ("dl",)),),
        ami_types={"x86_64": "AL2023_x86_64_STANDARD"},
        llm_serving="no LLM runtime of KServe v0.20.0 targets Gaudi",
    )
    monkeypatch.setitem(catalog.ACCELERATORS, GAUDI, entry)
    monkeypatch.setitem(catalog._hardware(), GAUDI_TYPE, GAUDI_FACTS)
    monkeypatch.setitem(price_table("us-east-1").instances, GAUDI_TYPE, 13.1090)
    return entry


def gaudi_stack() -> dict:
    config = stack_config("dev")
    config["servestack:nodePools"]["gaudi"] = {"instanceTypes": [GAUDI_TYPE], "maxSize": 2,
                                               "devicePlugin": {"image": PLUGIN_IMAGE}}
    config["servestack:endpoints"]["translate"] = {
        "pool": "gaudi", "accelerators": 2,
        "model": {"format": "huggingface", "storageUri": "s3://acme-ml-models-dev/models/translate/1.0.0",
                  "version": "1.0.0"},
        "autoscaling": {"minReplicas": 1, "maxReplicas": 4},
    }
    return config


def test_a_kind_added_as_one_entry_and_its_data_is_planned_checked_and_priced(gaudi):
    plan = plan_config(gaudi_stack(), "gaudi-dev")
    # Karpenter pool (an accelerator kind), tainted and labelled from the entry, limited by cpu and
    # memory only: Karpenter cannot count a resource only the stack's plugin advertises.
    nodepool = resource(plan, "kubernetes:karpenter.sh/v1:NodePool", "servestack-karpenter-gaudi-nodepool")["inputs"]
    template = nodepool["spec"]["template"]["spec"]
    assert template["taints"] == [{"key": "habana.ai/gaudi", "value": "true", "effect": "NoSchedule"}]
    assert nodepool["spec"]["limits"] == {"cpu": "192", "memory": "1572864Mi"}
    assert nodepool["spec"]["template"]["metadata"]["labels"]["servestack.io/accelerator"] == "gaudi"
    # the plugin the stack declares, as a DaemonSet on Gaudi nodes only, tolerating exactly their taint
    daemon_set = resource(plan, "kubernetes:apps/v1:DaemonSet", "servestack-device-plugins-gaudi")["inputs"]
    pod = daemon_set["spec"]["template"]["spec"]
    assert (pod["nodeSelector"], pod["tolerations"]) == (
        {"servestack.io/accelerator": "gaudi"},
        [{"key": "habana.ai/gaudi", "operator": "Equal", "value": "true", "effect": "NoSchedule"}])
    assert pod["containers"][0]["env"] == [{"name": "RESOURCE_NAME", "value": "habana.ai/gaudi"}]
    # the endpoint requests the kind's resource and tolerates its pool
    isvc = resource(plan, "kubernetes:serving.kserve.io/v1beta1:InferenceService", "servestack-endpoint-translate-isvc")
    predictor = isvc["inputs"]["spec"]["predictor"]
    assert predictor["model"]["resources"]["limits"]["habana.ai/gaudi"] == "2"
    assert predictor["tolerations"] == [{"key": "habana.ai/gaudi", "operator": "Equal", "value": "true",
                                         "effect": "NoSchedule"}]

    states = [step["newState"] for step in plan.steps]
    assert [v for v in evaluate(states, {}, plan.document["config"], "gaudi-dev") if v.enforcement == "mandatory"] == []
    lines = {line.item: line for line in cost.estimate(states, plan.document["config"]).lines}
    # translate: 1-4 replicas of 2 Gaudis; one node of 8 holds all 4 at max (the capacity model's packing)
    gaudi_line = lines[f"Karpenter pool gaudi: {GAUDI_TYPE}"]
    assert (gaudi_line.unit_hourly, gaudi_line.count_min, gaudi_line.count_max) == (13.1090, 1, 1)


def test_without_its_device_plugin_a_pool_of_the_new_kind_is_refused_with_the_kinds_own_words(gaudi):
    from components.config import ConfigError, parse_stack_config

    config = gaudi_stack()
    del config["servestack:nodePools"]["gaudi"]["devicePlugin"]
    with pytest.raises(ConfigError) as error:
        parse_stack_config("gaudi-dev", config)
    assert [p.render() for p in error.value.problems] == [
        "servestack:nodePools.gaudi.devicePlugin: is required for a Gaudi pool: no vendor publishes a device plugin "
        "for DL1, so give its image and resourceName"]


@pytest.mark.parametrize("kind", list(catalog.ACCELERATORS))
def test_every_kind_names_families_quota_classes_and_ami_types_that_resolve(kind):
    entry = catalog.ACCELERATORS[kind]
    assert entry.kind == kind and entry.families, kind
    assert all(catalog.families()[family] == kind for family in entry.families)
    assert entry.quota_classes and entry.ami_types
    types = [t for t in catalog.known_instance_types() if catalog.family_of(t) in entry.families]
    assert types, f"no instance data for the {kind} families"
    for instance_type in types:
        spec = catalog.lookup(instance_type)
        assert spec.kind == kind and catalog.quota_class_of(instance_type) in entry.quota_classes
        assert (spec.accelerators > 0) == entry.has_devices or spec.accelerators == 0


@pytest.mark.parametrize("kind", catalog.device_kinds())
def test_every_device_kind_has_a_plugin_a_chart_with_values_or_one_the_stack_declares(kind):
    plugin = catalog.ACCELERATORS[kind].plugin
    assert plugin is not None
    assert plugin.declared_by_stack or (plugin.pin is not None and plugin.values is not None)


def test_karpenter_limits_count_exactly_the_resources_the_catalog_says_karpenter_knows(gaudi):
    counted = set(catalog.karpenter_counted_resources())
    assert counted == {a.resource_name for a in catalog.ACCELERATORS.values() if a.karpenter_counts}
    assert "habana.ai/gaudi" not in counted
    assert karpenter_limits.limits([GAUDI_TYPE], 2, "habana.ai/gaudi") == {"cpu": 192, "memory": 1572864}
    assert karpenter_limits.limits(["g6.xlarge"], 2, "nvidia.com/gpu") == {"cpu": 8, "memory": 32768, "nvidia.com/gpu": 2}


def test_an_unknown_kind_name_is_refused_with_the_catalogs_kinds():
    with pytest.raises(ValueError) as error:
        catalog.kind_named("tpu")
    assert str(error.value) == "'tpu' is not an accelerator kind of the catalog (none, nvidia, neuron, fpga)"


def test_the_overlay_of_hand_kept_instance_data_never_repeats_generated_entries():
    import json
    from importlib import resources as files

    data = files.files("components").joinpath("data")
    generated = json.loads(data.joinpath("instance_types.json").read_text())
    overlay = json.loads(data.joinpath("instance_types_overlay.json").read_text())["instanceTypes"]
    assert set(generated) & set(overlay) == set()
    assert all(facts.get("source") for facts in overlay.values())


def test_plans_of_the_new_kind_are_deterministic(gaudi):
    first, second = plan_config(gaudi_stack(), "gaudi-dev"), plan_config(gaudi_stack(), "gaudi-dev")
    assert resources(first, "kubernetes:apps/v1:DaemonSet") == resources(second, "kubernetes:apps/v1:DaemonSet")
