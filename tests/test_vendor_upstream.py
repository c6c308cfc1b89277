"""Every derived upstream file in the project carries its provenance and is in canonical form.

These tests read only the project's copies (never the upstream reference folder):
tools/vendor_upstream.py is the one writer, and ``tools/vendor_upstream.py --check`` compares
them with the upstream files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import vendor_upstream  # noqa: E402

DERIVED_DIRS = (REPO / "components" / "data" / "upstream", REPO / "tests" / "conformance" / "data")
DERIVED = sorted(p for d in DERIVED_DIRS if d.is_dir() for p in d.rglob("*.json"))


def test_there_is_derived_data():
    assert any(p.name.startswith("kserve-runtimes-") for p in DERIVED)


@pytest.mark.parametrize("path", DERIVED, ids=lambda p: str(p.relative_to(REPO)))
def test_derived_file_has_provenance_and_canonical_form(path):
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    block = data["provenance"]
    assert block["generatedBy"] == "tools/vendor_upstream.py"
    assert block["license"] == "Apache-2.0"
    assert block["repository"].startswith("https://github.com/")
    assert block["ref"] and block["vendoredAs"]
    assert block["paths"] and block["paths"] == sorted(block["paths"])
    # byte for byte what the tool's serializer writes for this file: sorted keys, stable layout
    assert text == vendor_upstream.dump_for(path.relative_to(REPO), data)


def test_check_mode_without_upstream_folder_is_a_clear_error(tmp_path, capsys):
    assert vendor_upstream.main(["--check", "--upstream", str(tmp_path / "absent")]) == 2
    assert f"upstream folder {tmp_path / 'absent'} does not exist (use --upstream DIR)" in capsys.readouterr().err


def test_default_upstream_is_shared_upstream_beside_the_repository():
    assert vendor_upstream.DEFAULT_UPSTREAM == REPO.parent / "shared" / "upstream"


def test_stripping_descriptions_keeps_every_cel_rule_field():
    """CRD schemas are vendored without descriptions; their CEL rules (x-kubernetes-validations) stay whole."""
    from upstream_common import strip_descriptions

    rules = [{"rule": "self.size() > 0", "message": "m", "messageExpression": "'x' + self", "reason": "FieldValueInvalid",
              "fieldPath": ".spec", "optionalOldSelf": True}]
    schema = {"type": "object", "description": "d", "x-kubernetes-validations": rules,
              "properties": {"description": {"type": "string", "description": "a property named description stays"}}}
    assert strip_descriptions(schema) == {"type": "object", "x-kubernetes-validations": rules,
                                          "properties": {"description": {"type": "string"}}}


def _rule_occurrences(schema) -> int:
    if isinstance(schema, dict):
        return len(schema.get("x-kubernetes-validations") or []) + sum(_rule_occurrences(v) for v in schema.values())
    if isinstance(schema, list):
        return sum(_rule_occurrences(v) for v in schema)
    return 0


@pytest.mark.parametrize("crd_set, kind, version, rules", [
    # Counted in the upstream CRD files at the pinned tags (every occurrence, repeated subtrees included).
    ("kserve-v0.20.0", "LLMInferenceService", "v1alpha2", 120),
    ("kserve-v0.20.0", "LLMInferenceService", "v1alpha1", 117),
    ("kserve-v0.20.0", "LLMInferenceServiceConfig", "v1alpha2", 104),
    ("karpenter-v1.14.1", "EC2NodeClass", "v1", 54),
    ("karpenter-v1.14.1", "NodePool", "v1", 20),
    ("gateway-api-envoy-gateway-v1.8.1", "HTTPRoute", "v1", 106),
    ("gateway-api-envoy-gateway-v1.8.1", "Gateway", "v1", 16),
    ("gateway-api-inference-extension-v1.5.0", "InferencePool", "v1", 2),
])
def test_vendored_crds_keep_their_cel_rules(crd_set, kind, version, rules):
    sys.path.insert(0, str(REPO / "tests"))
    from conformance import upstream

    assert _rule_occurrences(upstream.crd_version_schema(upstream.crd(crd_set, kind), version)) == rules
