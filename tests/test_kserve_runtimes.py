"""KServe's runtime selection (components/core/kserve_runtimes.py) against the vendored runtimes.

The tables below are what KServe's own rules (GetSupportingRuntimes, the webhook's protocol
defaulting, SetRuntimeDefaults) give for the built-in runtimes of each KServe servestack installs;
a test also re-derives every row from the raw vendored data so a table cannot drift from it.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from components.core import versions
from components.core.kserve_runtimes import (
    Runtime,
    SupportedFormat,
    builtin_runtimes,
    default_protocol,
    resolve_runtime,
    runtime_versions,
)

# format x protocol (None: the model names none) -> (runtime, protocol after KServe's defaulting)
V0_20 = {
    ("sklearn", None): ("kserve-sklearnserver", "v1"),
    ("sklearn", "v1"): ("kserve-sklearnserver", "v1"),
    ("sklearn", "v2"): ("kserve-mlserver", "v2"),          # mlserver's sklearn priority 2 beats 1
    ("sklearn", "grpc-v2"): (None, "grpc-v2"),
    ("xgboost", None): ("kserve-xgbserver", "v1"),
    ("xgboost", "v2"): ("kserve-mlserver", "v2"),
    ("lightgbm", None): ("kserve-lgbserver", "v1"),
    ("lightgbm", "v2"): ("kserve-mlserver", "v2"),
    ("tensorflow", None): ("kserve-tensorflow-serving", "v1"),
    ("tensorflow", "grpc-v1"): ("kserve-tensorflow-serving", "grpc-v1"),
    ("tensorflow", "v2"): ("kserve-tritonserver", "v2"),
    ("pytorch", None): ("kserve-torchserve", "v1"),
    ("pytorch", "v2"): ("kserve-torchserve", "v2"),         # triton's pytorch entry has no autoSelect
    ("pytorch", "grpc-v2"): ("kserve-torchserve", "grpc-v2"),
    ("onnx", None): (None, "v1"),                           # only triton serves onnx, and it speaks v2
    ("onnx", "v2"): ("kserve-tritonserver", "v2"),
    ("onnx", "grpc-v2"): ("kserve-tritonserver", "grpc-v2"),
    ("triton", None): ("kserve-tritonserver", "v2"),        # webhook default v2
    ("triton", "v1"): (None, "v1"),
    ("tensorrt", None): (None, "v1"),
    ("tensorrt", "v2"): ("kserve-tritonserver", "v2"),
    ("huggingface", None): ("kserve-huggingfaceserver", "v1"),  # the multi-node runtime needs a workerSpec
    ("huggingface", "v2"): ("kserve-huggingfaceserver", "v2"),
    ("huggingface", "grpc-v2"): (None, "grpc-v2"),
    ("pmml", None): ("kserve-pmmlserver", "v1"),
    ("paddle", None): ("kserve-paddleserver", "v1"),
    ("mlflow", None): (None, "v1"),
    ("mlflow", "v2"): ("kserve-mlserver", "v2"),
    ("vLLM", None): ("kserve-vllmserver", "v2"),            # webhook default v2
    ("vLLM", "v1"): ("kserve-vllmserver", "v1"),            # declares no protocolVersions: speaks any
    ("autogluon", None): ("kserve-autogluonserver", "v1"),
}

V0_16 = {
    **{key: value for key, value in V0_20.items() if key[0] not in ("vLLM", "autogluon")},
}


def _table_rows(table):
    return [pytest.param(fmt, protocol, expected, id=f"{fmt}-{protocol}") for (fmt, protocol), expected in table.items()]


@pytest.mark.parametrize(("fmt", "protocol", "expected"), _table_rows(V0_20))
def test_kserve_v0_20_selects_like_kserve(fmt, protocol, expected):
    resolution = resolve_runtime(builtin_runtimes("v0.20.0"), fmt, protocol=protocol)
    assert (resolution.runtime.name if resolution.runtime else None, resolution.protocol) == expected
    assert resolution.ambiguous is False
    assert resolution.format_spelling == fmt
    assert (resolution.reason == "") == (expected[0] is not None)


@pytest.mark.parametrize(("fmt", "protocol", "expected"), _table_rows(V0_16))
def test_kserve_v0_16_selects_like_kserve(fmt, protocol, expected):
    resolution = resolve_runtime(builtin_runtimes("v0.16.0"), fmt, protocol=protocol)
    assert (resolution.runtime.name if resolution.runtime else None, resolution.protocol) == expected


@pytest.mark.parametrize("version", ["v0.16.0", "v0.20.0"])
def test_tables_agree_with_the_raw_vendored_data(version):
    """Every expected runtime declares the format with autoSelect and speaks the protocol; every
    expected miss has no such runtime: re-checked from the JSON, not from the module."""
    raw = json.loads(resources.files("components").joinpath(f"data/upstream/kserve-runtimes-{version}.json").read_text())
    table = V0_20 if version == "v0.20.0" else V0_16
    for (fmt, protocol), (expected, _) in table.items():
        match = "v2" if protocol is None and fmt in ("triton", "vLLM") else (protocol or "v1")
        fitting = sorted(
            r["name"] for r in raw["runtimes"]
            if not r["disabled"] and not r["multiModel"] and not r["multiNode"]
            and any(f["name"] == fmt and f["autoSelect"] for f in r["supportedModelFormats"])
            and (not r["protocolVersions"] or match in r["protocolVersions"]))
        if expected is None:
            assert fitting == [], (fmt, protocol)
        else:
            assert expected in fitting, (fmt, protocol)


def test_every_autoselect_format_of_every_version_is_in_the_table():
    for version, table in (("v0.20.0", V0_20), ("v0.16.0", V0_16)):
        formats = {f.name for r in builtin_runtimes(version) for f in r.supported_model_formats if f.auto_select}
        assert formats == {fmt for fmt, _ in table}, version


def test_vllm_runtime_spelling_and_protocols_as_kserve_declares_them():
    (vllm,) = [r for r in builtin_runtimes("v0.20.0") if r.name == "kserve-vllmserver"]
    assert vllm.supported_model_formats == (SupportedFormat("vLLM", "1", True, 1),)
    assert vllm.protocol_versions == ()
    assert vllm.speaks("grpc-v1") is True
    assert vllm.kind == "ClusterServingRuntime"


def test_user_spelling_is_matched_ignoring_case_and_the_runtime_spelling_is_returned():
    resolution = resolve_runtime(builtin_runtimes("v0.20.0"), "vllm")
    assert (resolution.runtime.name, resolution.format_spelling, resolution.protocol) == ("kserve-vllmserver", "vLLM", "v2")
    assert resolve_runtime(builtin_runtimes("v0.20.0"), "SKLearn").format_spelling == "sklearn"


def test_default_protocol_is_kserves_case_sensitive_webhook_default():
    assert [default_protocol(f) for f in ("triton", "vLLM", "vllm", "onnx", "mlflow", "sklearn")] == \
        ["v2", "v2", "v1", "v1", "v1", "v1"]
    assert default_protocol("vLLM", "v0.16.0") == "v1"
    with pytest.raises(KeyError, match=r"no protocol defaulting rules for KServe v9\.9\.9; rules exist for v0\.16\.0, v0\.20\.0"):
        default_protocol("sklearn", "v9.9.9")


def test_no_runtime_reasons_name_the_runtimes_and_their_protocols():
    rs = builtin_runtimes("v0.20.0")
    assert resolve_runtime(rs, "onnx").reason == (
        "no built-in runtime of KServe v0.20.0 serves onnx with protocol v1 (KServe's default for onnx); "
        "runtimes for onnx: kserve-tritonserver speaks v2, grpc-v2 (versions 1)")
    assert resolve_runtime(rs, "mlflow", protocol="v1").reason == (
        "no built-in runtime of KServe v0.20.0 serves mlflow with protocol v1; "
        "runtimes for mlflow: kserve-mlserver speaks v2 (versions 1, 2)")
    assert resolve_runtime(rs, "caffe").reason.startswith(
        "no built-in runtime of KServe v0.20.0 declares model format 'caffe' (formats with a built-in runtime: autogluon, huggingface,")
    assert resolve_runtime(builtin_runtimes("v0.16.0"), "vLLM").reason.startswith(
        "no built-in runtime of KServe v0.16.0 declares model format 'vLLM' (formats with a built-in runtime: huggingface,")


def test_format_version_must_match_exactly():
    rs = builtin_runtimes("v0.20.0")
    assert resolve_runtime(rs, "sklearn", format_version="1").runtime.name == "kserve-sklearnserver"
    # only mlserver declares sklearn 0, and it speaks v2 only
    assert resolve_runtime(rs, "sklearn", format_version="0").reason == (
        "no built-in runtime of KServe v0.20.0 serves sklearn version 0 with protocol v1 (KServe's default for sklearn); "
        "runtimes for sklearn: kserve-mlserver speaks v2 (versions 0, 1); kserve-predictiveserver speaks v1, v2 "
        "(versions 1; no autoSelect); kserve-sklearnserver speaks v1, v2 (versions 1)")
    assert resolve_runtime(rs, "sklearn", format_version="0", protocol="v2").runtime.name == "kserve-mlserver"


def test_a_named_runtime_needs_no_autoselect_and_gets_its_server_default_protocol():
    rs = builtin_runtimes("v0.20.0")
    named = resolve_runtime(rs, "pytorch", runtime_name="kserve-tritonserver")
    assert (named.runtime.name, named.protocol) == ("kserve-tritonserver", "v2")
    assert resolve_runtime(rs, "sklearn", runtime_name="kserve-predictiveserver").protocol == "v1"
    assert resolve_runtime(rs, "mlflow", runtime_name="kserve-mlserver").protocol == "v2"
    assert resolve_runtime(rs, "sklearn", runtime_name="kserve-mlserver", protocol="v1").reason == (
        "runtime kserve-mlserver does not speak protocol v1 (it speaks v2); runtimes for sklearn: "
        "kserve-mlserver speaks v2 (versions 0, 1); kserve-predictiveserver speaks v1, v2 (versions 1; no autoSelect); "
        "kserve-sklearnserver speaks v1, v2 (versions 1)")
    assert resolve_runtime(rs, "onnx", runtime_name="kserve-sklearnserver").reason.startswith(
        "runtime kserve-sklearnserver does not serve onnx; runtimes for onnx: kserve-tritonserver speaks v2, grpc-v2")
    assert resolve_runtime(rs, "onnx", runtime_name="kserve-onnx").reason.startswith(
        "KServe v0.20.0 has no built-in runtime 'kserve-onnx'; runtimes for onnx:")


def _rt(name, *formats, protocols=("v1", "v2"), **kw):
    return Runtime(name, "ClusterServingRuntime", "v0.20.0", tuple(formats), tuple(protocols), **kw)


def test_disabled_multimodel_and_multinode_runtimes_are_skipped():
    fmt = SupportedFormat("sklearn", "1", True, 9)
    rs = (_rt("a-disabled", fmt, disabled=True), _rt("b-modelmesh", fmt, multi_model=True),
          _rt("c-multinode", fmt, multi_node=True), _rt("d-plain", SupportedFormat("sklearn", "1", True, 1)))
    assert resolve_runtime(rs, "sklearn").runtime.name == "d-plain"
    assert resolve_runtime(rs, "sklearn", multi_node=True).runtime.name == "c-multinode"
    assert resolve_runtime(rs, "sklearn", runtime_name="a-disabled").reason.startswith("runtime a-disabled is disabled;")


def test_priority_then_protocol_then_name_order_and_ties_are_flagged():
    rs = (_rt("z-high", SupportedFormat("f", None, True, 5), protocols=("v2",)),
          _rt("a-low", SupportedFormat("f", None, True, 1)),
          _rt("m-unset", SupportedFormat("f", None, True, None), protocols=("v2",)))
    resolution = resolve_runtime(rs, "f", protocol="v2")
    assert [r.name for r in resolution.candidates] == ["z-high", "a-low", "m-unset"]
    assert resolution.ambiguous is False
    tie = (_rt("b", SupportedFormat("f", None, True, 1), protocols=("v2",)), _rt("a", SupportedFormat("f", None, True, 1)))
    resolution = resolve_runtime(tie, "f", protocol="v2")
    assert ([r.name for r in resolution.candidates], resolution.ambiguous) == (["a", "b"], True)


def test_unknown_version_names_the_versions_with_data():
    assert runtime_versions() == ("v0.16.0", "v0.20.0")
    with pytest.raises(KeyError, match=r"no built-in runtime data for KServe v0\.99\.0; data exists for v0\.16\.0, v0\.20\.0"):
        builtin_runtimes("v0.99.0")


def test_every_kserve_servestack_installs_has_runtime_data_and_defaulting_rules():
    for pin in (versions.KSERVE_RESOURCES, versions.KSERVE_RUNTIME_CONFIGS, versions.KUBEFLOW_KSERVE):
        assert builtin_runtimes(pin.version), pin
        assert default_protocol("sklearn", pin.version) == "v1"
